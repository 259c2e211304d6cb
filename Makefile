# agentledger — `make demo` and `make test` are all a fresh machine needs (Python 3.11 and make).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export AGENTLEDGER_HOME ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(AGENTLEDGER_HOME)/dagster

.DEFAULT_GOAL := help
.PHONY: help install manifest demo test unit lint dev clean

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

test: install manifest lint  ## lint, then the whole test suite (unit, dbt, Dagster integration)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/pytest

unit: install manifest  ## the fast tests only (no Dagster runs)
	$(BIN)/pytest tests/unit

dev: install manifest  ## the Dagster UI on this project (http://127.0.0.1:3000)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:  ## remove dbt artifacts and the local data folder (not .venv)
	rm -rf target logs $(AGENTLEDGER_HOME) .pytest_cache .ruff_cache
