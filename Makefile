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

# Until the batch/report issues land, the demo fits the bundled sample spectra and
# prints the results (single spectrum: parameters, roles, ASR per interface,
# conductivities; cycling run: lin-KK, then R values spectrum by spectrum).
DEMO_CIRCUIT := L0-R0-p(R1,CPE1)-p(R2,CPE2)
demo: $(STAMP)
	$(VENV)/bin/eisfit fit sample_spectra/na_nzsp_na_single.csv --model gb-soli --area-cm2 1 --thickness-cm 0.1
	$(VENV)/bin/eisfit kk sample_spectra/na_nzsp_na_cycling.csv
	$(PY) bench/demo_cycling.py sample_spectra/na_nzsp_na_cycling.csv "$(DEMO_CIRCUIT)"

lint: $(STAMP)
	$(VENV)/bin/ruff check eisfit tests bench sample_spectra

bench: $(STAMP)
	$(PY) bench/fit_bench.py

clean:
	rm -rf $(VENV) out .pytest_cache
