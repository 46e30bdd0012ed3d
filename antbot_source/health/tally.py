"""The counters of the pipeline run under way, per table, filled by the resources while they read.

A pipeline run's resources find them through dlt's active pipeline (`table_tally`), as they run on
dlt's extract threads; `record.health_recorder` registers a fresh tally before each run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dlt.common.configuration.container import Container
from dlt.common.pipeline import PipelineContext

from antbot_source.api.stats import RequestStats


@dataclass
class TableTally:
    """One table's read in one run: its requests, and what only the CDR read knows (`cdr` columns)."""

    stats: RequestStats = field(default_factory=RequestStats)
    cdr: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunTally:
    """Every table's tally of one pipeline run."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    tables: dict[str, TableTally] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def table(self, name: str) -> TableTally:
        with self._lock:
            return self.tables.setdefault(name, TableTally())


_RUNS: dict[str, RunTally] = {}  # by pipeline working dir


def begin_tally(working_dir: str) -> RunTally:
    _RUNS[working_dir] = tally = RunTally()
    return tally


def end_tally(working_dir: str) -> None:
    _RUNS.pop(working_dir, None)


def table_tally(table: str) -> TableTally:
    """The tally of `table` in the run of the active pipeline (a throwaway one outside a recorded run)."""
    context = Container()[PipelineContext]
    run = _RUNS.get(context.pipeline().working_dir) if context.is_active() else None
    return run.table(table) if run is not None else TableTally()
