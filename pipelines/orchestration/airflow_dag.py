"""Airflow: the DAG `antbot_load`, every 15 minutes, one task that runs `antbot_source.load()`.

One plain task rather than dlt's `PipelineTasksGroup`: the group runs `pipeline.run(source)` once per
task, and `load()` is more than that run (one run at a time per pipeline and destination, the connection check,
the runs until the CDR backlog is read, parquet where the destination takes it, tables rebuilt, the
views). The CDR read parallelises itself, so one task per run is all the DAG needs.

Settings come from the worker's environment (or `.dlt/` in its working dir), as dlt reads them:
SOURCES__ANTBOT__* for the account, DESTINATION_TYPE (default duckdb) and DESTINATION__<NAME>__CREDENTIALS
for the destination (DESTINATION__DUCKDB__CREDENTIALS: the DuckDB file), DLT_DATA_DIR for the
pipeline's working dir. The dlt state is also kept at the destination, so a worker without the
working dir goes on from there. Inside Airflow dlt also reads the Airflow Variable `dlt_secrets_toml` (a
secrets.toml in one Variable).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

log = logging.getLogger(__name__)


@dag(
    dag_id="antbot_load",
    schedule=timedelta(minutes=15),
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["antbot", "dlt"],
)
def antbot_load() -> None:
    @task(multiple_outputs=False)
    def load() -> dict[str, int]:
        """Rows loaded per table (the task's XCom `return_value`)."""
        # dlt's Airflow provider would look every setting up as a Variable of its own, each through
        # Airflow's API: hundreds of look-ups, 10 s of CPU in a run. Only `dlt_secrets_toml` is read
        # unless the worker's environment says otherwise (PROVIDERS__AIRFLOW_SECRETS__ONLY_TOML_FRAGMENTS=false
        # for a Variable per setting, PROVIDERS__ENABLE_AIRFLOW_SECRETS=false for none)
        os.environ.setdefault("PROVIDERS__AIRFLOW_SECRETS__ONLY_TOML_FRAGMENTS", "true")
        from antbot_source import load as load_antbot  # imported in the task: DAG parsing stays light

        summary = load_antbot(notify=log.warning)
        log.info("antbot load: %d run(s), rows %s", summary.runs, dict(sorted(summary.rows.items())))
        return summary.rows

    load()


antbot_load()
