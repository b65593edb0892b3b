# `make test` and `make demo` work on a fresh machine with only Python >= 3.11 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check eisfit tests bench sample_spectra
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) -m eisfit demo sample_spectra

lint: $(STAMP)
	$(VENV)/bin/ruff check eisfit tests bench sample_spectra

bench: $(STAMP)
	$(PY) bench/fit_bench.py

clean:
	rm -rf $(VENV) out .pytest_cache
