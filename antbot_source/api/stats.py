"""What a table's read cost: requests, retries by cause, time held back by the throttle, token renewals,
rows seen twice and re-walks. Counted by the client (api/client.py) and the readers; light enough
for CDR walker processes, which send theirs back as `snapshot()` dicts."""

from __future__ import annotations

import threading
from collections.abc import Mapping

# every counter a RequestStats keeps (the load_health columns of the same names)
FIELDS = ("requests", "retries_429", "retries_5xx", "retries_timeout", "throttled_s", "token_renewals",
          "rows_seen_twice", "rewalks")


class RequestStats:
    """Counters shared by the threads of one table's read (thread-safe)."""

    def __init__(self) -> None:
        self._values = dict.fromkeys(FIELDS, 0.0)
        self._lock = threading.Lock()

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def merge(self, other: Mapping[str, float]) -> None:
        """Add another read's `snapshot()` (a walker's, sent over its pipe)."""
        with self._lock:
            for name, value in other.items():
                self._values[name] += value

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._values)

    @property
    def retries(self) -> int:
        values = self.snapshot()
        return int(values["retries_429"] + values["retries_5xx"] + values["retries_timeout"])
