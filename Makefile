# agentledger — `make demo` and `make test` are all a fresh machine needs (Python 3.11 and make).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export AGENTLEDGER_HOME ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(AGENTLEDGER_HOME)/dagster
# Dagster requires an absolute DAGSTER_HOME, even when AGENTLEDGER_HOME or DAGSTER_HOME is given relative
override export DAGSTER_HOME := $(abspath $(DAGSTER_HOME))

.DEFAULT_GOAL := help
.PHONY: help install manifest demo test unit lint dev clean browser bi-venv report anomaly-acceptance bench bench-small

# The browser tests drive Debian's Chromium through its chromedriver (never a downloaded browser).
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# An older DuckDB 1.x, as BI drivers embed one: the tests open the snapshot with it.
BI_VENV := .venv-bi
BI_DUCKDB := duckdb==1.1.3
DEV_PORT ?= 3000

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed  ## create .venv and install agentledger with its dev tools

manifest: install  ## parse the dbt project (Dagster builds its asset graph from target/manifest.json)
	$(BIN)/dbt parse --quiet --project-dir . --profiles-dir .

demo: install  ## generate 90 days of demo data, run the whole pipeline over it, print the headline
	$(BIN)/agentledger demo

lint: install  ## ruff on the Python, sqlfluff on the SQL
	$(BIN)/ruff check
	# sqlfluff's dbt templater connects to the profile: never to the warehouse (it may be locked by a run)
	AGENTLEDGER_DB=:memory: $(BIN)/sqlfluff lint models --processes 1

browser:  ## headless Chromium + chromedriver from Debian packages (installed when missing)
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
		echo "installing chromium and chromium-driver (Debian packages) for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi

$(BI_VENV)/.installed:
	$(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/pip install --quiet $(BI_DUCKDB)
	@touch $@

bi-venv: $(BI_VENV)/.installed  ## a separate venv with an older DuckDB 1.x (a BI tool's reader)

test: install manifest lint browser bi-venv  ## lint, then the whole test suite (unit, dbt, Dagster, browser)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/pytest

unit: install manifest  ## the fast tests only (tests/unit: single sources against local fakes; no nightly job, no dbt build)
	$(BIN)/pytest tests/unit

bench: install manifest  ## scale benchmark: 10M spans / 90 days, 50 workflows (~30 min here); writes bench/RESULTS.md
	$(BIN)/python -m bench.run

bench-small: install manifest  ## the same benchmark at a small scale, every phase (a smoke test, under 3 min here); writes bench/work/RESULTS-small.md
	$(BIN)/python -m bench.run --small

report: install  ## write $(AGENTLEDGER_HOME)/report.html from the published snapshot
	$(BIN)/agentledger report

anomaly-acceptance: install manifest  ## demo with and without planted anomalies, end to end: every planted pattern found, nothing else
	$(BIN)/python bench/anomaly_acceptance.py

dev: install manifest  ## the Dagster UI on this project (http://127.0.0.1:3000; DEV_PORT=… for another port)
	$(BIN)/python -m orchestration.run_history $(DAGSTER_HOME)
	# dagster-dbt's manifest preparation under `dagster dev` looks for `dbt` on PATH: the venv's, even when not activated
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DEV_PORT)

clean:  ## remove dbt artifacts and the project's data/ folder (not .venv, nor an AGENTLEDGER_HOME elsewhere)
	rm -rf target logs "$(CURDIR)/data" .pytest_cache .ruff_cache
