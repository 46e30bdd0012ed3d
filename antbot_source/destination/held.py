"""What the destination holds, read by the resources that compare the API with it (deletes, CDR counts).

`antbot_source.pipeline` hands the source a `HeldRows` of the pipeline it loads. A source built
without one (a user's own `pipeline.run(antbot())`) reads the pipeline dlt is running it in
(`HeldRows.of_running_pipeline`): the one place the source looks at dlt's pipeline context.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from dlt.common.configuration.container import Container
from dlt.common.destination.exceptions import SqlClientNotAvailable
from dlt.common.pipeline import PipelineContext, SupportsPipeline
from dlt.destinations.exceptions import DatabaseUndefinedRelation


def running_pipeline() -> SupportsPipeline | None:
    """The pipeline dlt is running (its context's active one), None outside one."""
    context = Container()[PipelineContext]
    return context.pipeline() if context.is_active() else None


class HeldRows:
    """Rows of the tables at the destination of `pipeline`, by plain SQL; nothing (None) where there is
    no SQL destination (a filesystem one, no pipeline) or the table does not exist yet."""

    def __init__(self, pipeline: SupportsPipeline | None) -> None:
        self._pipeline: Callable[[], SupportsPipeline | None] = lambda: pipeline
        # dlt's sql_client() pushes and pops config sections on a context the extract threads share:
        # two resources opening it at once mangle that stack, so they take turns
        self._lock = threading.Lock()

    @classmethod
    def of_running_pipeline(cls) -> HeldRows:
        """The rows of whichever pipeline runs the source, looked up when first read."""
        held = cls(None)
        held._pipeline = running_pipeline
        return held

    def query(self, table: str, sql: str, **names: str) -> list[tuple[Any, ...]] | None:
        """The rows of `sql`, in which {t} is the qualified `table` and each other {name} the escaped
        column `names[name]`; SQL of ours only, never user input."""
        pipeline = self._pipeline()
        if pipeline is None or pipeline.destination is None:
            return None
        try:
            with self._lock, pipeline.sql_client() as client:  # type: ignore[attr-defined]
                escaped = {key: client.escape_column_name(name) for key, name in names.items()}
                with client.execute_query(sql.format(t=client.make_qualified_table_name(table), **escaped)) as cur:
                    return [tuple(row) for row in cur.fetchall()]
        except (DatabaseUndefinedRelation, SqlClientNotAvailable):
            return None

    def rows(self, table: str, columns: Iterable[str], where: str = "") -> list[tuple[Any, ...]] | None:
        """`columns` (SQL expressions of column names) of every row of `table`, `where` a condition on them."""
        return self.query(table, f"SELECT {', '.join(columns)} FROM {{t}} {where}")
