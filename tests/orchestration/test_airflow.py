"""The Airflow recipe under `airflow dags test`, with a throwaway SQLite metadata database: the DAG's
schedule, two runs in a row (the second incremental, with the password in the `dlt_secrets_toml`
Variable), the rows per table in the task's XCom."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from support import ROOT, WAREHOUSE, orchestrator, two_scheduled_runs, worker_env

from antbot_source.destination.access import dataset_pipeline

DAGS = ROOT / "pipelines" / "orchestration"


def _airflow(airflow: Path, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(airflow), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)


def _runs(db: Path) -> list[tuple[str, dict[str, int] | None]]:
    """(state, the load task's XCom return value) of every run of `antbot_load`, in the order they ran."""
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT r.state, x.value FROM dag_run r LEFT JOIN xcom x ON x.run_id = r.run_id AND x.dag_id = r.dag_id"
            " AND x.task_id = 'load' AND x.key = 'return_value' WHERE r.dag_id = 'antbot_load' ORDER BY r.id"
        ).fetchall()
    return [(state, json.loads(value) if value else None) for state, value in rows]


def test_airflow_runs_the_dag_twice_the_second_run_incremental(sandbox, tmp_path):
    airflow = orchestrator(".venv-airflow", "airflow")
    home, db = tmp_path / "airflow", tmp_path / "airflow" / "airflow.db"
    home.mkdir()
    env = worker_env(sandbox, tmp_path, AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
                     AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{db}",
                     SOURCES__ANTBOT__PAGE_SIZE="100")
    migrated = _airflow(airflow, "db", "migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    def run(i: int) -> dict[str, int]:
        if i == 1:  # the second run reads the password from the one Airflow Variable the task reads settings from
            secrets = f"[sources.antbot]\npassword = {json.dumps(env.pop('SOURCES__ANTBOT__PASSWORD'))}\n"
            stored = _airflow(airflow, "variables", "set", "dlt_secrets_toml", secrets, env=env, cwd=tmp_path)
            assert stored.returncode == 0, stored.stderr[-3000:]
        done = _airflow(airflow, "dags", "test", "antbot_load", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-3000:]
        assert sandbox.accounts[0].password not in done.stdout + done.stderr
        runs = _runs(db)
        assert len(runs) == i + 1 and runs[-1][0] == "success", runs
        return runs[-1][1]

    two_scheduled_runs(sandbox, run, lambda: dataset_pipeline(duckdb_path=tmp_path / WAREHOUSE, read_only=True))

    # the DAG as Airflow stored it from the runs (what `airflow dags details` shows): every 15 minutes, no
    # catch-up, one run at a time
    with sqlite3.connect(db) as con:
        summary, max_active, next_run = con.execute(
            "SELECT timetable_summary, max_active_runs, next_dagrun FROM dag WHERE dag_id = 'antbot_load'").fetchone()
    assert (summary, max_active) == ("0:15:00", 1), (summary, max_active)
    # with catch-up the next run would be the first interval after the DAG's start date, in 2025
    assert next_run and not next_run.startswith("2025-01-01"), next_run
