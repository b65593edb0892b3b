# `make test` and `make demo` work on a fresh machine with only Python >= 3.11 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# the demo needs eisfit and its compiled kernel only; the tests add their extras (pytest,
# ruff, the peer readers, playwright, dask, pyarrow: most of a 1.3 GB .venv)
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
DOCS_STAMP := $(VENV)/.installed-docs
# a fresh build (-E) so that no warning hides in a cached page
SPHINX := $(VENV)/bin/sphinx-build -W --keep-going -E -q -b html docs docs/_build/html

.PHONY: test demo docs lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[fast]"
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,fast]"
	touch $(STAMP) $(DEMO_STAMP)

# the tests, then the documentation built with warnings as errors (so CI proves it builds;
# its code blocks and gallery scripts also run inside pytest, without the docs extra)
test: $(STAMP) $(DOCS_STAMP)
	$(VENV)/bin/ruff check eisfit tests bench sample_spectra
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q
	$(SPHINX)

# The demo: one spectrum with roles, ASR per interface and conductivities (and its fit
# report), then the 24-spectrum cycling run (EC-Lab .mpt files with timestamps) through
# the batch runner, which writes results.csv, fits/, trends.json and the run report
# out/demo/report.html (+ report.pdf, figures/, tables/).
demo: $(DEMO_STAMP)
	$(VENV)/bin/eisfit fit sample_spectra/na_nzsp_na_single.csv --model gb-soli --area-cm2 1 --thickness-cm 0.1 --report out/demo/single_fit.html
	$(VENV)/bin/eisfit batch sample_spectra/cycling_mpt --model gb-soli --area-cm2 1 --thickness-cm 0.1 --out out/demo
	@echo "open out/demo/report.html"

# The documentation site (docs/ -> docs/_build/html/): the Markdown guides, the API reference
# from the docstrings, the CLI reference from argparse and the example gallery, whose
# scripts run now on sample_spectra/; warnings are errors.
$(DOCS_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[docs,fast]"
	touch $(DOCS_STAMP) $(DEMO_STAMP)

docs: $(DOCS_STAMP)
	$(SPHINX)
	@echo "open docs/_build/html/index.html"

lint: $(STAMP)
	$(VENV)/bin/ruff check eisfit tests bench sample_spectra
	$(VENV)/bin/lint-imports --no-cache

bench: $(STAMP)
	$(PY) bench/fit_bench.py
	$(PY) bench/batch_bench.py
	$(PY) bench/report_bench.py

clean:
	rm -rf $(VENV) out .pytest_cache docs/_build docs/auto_examples docs/api/generated
