"""The server's CDR counts against the rows the destination holds: which windows lost rows.

CDRs are insert-only, so a window whose count at the server equals the rows the destination holds
for it is complete, and one whose count is higher lost rows (written late, behind where the runs
read). One comparison serves both:

- the live read (`plan_run(compare=...)`): the look-back range and the new range after the cursor
  are counted as one window first, and only windows that lost rows are read; a run with nothing new
  costs one count request whatever the account's size;
- the verification of the `verify_days` days behind the look-back (`verify`): counted as one window,
  then day by day when that differs; a day that lost rows is read again (healed), a closed day
  holding more rows than the server (CDRs deleted with their campaign) is reported once and
  remembered in the resource state (`surplus`).

A window that lost a few rows among many is narrowed down before it is read: cut into DRILL_PARTS
parts, each counted, and only the parts that lost rows kept, until a part holds at most DRILL_ROWS.
Both sides are counted over the same range, the one the window's filter asks for (`Window.asked`).

What a count cannot see: a window that lost as many rows as it holds extra (a late row and a deleted
one in the same window) compares equal.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from antbot_source.destination.held import HeldRows
from antbot_source.resources.cdr.windows import MIN_SPAN, Counter, Span, Window, iso

# a window that lost rows is read once it holds at most this many (8 pages of the smallest page size, 25)
DRILL_ROWS = 200
DRILL_PARTS = 8
# narrowing down pays only where most rows are held: a window missing more than a quarter is read whole
MOSTLY_HELD = 4
DAY = timedelta(days=1)
SURPLUS_KEY = "surplus"
DEFAULT_VERIFY_DAYS = 7  # SOURCES__ANTBOT__VERIFY_DAYS: days behind the look-back verified every run
MAX_VERIFY_DAYS = 3_660  # ten years: every day of it is a count request when it differs

HeldCounter = Callable[[Sequence[Window]], list[int]]


@dataclass
class Comparison:
    """The server's counts (`count`) against the destination's (`held`) for windows of CDRs."""

    count: Counter
    held: HeldCounter
    now: datetime

    def changed(self, counted: Sequence[tuple[Window, int]]) -> list[Window]:
        """The windows, of `counted` (window, server count), that lost rows, narrowed down; in order."""
        lost: list[Window] = []
        level = list(counted)
        while level:
            deeper: list[Window] = []
            for (window, server), held in zip(level, self.held([w for w, _ in level]), strict=True):
                if server <= held:
                    continue
                parts = self._parts(window) if server > DRILL_ROWS and (server - held) * MOSTLY_HELD <= server \
                    else []
                if parts:
                    deeper += parts
                else:
                    lost.append(window)
            level = list(zip(deeper, self.count(deeper), strict=True)) if deeper else []
        return sorted(lost, key=lambda w: w.start)

    def _parts(self, window: Window) -> list[Window]:
        end = window.end or self.now
        if end - window.start <= MIN_SPAN:
            return []
        step = (end - window.start) / DRILL_PARTS
        cuts = [window.start + step * i for i in range(DRILL_PARTS)]
        return [Window(a, b) for a, b in itertools.pairwise(cuts)] + [Window(cuts[-1], window.end)]


@dataclass(frozen=True)
class Verification:
    """What `verify` found: windows to read again, and closed days holding rows the server no longer has."""

    heal: tuple[Window, ...] = ()
    surplus: dict[str, int] = field(default_factory=dict)  # day (ISO start) -> extra rows, newly found


def verify(state: dict[str, Any], compare: Comparison, *, begin: datetime, start_date: datetime,
           verify_days: int) -> Verification:
    """Compare the `verify_days` days before `begin` (where the look-back starts; the last, partial
    day up to it included), never before `start_date`, with the destination, in one count when nothing
    changed; updates `state[SURPLUS_KEY]`."""
    last_midnight = begin.replace(hour=0, minute=0, second=0, microsecond=0)
    first = max(last_midnight - verify_days * DAY, start_date)
    known: dict[str, int] = state.get(SURPLUS_KEY, {})
    if verify_days <= 0 or first >= begin:
        state.pop(SURPLUS_KEY, None)
        return Verification()
    cuts = [first] + [last_midnight - k * DAY for k in range(verify_days, -1, -1) if first < last_midnight - k * DAY < begin]
    windows = [Window(a, b) for a, b in zip(cuts, [*cuts[1:], begin], strict=True)]
    known = {day: rows for day, rows in known.items() if first <= datetime.fromisoformat(day) < last_midnight}
    state[SURPLUS_KEY] = known
    horizon = Window(first, begin)
    if compare.count([horizon])[0] == compare.held([horizon])[0] - sum(known.values()):
        return Verification()
    found: dict[str, int] = {}
    drill: list[tuple[Window, int]] = []
    heal: list[Window] = []
    for window, server, held in zip(windows, compare.count(windows), compare.held(windows), strict=True):
        extra = known.get(iso(window.start), 0)
        if server < held - extra and window.end is not None and window.end - window.start == DAY:
            found[iso(window.start)] = held - extra - server
            known[iso(window.start)] = held - server
        elif server > held - extra:
            if extra:  # the surplus would hide what was lost from a narrowing down: read the day
                heal.append(window)
            else:
                drill.append((window, server))
    return Verification(tuple(sorted(heal + compare.changed(drill), key=lambda w: w.start)), found)


def _timestamp(moment: datetime) -> str:
    return f"CAST('{iso(moment)}' AS TIMESTAMP WITH TIME ZONE)"


def _within(span: Span, column: str) -> str:
    """SQL: `column` within `span`."""
    low = f"{column} >= {_timestamp(span.low)}"
    return low if span.high is None else f"{low} AND {column} {'<=' if span.closed else '<'} {_timestamp(span.high)}"


def held_counts(held: HeldRows, windows: Sequence[Window]) -> list[int]:
    """Rows the destination (`held`) holds for each window (over its filter's range), in one query."""
    if not windows:
        return []
    sums = ", ".join(f"SUM(CASE WHEN {_within(w.asked, '{c}')} THEN 1 ELSE 0 END)" for w in windows)
    low = min(w.asked.low for w in windows)
    rows = held.query("cdr", f"SELECT {sums} FROM {{t}} WHERE {{c}} >= {_timestamp(low)}", c="starting_date")
    return [int(n or 0) for n in rows[0]] if rows else [0] * len(windows)


def held_ids(held: HeldRows, windows: Sequence[Window]) -> set[int]:
    """Ids of the rows the destination (`held`) holds within the windows (as walks keep them)."""
    if not windows:
        return set()
    where = " OR ".join(f"({_within(w.kept, '{c}')})" for w in windows)
    rows = held.query("cdr", f"SELECT id FROM {{t}} WHERE {where}", c="starting_date")
    return {row[0] for row in rows or ()}
