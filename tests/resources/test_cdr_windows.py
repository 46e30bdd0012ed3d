"""CDR window planning and state: windows tile the range, are sized by the server's count, and resume."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from support import Counted, counter

from antbot_source.resources.cdr.verify import DRILL_ROWS, Comparison
from antbot_source.resources.cdr.windows import (
    ESTIMATE_SLACK,
    FILTER_MARGIN,
    MAX_PARTS,
    MIN_SPAN,
    WINDOWS_PER_WALK,
    Window,
    append_is_safe,
    iso,
    plan_run,
    record_run,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
START = datetime(2019, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


# 30 days of calls, 200 an hour, in the last month before NOW; nothing before
STAMPS = [NOW - timedelta(days=30) + timedelta(seconds=18 * i) for i in range(30 * 24 * 200)]


def plan(state, **kwargs):
    args = {"start_date": START, "lookback": 3 * HOUR, "now": NOW, "count": counter(STAMPS),
            "window_rows": 10_000, "run_rows": 1_000_000_000} | kwargs
    return plan_run(state, **args)


def test_a_first_load_tiles_history_with_windows_of_bounded_size():
    p = plan({})
    assert p.resume_from is None and p.backfill_key is None
    assert p.windows[0].start == START
    assert p.windows[-1].end is None, "the live edge stays open"
    for left, right in zip(p.windows, p.windows[1:], strict=False):
        assert left.end == right.start, "windows are contiguous"
    counts = counter(STAMPS)(list(p.windows))
    assert all(n <= 10_000 for n in counts)
    assert sum(counts) == len(STAMPS)
    # the empty years before the data cost one window, not one per day
    assert len(p.windows) < 2 * len(STAMPS) / 10_000 + 5


def test_runs_are_bounded_and_the_next_run_continues_where_one_stopped():
    state: dict = {}
    seen_windows: list[Window] = []
    for _ in range(50):
        p = plan(state, run_rows=150_000)
        assert sum(counter(STAMPS)([w])[0] for w in p.windows) < 150_000 + 10_000
        seen_windows.extend(p.windows)
        record_run(state, p, newest=None)
        if not state["pending"]:
            break
    assert not state["pending"]
    for left, right in itertools.pairwise(seen_windows):
        assert left.end == right.start, "no gap and no overlap between runs"
    assert seen_windows[0].start == START and seen_windows[-1].end is None


def test_a_live_run_starts_lookback_behind_the_cursor():
    state: dict = {}
    record_run(state, plan(state), newest=NOW - 10 * HOUR)
    assert state["cursor"] == iso(NOW - 10 * HOUR)
    again = plan(state, now=NOW + HOUR)
    assert again.windows[0].start == NOW - 13 * HOUR
    assert again.windows[-1].end is None
    assert not append_is_safe(state, again), "a look-back overlaps what was loaded: merge"


def test_the_cursor_only_moves_forward_and_backfills_leave_it():
    state: dict = {}
    record_run(state, plan(state), newest=NOW - HOUR)
    live = dict(state)
    backfill = plan(state, since=NOW - timedelta(days=20), until=NOW - timedelta(days=10), run_rows=20_000)
    assert backfill.backfill_key and backfill.windows[0].start == NOW - timedelta(days=20)
    assert backfill.windows[-1].end <= NOW - timedelta(days=10)
    record_run(state, backfill, newest=NOW - timedelta(days=11))
    assert state["pending"], "the backfill range is larger than one run"
    assert (state["cursor"], state["read_until"]) == (live["cursor"], live["read_until"])
    resumed = plan(state, since=NOW - timedelta(days=20), until=NOW - timedelta(days=10), run_rows=20_000)
    assert resumed.windows[0].start == backfill.windows[-1].end


def test_append_only_where_nothing_was_loaded():
    state: dict = {}
    first = plan(state, run_rows=100_000)
    assert append_is_safe(state, first)
    record_run(state, first, newest=None)
    assert append_is_safe(state, plan(state, run_rows=100_000)), "continuing a first load appends"
    since = plan(state, since=NOW - timedelta(days=29), until=NOW - timedelta(days=28))
    assert not append_is_safe(state, since)


def test_filters_are_timezone_aware_and_widened():
    window = Window(datetime(2026, 3, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    query = window.query()
    assert query["from_date"] == iso(window.start - FILTER_MARGIN) == "2026-02-28T23:59:59+00:00"
    assert query["to_date"] == "2026-03-02T00:00:01+00:00"
    assert "to_date" not in Window(window.start, None).query()
    with pytest.raises(ValueError):
        plan({}, start_date=datetime(2026, 1, 1))


# -- a start_date moved earlier than the history held ---------------------------------------------------

def _read_all(state, **kwargs) -> list[Window]:
    """Plan and record runs as a load does until nothing is pending; every window read, in order."""
    read: list[Window] = []
    while True:
        p = plan(state, **kwargs)
        read += p.windows
        record_run(state, p, max((s for s in STAMPS if any(_holds(w, s) for w in p.windows)), default=None))
        if not state["pending"]:
            return read


def _holds(window: Window, stamp: datetime) -> bool:
    return window.start <= stamp and (window.end is None or stamp < window.end)


def test_a_start_date_moved_earlier_backfills_the_history_before_it_then_goes_on_live():
    late_start = NOW - timedelta(days=10)
    state: dict = {}
    first = _read_all(state, start_date=late_start)
    assert state["history_from"] == iso(late_start)
    assert first[0].start == late_start
    second = _read_all(state, start_date=START)
    assert state["history_from"] == iso(START)
    # the difference, [START, late_start), is read, then a live pass from the cursor minus the look-back
    assert second[0].start == START and any(w.end == late_start for w in second)
    assert sum(1 for s in STAMPS if any(_holds(w, s) for w in second if w.end and w.end <= late_start)) == \
        sum(1 for s in STAMPS if s < late_start)
    assert second[-1].end is None and second[-1].start >= NOW - 4 * HOUR
    third = plan(state, start_date=START)
    assert third.live and third.start == datetime.fromisoformat(state["cursor"]) - 3 * HOUR, \
        "once read, the older history is not read again"


def test_a_start_date_moved_later_reads_no_history_again():
    state: dict = {}
    _read_all(state)
    p = plan(state, start_date=NOW - timedelta(days=2))
    assert p.live and p.start == datetime.fromisoformat(state["cursor"]) - 3 * HOUR
    assert state["history_from"] == iso(START)


def test_a_backfill_reaching_back_from_the_history_held_extends_it_and_a_detached_one_does_not():
    state: dict = {}
    _read_all(state, start_date=NOW - timedelta(days=10))
    _read_all(state, start_date=NOW - timedelta(days=10), since=NOW - timedelta(days=40),
              until=NOW - timedelta(days=20))
    assert state["history_from"] == iso(NOW - timedelta(days=10)), "a gap stays a gap"
    _read_all(state, start_date=NOW - timedelta(days=10), since=NOW - timedelta(days=20),
              until=NOW - timedelta(days=5))
    assert state["history_from"] == iso(NOW - timedelta(days=20))
    # a start_date between the two needs no backfill: that history is held
    p = plan(state, start_date=NOW - timedelta(days=15))
    assert p.live


def test_a_state_of_an_earlier_version_takes_the_configured_start_as_its_history():
    state: dict = {}
    _read_all(state)
    del state["history_from"]
    p = plan(state, start_date=START)
    record_run(state, p, None)
    assert p.live and state["history_from"] == iso(START)


def test_a_look_back_longer_than_the_history_starts_at_the_start_date():
    state: dict = {}
    _read_all(state, start_date=NOW - timedelta(days=10))
    p = plan(state, start_date=NOW - timedelta(days=10), lookback=timedelta(days=400))
    assert p.live and p.start == NOW - timedelta(days=10)


# -- sizing windows by the server's count ---------------------------------------------------------------

def compared(held: list[datetime]) -> Comparison:
    return Comparison(counter(STAMPS), counter(held), NOW)


@pytest.mark.parametrize("held", [None, []], ids=["estimated", "compared"])
def test_windows_for_walks_side_by_side_are_small_enough_for_each_to_have_several(held):
    compare = None if held is None else compared(held)
    alone = plan({}, window_rows=100_000, compare=compare)
    side_by_side = plan({}, window_rows=100_000, parallel=4, compare=compare)
    counts = counter(STAMPS)(list(side_by_side.windows))
    share = len(STAMPS) // (WINDOWS_PER_WALK * 4)
    assert len(side_by_side.windows) >= max(WINDOWS_PER_WALK * 4 // 2, 2 * len(alone.windows))
    assert all(n <= share * 3 // 2 for n in counts), "half as big again as an even share at most"
    assert sum(counts) == len(STAMPS)


def test_the_biggest_windows_are_walked_first():
    p = plan({}, window_rows=100_000, parallel=4)
    rows = [p.rows[w] for w in p.walk_order()]
    assert rows == sorted(rows, reverse=True) and sorted(p.walk_order(), key=lambda w: w.start) == list(p.windows)


def test_rows_sharing_an_instant_are_not_cut_below_the_shortest_span():
    burst = [NOW - HOUR] * 5_000
    p = plan({}, count=counter(burst), window_rows=100)
    holding = [w for w in p.windows if counter(burst)([w])[0]]
    assert len(holding) == 1 and MIN_SPAN / MAX_PARTS < holding[0].end - holding[0].start <= MIN_SPAN


def test_a_window_cut_twice_is_cut_again_without_counting_where_nothing_is_compared():
    asked = Counted(STAMPS)
    p = plan({}, count=asked, window_rows=100_000, parallel=4)
    uncounted = [w for w in p.windows if w not in asked.asked]
    assert uncounted, "pieces of a span cut twice are estimated, not counted"
    share = len(STAMPS) // (WINDOWS_PER_WALK * 4)
    assert all(n <= ESTIMATE_SLACK * share for n in counter(STAMPS)(uncounted))
    assert sum(counter(STAMPS)(list(p.windows))) == len(STAMPS), "estimated or not, the windows tile the range"


def test_windows_compared_with_the_destination_are_all_counted():
    p = plan({}, window_rows=100_000, parallel=4, compare=compared([]))
    assert list(p.windows) == [w for w, n in p.rows.items() if n], "nothing held: every window with rows is read"
    assert all(counter(STAMPS)([w])[0] == n for w, n in p.rows.items()), "by exact counts, not estimates"


# -- a live run compared with the destination -----------------------------------------------------------

def test_a_live_run_with_nothing_new_costs_one_count_and_reads_nothing():
    state: dict = {}
    record_run(state, plan(state), newest=STAMPS[-1])
    asked = Counted(STAMPS)
    p = plan(state, count=asked, now=NOW + HOUR, window_rows=100, compare=compared(STAMPS))
    assert p.windows == () and p.live and not append_is_safe(state, p)
    assert asked.asked == [Window(p.start, None)]
    record_run(state, p, newest=None)
    assert state["read_until"] == iso(NOW + HOUR) and not state["pending"]


def test_a_live_run_reads_only_the_windows_that_lost_rows():
    state: dict = {}
    record_run(state, plan(state), newest=STAMPS[-1])
    lost = STAMPS[-300:-290]  # written late, in the look-back
    p = plan(state, now=NOW + HOUR, window_rows=1_000, lookback=timedelta(days=2),
             compare=compared([s for s in STAMPS if s not in lost]))
    assert p.windows and all(any(_holds(w, s) for w in p.windows) for s in lost)
    assert sum(counter(STAMPS)(list(p.windows))) <= DRILL_ROWS, "narrowed down to the rows lost"


# -- what a run records ---------------------------------------------------------------------------------

def test_a_finished_backfill_plans_nothing_and_counts_nothing():
    state = {"backfills": {f"{iso(NOW - 2 * HOUR)}|{iso(NOW - HOUR)}": iso(NOW - HOUR)}}
    asked = Counted(STAMPS)
    p = plan(state, count=asked, since=NOW - 2 * HOUR, until=NOW - HOUR)
    assert p.windows == () and asked.asked == [] and not append_is_safe(state, p)
    record_run(state, p, newest=None)
    assert state["backfills"] == {} and not state["pending"]


def test_what_is_loaded_reaches_the_last_window_or_the_newest_row_whichever_is_later():
    state: dict = {}
    backfill = plan(state, since=NOW - 10 * HOUR, until=NOW - 5 * HOUR)
    record_run(state, backfill, newest=NOW - 6 * HOUR)
    assert state["loaded_until"] == iso(NOW - 5 * HOUR)
    older = plan(state, since=NOW - 20 * HOUR, until=NOW - 15 * HOUR)
    record_run(state, older, newest=NOW - 16 * HOUR)
    assert state["loaded_until"] == iso(NOW - 5 * HOUR), "never moves back"
    live = plan(state)
    record_run(state, live, newest=NOW + HOUR)  # a row stamped after the run's now
    assert state["loaded_until"] == iso(NOW + HOUR)


def test_a_backfill_of_older_history_leaves_the_live_pass_pending():
    state: dict = {}
    _read_all(state, start_date=NOW - timedelta(days=10))
    p = plan(state, start_date=NOW - timedelta(days=12))
    assert p.then_live and not p.live
    record_run(state, p, newest=None)
    assert state["pending"], "the live pass follows in the next run"
