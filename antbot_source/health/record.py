"""The `load_health` table: one row per pipeline run and table, written after every run of a load.

Written through dlt (a small second run into the same pipeline, merged on `load_id` and `table_name`),
so it works on every destination, and a run finished again after a kill never holds two rows per
table. `load_id` is dlt's load id of the run the row describes (the row's own `_dlt_load_id` is that
of the small run that wrote it). A package an interrupted run left, finished by the next load, gets
its rows counted but no request figures: those died with the process that made them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.schema.typing import TTableSchemaColumns

from antbot_source.api.stats import FIELDS
from antbot_source.health.tally import RunTally
from antbot_source.rows.dictionary import column_description, table_description

log = logging.getLogger("antbot_source.health")

TABLE = "load_health"

_INT, _FLOAT, _TIME = "bigint", "double", "timestamp"
COLUMN_TYPES: dict[str, str] = {
    "load_id": "text", "table_name": "text", "started_at": _TIME, "finished_at": _TIME, "rows_loaded": _INT,
    "requests": _INT, "retries": _INT, "retries_429": _INT, "retries_5xx": _INT, "retries_timeout": _INT,
    "throttled_s": _FLOAT, "token_renewals": _INT, "rows_seen_twice": _INT, "rewalks": _INT,
    # cdr only
    "cursor_before": _TIME, "cursor_after": _TIME, "lookback_s": _FLOAT, "late_rows": _INT,
    "max_lateness_s": _FLOAT, "p95_lateness_s": _FLOAT, "healed_rows": _INT, "surplus_rows": _INT,
    "lateness_warning": "bool",
    "warnings": "text",  # one per line; null when the run of that table had none
}
COLUMNS: TTableSchemaColumns = {
    name: {"data_type": kind, "nullable": name not in ("load_id", "table_name"),  # type: ignore[misc]
           "description": column_description(TABLE, name)}
    for name, kind in COLUMN_TYPES.items()
}


def health_rows(load_id: str, tally: RunTally, rows_loaded: Mapping[str, int], finished_at: datetime,
                *, counted: bool = True) -> list[dict[str, Any]]:
    """The rows of one run: every table it read or loaded (`counted` False: a package of an earlier
    process, whose requests are unknown)."""
    out = []
    for name in sorted(set(tally.tables) | set(rows_loaded)):
        if name.startswith("_dlt") or name == TABLE:
            continue
        table = tally.table(name)
        row: dict[str, Any] = {"load_id": load_id, "table_name": name, "started_at": tally.started_at,
                               "finished_at": finished_at, "rows_loaded": rows_loaded.get(name, 0)}
        if counted:
            values = table.stats.snapshot()
            row |= {f: int(values[f]) if COLUMN_TYPES[f] == _INT else values[f] for f in FIELDS}
            row["retries"] = table.stats.retries
        row |= table.cdr
        row["warnings"] = "\n".join(table.warnings) or None
        out.append(row)
    return out


def write_health(pipeline: dlt.Pipeline, rows: list[dict[str, Any]]) -> None:
    """Merge `rows` into the dataset's `load_health` table."""
    if not rows:
        return
    resource = dlt.resource(rows, name=TABLE, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
                            primary_key=("load_id", "table_name"), columns=COLUMNS)
    resource.apply_hints(additional_table_hints={"description": table_description(TABLE)})
    pipeline.run(resource)


def record_health(pipeline: dlt.Pipeline, info: Any, tally: RunTally, rows_loaded: Mapping[str, int], *,
                  resumed: bool = False) -> None:
    """Write the rows of the run `info` (its LoadInfo) describes, counted in `tally`, and log its warnings
    (`resumed`: the run finished a package of an earlier process)."""
    load_ids = list(getattr(info, "loads_ids", None) or [])
    tables = set(rows_loaded) - {TABLE}
    if load_ids and not (resumed and not tables):  # a finished health package needs no health of its own
        rows = health_rows(load_ids[-1], tally, rows_loaded, datetime.now(UTC), counted=not resumed)
        for row in rows:
            for warning in (row["warnings"] or "").splitlines():
                log.warning("%s: %s", row["table_name"], warning)
        write_health(pipeline, rows)
