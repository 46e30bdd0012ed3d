"""Reading `load_health` back: the last runs per table, for `antbot health`, the report and the notebook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from antbot_source.errors import ConfigError
from antbot_source.health.record import TABLE

RECENT_RUNS = 5

# the rows of the `runs` most recent runs, oldest first; {t} the qualified table
_RECENT = """
SELECT * FROM {t} WHERE load_id IN (
    SELECT load_id FROM {t} GROUP BY load_id ORDER BY MAX(started_at) DESC, load_id DESC LIMIT {runs})
ORDER BY started_at, load_id, table_name
"""


def recent_health(pipeline: dlt.Pipeline, runs: int = RECENT_RUNS) -> list[dict[str, Any]]:
    """The `load_health` rows of the last `runs` runs, oldest first; ConfigError before any load wrote it."""
    with pipeline.sql_client() as client:
        try:
            with client.execute_query(_RECENT.format(t=client.make_qualified_table_name(TABLE), runs=int(runs))) as cur:
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except DatabaseUndefinedRelation:
            raise ConfigError(f"dataset {pipeline.dataset_name} has no {TABLE} table: run `antbot load` first") from None


def last_run_warnings(rows: list[dict[str, Any]]) -> list[str]:
    """`table: warning` for every warning of each table's last run among `rows` (recent_health's order):
    one `antbot load` is several runs (the CDR backlog, subscribers after the CDRs), each reading some tables."""
    last = {row["table_name"]: row for row in rows}
    return [f"{row['table_name']}: {line}" for row in last.values() for line in (row["warnings"] or "").splitlines()]


def last_load_age(rows: list[dict[str, Any]], now: datetime | None = None) -> timedelta | None:
    """How long ago the last load run among `rows` (recent_health's) started; None before any run.
    A run is recorded in `load_health` only once its data is loaded, so this is the last successful one."""
    if not rows:
        return None
    started = max(row["started_at"] for row in rows)
    if started.tzinfo is None:  # DuckDB hands timestamps with time zone back in the session's zone
        started = started.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - started
