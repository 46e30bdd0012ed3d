"""The rows of a list endpoint as the destination takes them, each handed to dlt once per run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from antbot_source.api.stats import RequestStats
from antbot_source.rows.normalise import normalise_row
from antbot_source.rows.schema import json_fields, timestamp_fields
from antbot_source.settings import Endpoint


class RowReader:
    """Normalises the raw rows of `ep` (its timestamp and JSON columns, `rows.schema`) and hands each key
    on once: rows shifting between pages, or read twice, come twice (counted as `rows_seen_twice`)."""

    def __init__(self, ep: Endpoint, stats: RequestStats) -> None:
        self.key = ep.primary_key
        self.seen: set[Any] = set()
        self._timestamps, self._jsons = timestamp_fields(ep.type_key), json_fields(ep.type_key)
        self._stats = stats

    def normalise(self, raws: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows as the API gave them, normalised."""
        return [normalise_row(raw, timestamps=self._timestamps, json_fields=self._jsons) for raw in raws]

    def once(self, pages: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Pages of normalised rows without the keys already handed on (empty pages left out)."""
        for rows in pages:
            fresh = []
            for row in rows:
                if row.get(self.key) not in self.seen:
                    self.seen.add(row.get(self.key))
                    fresh.append(row)
            self._stats.add("rows_seen_twice", len(rows) - len(fresh))
            if fresh:
                yield fresh

    def fresh(self, pages: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Pages of raw rows, normalised, without the keys already handed on."""
        return self.once(self.normalise(page) for page in pages)
