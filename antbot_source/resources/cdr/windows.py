"""Which CDR date windows a pipeline run reads, and what it records when it has read them.

The resource state of `cdr` (dlt resource state, committed with each load) holds:

- `cursor`: the newest `starting_date` a live run has read (ISO, UTC);
- `read_until`: when the last complete live pass read up to "now" (ISO, UTC);
- `resume_from`: set while a live pass is unfinished: the start of its next window;
- `backfills`: {"<since>|<until>": start of the next window} for unfinished `--since/--until` ranges;
- `loaded_until`: everything loaded so far has `starting_date` before this instant (append is safe after it);
- `history_from`: where the history the live runs hold begins (the `start_date` of the first pass);
  a `start_date` configured earlier later on backfills the difference before the next live pass;
- `pending`: whether the last run stopped with windows left (the caller runs the pipeline again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Protocol

# Sent around each window so that a server reading from_date/to_date as open or closed bounds, or
# truncating sub-second precision, still returns every row; rows outside the window are dropped locally.
FILTER_MARGIN = timedelta(seconds=1)
# a span this short is not cut further, however many rows share it
MIN_SPAN = timedelta(seconds=2)
MAX_PARTS = 64
# windows for concurrency are not cut below this many rows: each window costs a count request after
# its walk, and a window of 1,000 rows is 10 pages of the smallest page size seen (100)
MIN_WINDOW_ROWS = 1_000
# windows per walk side by side: the walks then end close together, and few run alone at the end
WINDOWS_PER_WALK = 4
# a span cut twice (a part of a part of the range: days, where history spans years) is cut again without
# counting, into pieces that hold at most this many times their even share of the window bound
ESTIMATE_DEPTH = 2
ESTIMATE_SLACK = 4


@dataclass(frozen=True)
class Span:
    """A range of `starting_date`: from `low` (included) to `high` (included when `closed`; None: no
    upper bound). The HTTP filter, the SQL and the Arrow filter of a window are written from it."""

    low: datetime
    high: datetime | None
    closed: bool


@dataclass(frozen=True)
class Window:
    """Rows with start <= starting_date < end (end None: no upper bound, the live edge)."""

    start: datetime
    end: datetime | None

    @property
    def kept(self) -> Span:
        """The rows of the window: what a walk keeps, [start, end)."""
        return Span(self.start, self.end, closed=False)

    @property
    def asked(self) -> Span:
        """What the window's filter asks the server for: FILTER_MARGIN wider on each side, both bounds
        included (the API's Django filters read `from_date` and `to_date` as >= and <=)."""
        return Span(self.start - FILTER_MARGIN, None if self.end is None else self.end + FILTER_MARGIN, closed=True)

    def query(self) -> dict[str, str]:
        """`from_date` / `to_date` for this window, timezone-aware (the server reads naive values as local)."""
        span = self.asked
        return {"from_date": iso(span.low)} | ({} if span.high is None else {"to_date": iso(span.high)})


@dataclass(frozen=True)
class RunPlan:
    """The windows of one run, and where the next run continues (None: this run finishes the range)."""

    windows: tuple[Window, ...]
    resume_from: datetime | None
    backfill_key: str | None
    now: datetime
    start: datetime | None = None  # where the range this run compares and reads begins
    rows: Mapping[Window, int] = field(default_factory=dict)  # the rows planned in each window, counted or estimated
    history_from: datetime | None = None  # where the history held begins once this run is read
    then_live: bool = False  # a backfill of older history: the live pass follows in the next run

    @property
    def live(self) -> bool:
        """True for a pass of the live read (not a `--since/--until` backfill, nor one of older history)."""
        return self.backfill_key is None

    @property
    def planned_rows(self) -> int | None:
        """The rows planned over every window; None when a window's are not known (a day read again)."""
        if any(window not in self.rows for window in self.windows):
            return None
        return sum(self.rows[window] for window in self.windows)

    def walk_order(self) -> list[Window]:
        """The windows biggest first: the walks that take longest start first and those that end last
        are short, so that requests stay in flight side by side until the run's end."""
        return sorted(self.windows, key=lambda window: -self.rows.get(window, 0))


class Compare(Protocol):
    """The destination's counts, and which counted windows lost rows there (verify.Comparison)."""

    held: Callable[[Sequence[Window]], list[int]]

    def changed(self, counted: Sequence[tuple[Window, int]]) -> list[Window]: ...


def iso(moment: datetime) -> str:
    """A timezone-aware ISO-8601 string in UTC with an explicit `+00:00` offset."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: CDR windows are timezone-aware")
    return moment.astimezone(UTC).isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


Counter = Callable[[list[Window]], list[int]]


def _split(begin: datetime, stop: datetime, open_end: bool, count: Counter, window_rows: int, run_rows: int,
           parallel: int = 1, rows: int | None = None, estimate: bool = False):
    """Consecutive windows from `begin` covering up to `stop` (the last one open when `open_end`), each
    holding at most about `window_rows` rows by the server's count, until about `run_rows` rows are
    planned (`rows`: the range's count when already known), with the count of each; plus where the rest
    starts (None: nothing left). With `parallel` walks side by side,
    windows are made small enough that there are WINDOWS_PER_WALK for each (MIN_WINDOW_ROWS at least).

    A span holding too many rows is cut into as many equal parts as its count asks for, and
    neighbouring parts are joined again while together they hold few enough: empty stretches of
    history cost a count, not a window each. With `estimate` (windows that need no exact count: the
    plan is not compared with the destination), a span cut ESTIMATE_DEPTH times that still holds too
    many is cut again without counting, each piece taking an even share of its count: rows spread
    evenly enough over so short a span, and each count saved is a request of the throttle's budget.
    """

    def window(start: datetime, end: datetime) -> Window:
        return Window(start, None if (open_end and end >= stop) else end)

    todo: list[tuple[datetime, datetime, int | None, int]] = [(begin, stop, rows, 0)]  # and its depth of cuts
    limit = window_rows  # rows a window may hold
    windows: list[tuple[Window, int]] = []
    planned = 0
    cap = window_rows
    while todo and (planned < run_rows or not windows):
        start, end, rows, depth = todo.pop(0)
        if rows is None:
            rows = count([window(start, end)])[0]
        if depth == 0 and parallel > 1:  # the first count is of the whole range: size the windows for the walkers
            target = min(window_rows, max(MIN_WINDOW_ROWS, -(-min(rows, run_rows) // (WINDOWS_PER_WALK * parallel))))
            # windows for concurrency need not be even: half as big again saves a round of counts
            window_rows, limit = target, min(window_rows, target * 3 // 2)
        if rows <= limit or end - start <= MIN_SPAN:
            windows.append((window(start, end), rows))
            planned += rows
            continue
        # the range's first cut into one round of counts: history is seldom even, and its parts that
        # hold many rows are cut again by their own counts
        parts = min(-(-rows // window_rows), MAX_PARTS if depth or parallel == 1 else parallel)
        step = (end - start) / parts
        cuts = [start + step * i for i in range(parts)] + [end]
        spans = list(pairwise(cuts))
        if estimate and depth >= ESTIMATE_DEPTH and rows * ESTIMATE_SLACK <= cap * parts:
            todo[0:0] = [(a, b, rows // parts, depth + 1) for a, b in spans]
        else:
            counts = count([window(a, b) for a, b in spans])
            todo[0:0] = [(a, b, n, depth + 1) for a, b, n in _join(spans, counts, limit)]
    return tuple(windows), (todo[0][0] if todo else None)


def _join(spans: list[tuple[datetime, datetime]], counts: list[int], window_rows: int):
    """Neighbouring spans joined while together they hold at most `window_rows` rows."""
    joined: list[tuple[datetime, datetime, int]] = []
    for (start, end), rows in zip(spans, counts, strict=True):
        if joined and joined[-1][2] + rows <= window_rows:
            joined[-1] = (joined[-1][0], end, joined[-1][2] + rows)
        else:
            joined.append((start, end, rows))
    return joined


def plan_run(
    state: dict[str, Any],
    *,
    start_date: datetime,
    lookback: timedelta,
    now: datetime,
    count: Counter,
    window_rows: int,
    run_rows: int,
    since: datetime | None = None,
    until: datetime | None = None,
    parallel: int = 1,
    compare: Compare | None = None,
) -> RunPlan:
    """The windows this run reads.

    Live (no since/until): continue an unfinished pass, else start a pass `lookback` behind the
    cursor (or at `start_date` on a first load) and read to the open live edge. Backfill: read
    [since, until) (`since` defaults to `start_date`, an absent `until` means up to the live edge),
    continuing where an earlier run of the same range stopped; the live cursor is not read.
    `count` gives the server's row count of a window; windows and runs are sized by it (`_split`).
    With `compare` (live runs), the range is counted whole first and only windows that lost rows at
    the destination are read: nothing when the count says nothing changed.
    """
    for moment in (start_date, since, until):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("CDR start_date, since and until must be timezone-aware")
    history_from = _parse(state.get("history_from"))
    then_live = since is None and until is None and not state.get("resume_from") and bool(history_from) \
        and start_date < history_from
    if then_live:  # start_date moved earlier than the history held: read the difference first
        since, until = start_date, history_from
    elif since is None and until is None:
        key = None
        begin = _parse(state.get("resume_from"))
        if begin is None:
            marks = [m for m in (_parse(state.get("cursor")), _parse(state.get("read_until"))) if m]
            # never before start_date, however long the look-back: no call before it is loaded
            begin = max(min(marks) - lookback, start_date) if marks else start_date
        # the history held begins where the first pass began (an older state: where it is configured)
        history_from = history_from or start_date
    if since is not None or until is not None:
        since = since or start_date
        key = f"{iso(since)}|{iso(until) if until else ''}"
        begin = _parse(state.get("backfills", {}).get(key)) or since
        if until is not None and begin >= until:
            return RunPlan((), None, key, now, history_from=_extended(history_from, since, until),
                           then_live=then_live)
    rows = None
    if compare is not None and key is None:
        rows = count([Window(begin, None)])[0]
        if rows <= compare.held([Window(begin, None)])[0]:
            return RunPlan((), None, key, now, begin, history_from=history_from)
    comparing = compare is not None and key is None
    counted, resume_from = _split(begin, until or now, until is None, count, window_rows, run_rows, parallel, rows,
                                  estimate=not comparing)
    windows = compare.changed(counted) if comparing else [w for w, _ in counted]
    if key is not None:
        history_from = _extended(history_from, since, until)
    return RunPlan(tuple(windows), resume_from, key, now, begin, dict(counted), history_from, then_live)


def _extended(history_from: datetime | None, since: datetime | None, until: datetime | None) -> datetime | None:
    """Where the history held begins once a backfill of [since, until) is read: earlier when the range
    reaches back from it without a gap (an open `until` reaches the live edge)."""
    if history_from is not None and since is not None and since < history_from and (until is None or history_from <= until):
        return since
    return history_from


def append_is_safe(state: dict[str, Any], plan: RunPlan) -> bool:
    """True when nothing this run reads can already be in the destination (first load of that range)."""
    loaded_until = _parse(state.get("loaded_until"))
    return bool(plan.windows) and (loaded_until is None or plan.windows[0].start >= loaded_until)


def record_run(state: dict[str, Any], plan: RunPlan, newest: datetime | None) -> None:
    """Update the resource state after every window of `plan` was read; `newest` is the max starting_date."""
    if plan.backfill_key is None:
        cursor = _parse(state.get("cursor"))
        if newest is not None and (cursor is None or newest > cursor):
            state["cursor"] = iso(newest)
        if plan.resume_from is None:
            state.pop("resume_from", None)
            state["read_until"] = iso(plan.now)
        else:
            state["resume_from"] = iso(plan.resume_from)
    else:
        backfills = state.setdefault("backfills", {})
        if plan.resume_from is None:
            backfills.pop(plan.backfill_key, None)
        else:
            backfills[plan.backfill_key] = iso(plan.resume_from)
    if plan.history_from is not None and plan.resume_from is None:
        state["history_from"] = iso(plan.history_from)
    if plan.windows:
        last_end = plan.windows[-1].end or plan.now
        reached = max(m for m in (last_end, newest, _parse(state.get("loaded_until"))) if m is not None)
        state["loaded_until"] = iso(reached)
    state["pending"] = plan.resume_from is not None or plan.then_live
