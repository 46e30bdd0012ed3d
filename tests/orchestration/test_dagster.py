"""The Dagster recipe, started by Dagster's own CLI twice, each run on a fresh pipeline working dir (as
on ephemeral run workers): the state comes back from the destination, the second run is incremental,
and Dagster records the rows loaded per table asset; a subset of the assets loads those tables only."""

from __future__ import annotations

import json
import subprocess

from support import ROOT, WAREHOUSE, cdr_requests, orchestrator, two_scheduled_runs, worker_env

from antbot_source.destination.access import dataset_pipeline

MATERIALIZE = ["asset", "materialize", "-m", "pipelines.orchestration.dagster_assets"]
# what Dagster's instance recorded for the latest materialisation of each table asset
RECORDED_ROWS = """
import json
from dagster import DagsterInstance
from pipelines.orchestration.dagster_assets import TABLE_OF_KEY
instance = DagsterInstance.get()
print(json.dumps({table: instance.get_latest_materialization_event(key).asset_materialization
                  .metadata["rows_loaded"].value for key, table in TABLE_OF_KEY.items()}))
"""


def test_dagster_materializes_every_table_asset_twice_the_second_run_incremental(sandbox, tmp_path):
    dagster = orchestrator(".venv-dagster", "dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    def run(i: int, selection: str = "*") -> dict[str, int]:
        env = worker_env(sandbox, tmp_path, DAGSTER_HOME=str(home), DLT_DATA_DIR=str(tmp_path / f"dlt-{i}"),
                         SOURCES__ANTBOT__PAGE_SIZE="100")
        done = subprocess.run([str(dagster), *MATERIALIZE, "--select", selection], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=240, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "RUN_SUCCESS" in done.stderr and sandbox.accounts[0].password not in done.stderr
        recorded = subprocess.run([str(dagster.with_name("python")), "-c", RECORDED_ROWS], env=env, cwd=ROOT,
                                  capture_output=True, text=True, timeout=120, check=True)
        return json.loads(recorded.stdout)

    second = two_scheduled_runs(sandbox, run, lambda: dataset_pipeline(duckdb_path=tmp_path / WAREHOUSE,
                                                                        read_only=True))[1]
    # a subset of the assets loads those tables only: no CDR request, the other assets keep their rows
    sandbox.reset_stats()
    subset = run(2, "dlt_antbot_phonebooks")
    assert cdr_requests(sandbox) == 0
    assert subset == {**second.rows, "phonebooks": sandbox.truth("demo")["phonebooks"]["count"]}
