"""The `load_health` table: one row per pipeline run and table of a load.

Written through dlt, so it works on every destination, and merged on `load_id` and `table_name`, so
rows written twice (after a kill) are never two rows. The rows of a run travel in the next run's
package, and those of a load's last run in a small run of their own: one pipeline run per load
instead of one per run. Until a package holds them they wait in a file in the pipeline's working
dir, which the next load reads first, so a kill before they are written loses none. `load_id` is
dlt's load id of the run the row describes (the row's own `_dlt_load_id` is that of the package that
carried it). A package an interrupted run left, finished by the next load, gets its rows counted but
no request figures: those died with the process that made them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import orjson
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.extract.resource import DltResource

from antbot_source.api.stats import FIELDS
from antbot_source.health.tally import RunTally
from antbot_source.rows.dictionary import column_description, table_description

log = logging.getLogger("antbot_source.health")

TABLE = "load_health"
# rows of finished runs that no package holds yet, in the pipeline's working dir
UNWRITTEN_FILE = "load_health_unwritten.json"

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


def health_resource(rows: list[dict[str, Any]]) -> DltResource:
    """`rows` as the `load_health` resource, merged on (`load_id`, `table_name`)."""
    resource = dlt.resource(rows, name=TABLE, write_disposition={"disposition": "merge", "strategy": "delete-insert"},
                            primary_key=("load_id", "table_name"), columns=COLUMNS)
    resource.apply_hints(additional_table_hints={"description": table_description(TABLE)})
    return resource


def write_health(pipeline: dlt.Pipeline, rows: list[dict[str, Any]]) -> None:
    """Merge `rows` into the dataset's `load_health` table, in a run of their own."""
    if rows:
        pipeline.run(health_resource(rows))


def run_health(info: Any, tally: RunTally, rows_loaded: Mapping[str, int], *,
               resumed: bool = False) -> list[dict[str, Any]]:
    """The rows of the run `info` (its LoadInfo) describes, counted in `tally`, its warnings logged
    (`resumed`: the run finished a package of an earlier process)."""
    load_ids = list(getattr(info, "loads_ids", None) or [])
    tables = set(rows_loaded) - {TABLE}
    if not load_ids or (resumed and not tables):  # a finished health package needs no health of its own
        return []
    rows = health_rows(load_ids[-1], tally, rows_loaded, datetime.now(UTC), counted=not resumed)
    for row in rows:
        for warning in (row["warnings"] or "").splitlines():
            log.warning("%s: %s", row["table_name"], warning)
    return rows


def _unwritten_path(pipeline: dlt.Pipeline) -> Path:
    return Path(pipeline.working_dir) / UNWRITTEN_FILE


def save_unwritten(pipeline: dlt.Pipeline, rows: list[dict[str, Any]]) -> None:
    """Keep `rows` in the working dir until a package holds them (none: the file goes); replaced in one rename."""
    path = _unwritten_path(pipeline)
    if not rows:
        path.unlink(missing_ok=True)
        return
    part = path.with_suffix(".part")
    part.write_bytes(orjson.dumps(rows))  # datetimes as ISO 8601, read back by `unwritten_rows`
    os.replace(part, path)


def unwritten_rows(pipeline: dlt.Pipeline) -> list[dict[str, Any]]:
    """The rows a killed load kept for a package that never held them (an unreadable file: none)."""
    path = _unwritten_path(pipeline)
    try:
        rows = orjson.loads(path.read_bytes())
        return [{k: datetime.fromisoformat(v) if v is not None and COLUMN_TYPES.get(k) == _TIME else v
                 for k, v in row.items()} for row in rows]
    except FileNotFoundError:
        return []
    except (ValueError, TypeError, AttributeError) as e:
        log.warning("load_health rows of an interrupted load could not be read (%s): %s", path.name, e)
        return []
