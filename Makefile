# Two entry points that work on a fresh machine with Python 3.11:
#   make demo   set up .venv, start the sandbox, load everything into ./antbot_demo.duckdb
#   make test   set up .venv and the orchestrators' environments, and run the test suite
#   make test-fast   the in-process tests alone (tests/conftest.py says which are end-to-end)
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# Dagster and Airflow each in an environment of its own (see the extras in pyproject.toml); the
# suite runs their CLIs as processes
DAGSTER_VENV := .venv-dagster
AIRFLOW_VENV := .venv-airflow

export RUNTIME__DLTHUB_TELEMETRY = false

.PHONY: setup orchestrators demo test test-fast bench clean

$(BIN)/antbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox,report]'
	touch $(BIN)/antbot

# $(1): the environment, $(2): the extra, $(3): the command the tests run
define orchestrator_env
$(1)/bin/$(3): pyproject.toml
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet -e '.[$(2)]'
	touch $(1)/bin/$(3)
endef
$(eval $(call orchestrator_env,$(DAGSTER_VENV),dagster,dagster))
$(eval $(call orchestrator_env,$(AIRFLOW_VENV),airflow,airflow))

setup: $(BIN)/antbot

orchestrators: $(DAGSTER_VENV)/bin/dagster $(AIRFLOW_VENV)/bin/airflow

demo: setup
	$(BIN)/antbot demo

# under make a missing orchestrator environment fails its tests instead of skipping them; three workers
# on two cores: a third fills the time tests wait on a server's latency, a lock or a child process
# (measured: 97 % of both cores busy instead of 81 %), work stealing keeps both busy to the end
test: setup orchestrators
	ANTBOT_ORCHESTRATOR_TESTS=required $(BIN)/python -m pytest -n 3 --dist worksteal

# the in-process tests only (no sandbox server, no PostgreSQL, no child process): a minute or less
test-fast: setup
	$(BIN)/python -m pytest -n 2 -m "not e2e"

bench: setup
	$(BIN)/python benchmarks/bench_sandbox.py
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/cpu_budget.py

clean:
	rm -rf $(VENV) $(DAGSTER_VENV) $(AIRFLOW_VENV) antbot_demo.duckdb antbot.duckdb .pytest_cache
