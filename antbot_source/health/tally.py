"""The counters of the pipeline run under way, per table, filled by the resources while they read.

`antbot_source.pipeline` makes a fresh `RunTally` for each pipeline run and gives it to the source,
which hands each resource its table's; `record` writes it after the run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from antbot_source.api.stats import RequestStats


@dataclass
class TableTally:
    """One table's read in one run: its requests, and what only the CDR read knows (`cdr` columns)."""

    stats: RequestStats = field(default_factory=RequestStats)
    cdr: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class RunTally:
    """Every table's tally of one pipeline run (a plain class: dlt would take a dataclass argument of
    the source for a setting to look up in its configuration)."""

    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self.tables: dict[str, TableTally] = {}
        self._lock = threading.Lock()

    def table(self, name: str) -> TableTally:
        with self._lock:
            return self.tables.setdefault(name, TableTally())
