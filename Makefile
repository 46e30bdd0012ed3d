# Two entry points that work on a fresh machine with Python 3.11:
#   make demo   set up .venv, start the sandbox, load everything into ./antbot_demo.duckdb
#   make test   set up .venv and run the test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

export RUNTIME__DLTHUB_TELEMETRY = false

.PHONY: setup demo test bench clean

$(BIN)/antbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox,report]'
	touch $(BIN)/antbot

setup: $(BIN)/antbot

demo: setup
	$(BIN)/antbot demo

test: setup
	$(BIN)/python -m pytest -n 2

bench: setup
	$(BIN)/python benchmarks/bench_sandbox.py
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/cpu_budget.py

clean:
	rm -rf $(VENV) antbot_demo.duckdb antbot.duckdb .pytest_cache
