"""How late CDRs arrive, and the look-back that follows it (`SOURCES__ANTBOT__LOOKBACK_HOURS=auto`).

A CDR's lateness, as a run sees it: how far behind the previous run's cursor (the newest
`starting_date` read then) the `starting_date` of a row first seen in this run lies. Rows the
verification heals (older than the look-back) count too: they are the deepest.

The automatic look-back covers the deepest lateness seen over the last AUTO_MEMORY with a margin
of AUTO_MARGIN (so that the same depth stays below the 80 % warning), never below the default 3 h nor
above AUTO_MAX. It narrows again on its own: a day's deepest lateness is forgotten AUTO_MEMORY later.
A wider look-back costs little: a run counts the look-back range once and reads only what changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from antbot_source.errors import ConfigError
from antbot_source.health.tally import TableTally
from antbot_source.rows.arrow import micros
from antbot_source.settings import DEFAULT_LOOKBACK_HOURS

WARN_SHARE = 0.8  # late rows deeper than this share of the look-back: a warning
AUTO = "auto"
AUTO_MARGIN = 1.5
AUTO_MIN = timedelta(hours=DEFAULT_LOOKBACK_HOURS)
AUTO_MAX = timedelta(hours=72)
AUTO_MEMORY = timedelta(days=7)
# A year: every run counts the look-back range again, and rows later than that are the verification's
# (VERIFY_DAYS) or a backfill's (`--since`); a larger value is a typo, and one past year 1 cannot be computed.
MAX_LOOKBACK_HOURS = 8760.0
STATE_KEY = "lateness"  # {day (ISO date): deepest lateness seen that day, seconds}


def parse_lookback(value: str | float) -> timedelta | None:
    """`lookback_hours` as a duration; None for `auto`. Anything else is a ConfigError."""
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return None
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"lookback_hours: a number of hours or 'auto', not {value!r}") from None
    if not 0 <= hours <= MAX_LOOKBACK_HOURS:
        raise ConfigError(f"lookback_hours: from 0 to {MAX_LOOKBACK_HOURS:g} hours (a year), not {value!r}")
    return timedelta(hours=hours)


def _recent(state: dict[str, Any], now: datetime) -> dict[str, float]:
    oldest = (now - AUTO_MEMORY).date().isoformat()
    return {day: s for day, s in state.get(STATE_KEY, {}).items() if day >= oldest}


def auto_lookback(state: dict[str, Any], now: datetime) -> timedelta:
    """The look-back covering the deepest lateness remembered, with the margin, within the bounds."""
    deepest = timedelta(seconds=max(_recent(state, now).values(), default=0.0))
    return min(max(deepest * AUTO_MARGIN, AUTO_MIN), AUTO_MAX)


def remember(state: dict[str, Any], now: datetime, deepest_s: float) -> None:
    """Keep today's deepest lateness (and forget days older than AUTO_MEMORY)."""
    marks = _recent(state, now)
    today = now.date().isoformat()
    if deepest_s > marks.get(today, 0.0):
        marks[today] = deepest_s
    state[STATE_KEY] = marks


class LateRows:
    """Watches the rows a live run reads for those first seen now behind the previous cursor.

    `held`: ids the destination held, before the run, in the windows read behind the cursor;
    `healed_before`: rows behind this instant were read by the verification (healed).
    """

    def __init__(self, cursor: datetime | None, healed_before: datetime | None, held: set[int]):
        self._cursor = None if cursor is None else micros(cursor)
        self._healed_before = None if healed_before is None else micros(healed_before)
        self._held = held
        self.lateness_s: list[float] = []
        self.healed = 0

    def observe(self, table: pa.Table) -> None:
        if self._cursor is None:
            return
        starts = pc.cast(table.column("starting_date"), pa.int64())
        behind = table.filter(pc.less(starts, self._cursor))
        if not behind.num_rows:
            return
        ids = behind.column("id").to_pylist()
        for row_id, start in zip(ids, pc.cast(behind.column("starting_date"), pa.int64()).to_pylist(), strict=True):
            if row_id not in self._held:
                self.lateness_s.append((self._cursor - start) / 1e6)
                self.healed += self._healed_before is not None and start < self._healed_before

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.lateness_s)
        p95 = ordered[max(0, -(-len(ordered) * 95 // 100) - 1)] if ordered else None
        return {"late_rows": len(ordered), "max_lateness_s": ordered[-1] if ordered else None,
                "p95_lateness_s": p95, "healed_rows": self.healed}


def conclude(tally: TableTally, state: dict[str, Any], late: LateRows, *, now: datetime, lookback: timedelta,
             auto: bool, cursor_before: datetime | None, surplus: dict[str, int]) -> None:
    """The CDR columns and warnings of a live run in `tally`; today's deepest lateness remembered."""
    found = late.summary()
    cursor = state.get("cursor")
    tally.cdr.update(found, cursor_before=cursor_before, cursor_after=cursor and datetime.fromisoformat(cursor),
                     lookback_s=lookback.total_seconds(), surplus_rows=sum(surplus.values()))
    deepest = found["max_lateness_s"] or 0.0
    remember(state, now, deepest)
    tally.cdr["lateness_warning"] = deepest > WARN_SHARE * lookback.total_seconds()
    if tally.cdr["lateness_warning"]:
        widened = auto_lookback(state, now) if auto else None
        then = (f"; the automatic look-back widens to {hours(widened)}" if widened and widened > lookback
                else "; raise SOURCES__ANTBOT__LOOKBACK_HOURS or set it to auto" if not auto else "")
        tally.warnings.append(f"late rows reach {hours(timedelta(seconds=deepest))} behind the cursor, more than "
                              f"{WARN_SHARE:.0%} of the {hours(lookback)} look-back{then}")
    if found["healed_rows"]:
        tally.warnings.append(f"{found['healed_rows']:,} rows arrived later than the look-back; the verification "
                              "read them again")
    if surplus:
        days = ", ".join(day[:10] for day in sorted(surplus))
        tally.warnings.append(f"the destination holds {sum(surplus.values()):,} rows the server no longer has "
                              f"({days}): CDRs deleted at the server, with their campaign?")


def hours(span: timedelta) -> str:
    """A duration as hours, or minutes below one."""
    seconds = span.total_seconds()
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
