"""Delete detection: tombstones for destination rows the API no longer returns.

A resource that has just read a complete set of rows asks the destination which keys it holds
(`destination.held.HeldRows`), and yields a tombstone (key plus `_antbot_deleted = true`, a
`hard_delete` column) for every key the read did not return. The merge then deletes those rows.
The destination is the reference (not a list kept in state), so rows loaded by any earlier run,
or restored from elsewhere, are reconciled as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from antbot_source.rows.schema import DELETED_COLUMN


def tombstones(
    held: Iterable[tuple[Any, ...]], seen: set[Any], *, key: str = "id",
    in_scope: Callable[[Any], bool] = lambda _group: True,
) -> list[dict[str, Any]]:
    """Tombstone rows for the keys in `held` (rows the destination holds, key first) absent from `seen`.

    When `held` rows carry a second column (a group such as `campaign`), only rows whose group passes
    `in_scope` are considered: the groups this run read completely.
    """
    return [
        {key: row[0], DELETED_COLUMN: True}
        for row in held
        if row[0] not in seen and (len(row) < 2 or in_scope(row[1]))
    ]
