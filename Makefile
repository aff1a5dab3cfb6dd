# Two commands on a fresh machine:   make demo   |   make test
# Each makes .venv and installs the core with the in-repo adapters and plugins.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCAL_DISTS := $(wildcard adapters/*/pyproject.toml plugins/*/pyproject.toml examples/adapter-template/pyproject.toml)
LOCAL_EDITABLES := $(foreach f,$(LOCAL_DISTS),-e $(dir $(f)))

.PHONY: demo test lint hooks-doc bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.core: $(BIN)/python pyproject.toml $(LOCAL_DISTS)
	$(BIN)/pip install --quiet -e . $(LOCAL_EDITABLES)
	touch $@

$(VENV)/.dev: $(VENV)/.core pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,postgres,fast,web]' $(LOCAL_EDITABLES)
	touch $@

demo: $(VENV)/.core
	$(BIN)/o2o demo

test: $(VENV)/.dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks $(wildcard adapters plugins examples)
	$(BIN)/mypy

hooks-doc: $(VENV)/.core
	$(BIN)/python -m o2o_sdk.plugins --markdown > docs/hooks.md

bench: $(VENV)/.dev
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) o2o-demo o2o-web-demo .pytest_cache .mypy_cache .ruff_cache
