"""Delete detection: tombstones for destination rows the API no longer returns.

A resource that has just read a complete set of rows asks the destination of the running
pipeline which keys it holds, and yields a tombstone (key plus `_antbot_deleted = true`, a
`hard_delete` column) for every key the read did not return. The merge then deletes those rows.
The destination is the reference (not a list kept in state), so rows loaded by any earlier run,
or restored from elsewhere, are reconciled as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from dlt.common.configuration.container import Container
from dlt.common.destination.exceptions import SqlClientNotAvailable
from dlt.common.pipeline import PipelineContext
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from antbot_source.rows.schema import DELETED_COLUMN

# dlt's sql_client() pushes and pops config sections on a context the extract threads share:
# two resources opening it at once mangle that stack, so they take turns
_SQL_CLIENT_LOCK = threading.Lock()


def destination_rows(table: str, columns: Iterable[str], where: str = "") -> list[tuple[Any, ...]] | None:
    """`columns` (SQL expressions of column names) of every row of `table` in the running pipeline's
    dataset, `where` a condition of ours (never user input) on them.

    None when no pipeline with a SQL destination is running (a filesystem destination, or the
    source iterated on its own), or the table does not exist yet.
    """
    context = Container()[PipelineContext]
    if not context.is_active():
        return None
    pipeline = context.pipeline()
    if pipeline.destination is None:
        return None
    try:
        with _SQL_CLIENT_LOCK, pipeline.sql_client() as client:  # type: ignore[attr-defined]
            names = ", ".join(columns)
            query = f"SELECT {names} FROM {client.make_qualified_table_name(table)} {where}"
            with client.execute_query(query) as cur:
                return [tuple(row) for row in cur.fetchall()]
    except (DatabaseUndefinedRelation, SqlClientNotAvailable):
        return None


def tombstones(
    held: Iterable[tuple[Any, ...]], seen: set[Any], *, key: str = "id",
    in_scope: Callable[[Any], bool] = lambda _group: True,
) -> list[dict[str, Any]]:
    """Tombstone rows for the keys in `held` (rows of `destination_rows`, key first) absent from `seen`.

    When `held` rows carry a second column (a group such as `campaign`), only rows whose group passes
    `in_scope` are considered: the groups this run read completely.
    """
    return [
        {key: row[0], DELETED_COLUMN: True}
        for row in held
        if row[0] not in seen and (len(row) < 2 or in_scope(row[1]))
    ]
