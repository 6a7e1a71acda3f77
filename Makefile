# nomad-wi-readiness: every target creates .venv on first use, so a fresh clone needs only python3 and make.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The second environment that holds the oldest pandas we support.
VENV_PD22 ?= .venv-pandas22
SNAPSHOT ?= data/demo-snapshot.json.gz
REPORT_DIR ?= reports/latest
PYTEST_ARGS ?=

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; set PYTHON=python3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	@touch $@

$(VENV_PD22)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV_PD22)
	$(VENV_PD22)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_PD22)/bin/python -m pip install --quiet -e '.[test]' 'pandas==2.2.*'
	@touch $@

.PHONY: help
help: ## Show this help: every target and what it does.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: venv
venv: $(STAMP) ## Create .venv and install the package with its test and dev extras.

.PHONY: test
test: $(STAMP) ## Run the whole test suite (browser tests skip with a reason when Chromium is missing).
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: test-pandas22
test-pandas22: $(VENV_PD22)/.installed ## Run the suite again against pandas 2.2 in a second environment.
	$(VENV_PD22)/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

.PHONY: report
report: $(STAMP) ## Render the readiness report for the bundled demo snapshot and print the HTML's path.
	$(VENV)/bin/wi-readiness report $(SNAPSHOT) -o $(REPORT_DIR)

.PHONY: lint
lint: $(STAMP) ## Check style (ruff), formatting and types (mypy).
	$(VENV)/bin/ruff check analysis tests bench
	$(VENV)/bin/ruff format --check analysis tests bench
	$(VENV)/bin/mypy

.PHONY: format
format: $(STAMP) ## Rewrite the code in place with ruff's fixes and formatter.
	$(VENV)/bin/ruff check --fix analysis tests bench
	$(VENV)/bin/ruff format analysis tests bench

.PHONY: bench
bench: $(STAMP) ## Benchmarks: load time and memory against orjson, report rendering, trend; ratios, same run.
	$(PY) -m bench

.PHONY: bench-large
bench-large: $(STAMP) ## The loader benchmark at the large size too (100k jobs, about 140 MB; minutes).
	$(PY) -m bench --large

.PHONY: docs
docs: $(STAMP) ## Regenerate the README's Tables section from analysis/schema.py.
	$(PY) -c 'from analysis.schema import update_readme; print("README updated" if update_readme("README.md") else "README up to date")'

.PHONY: clean
clean: ## Remove the virtual environments, caches, build files and rendered reports.
	rm -rf $(VENV) $(VENV_PD22) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis reports bench/.cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
