"""When a table is read in full again: the reconcile that brings the edits change detection cannot see.

Between reconciles a table is checked for changes (`antbot_source.resources.changes`): new rows and deletes
arrive every run, edits of existing rows (a contact's name, a campaign's settings, an event's
status) only when the table is read in full. That happens on a table's first load, every
`reconcile_hours` (its time of the last full read is kept in the resource's state, so at the
destination too), when change detection is unsure, and on demand (`antbot load --reconcile`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

RECONCILED_AT = "reconciled_at"


def reconcile_due(state: MutableMapping[str, Any], every: timedelta, forced: bool = False) -> bool:
    """True when the table behind `state` (its resource state) must be read in full this run."""
    last = state.get(RECONCILED_AT)
    return forced or last is None or datetime.now(UTC) - datetime.fromisoformat(last) >= every


def mark_reconciled(state: MutableMapping[str, Any], at: datetime) -> None:
    """Record a complete read that started at `at` (kept only if the run's state is committed)."""
    state[RECONCILED_AT] = at.isoformat()
