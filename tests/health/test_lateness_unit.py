"""The lateness observer (health/lateness.py): which rows a live run reads late, how late, the warnings it
concludes with, and the automatic look-back that follows the deepest lateness remembered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from antbot_source.errors import ConfigError
from antbot_source.health.lateness import (
    AUTO_MARGIN,
    AUTO_MAX,
    AUTO_MEMORY,
    AUTO_MIN,
    MAX_LOOKBACK_HOURS,
    STATE_KEY,
    LateRows,
    auto_lookback,
    conclude,
    parse_lookback,
    remember,
)
from antbot_source.health.tally import TableTally

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CURSOR = NOW - timedelta(minutes=10)
HOUR = timedelta(hours=1)


def page(rows: dict[int, datetime]) -> pa.Table:
    """An Arrow page of CDRs as the read yields it: ids and their starting_date."""
    return pa.table({"id": pa.array(list(rows), pa.int64()),
                     "starting_date": pa.array(list(rows.values()), pa.timestamp("us", tz="UTC"))})


@pytest.mark.parametrize(("value", "expected"), [
    ("auto", None), (" AUTO ", None), ("5", timedelta(hours=5)), (2.5, timedelta(hours=2.5)), ("0", timedelta(0)),
    (MAX_LOOKBACK_HOURS, timedelta(hours=MAX_LOOKBACK_HOURS)),
])
def test_a_lookback_is_hours_or_auto(value, expected):
    assert parse_lookback(value) == expected


@pytest.mark.parametrize("value", ["-1", MAX_LOOKBACK_HOURS + 1, "three", "", None, "nan"])
def test_anything_else_is_a_config_error(value):
    with pytest.raises(ConfigError, match="lookback_hours"):
        parse_lookback(value)


def test_rows_first_seen_behind_the_cursor_are_late_by_their_distance_from_it():
    late = LateRows(CURSOR, healed_before=None, held={1})
    late.observe(page({1: CURSOR - HOUR,  # held before the run: not late
                       2: CURSOR - 2 * HOUR,
                       3: CURSOR - timedelta(minutes=30),
                       4: CURSOR,  # not behind the cursor
                       5: CURSOR + HOUR}))
    late.observe(page({6: CURSOR - timedelta(seconds=1)}))
    assert sorted(late.lateness_s) == [1.0, 1800.0, 7200.0]
    assert late.summary() == {"late_rows": 3, "max_lateness_s": 7200.0, "p95_lateness_s": 7200.0, "healed_rows": 0}


def test_the_95th_percentile_leaves_out_the_deepest_twentieth():
    late = LateRows(CURSOR, None, set())
    late.observe(page({i: CURSOR - timedelta(seconds=i) for i in range(1, 41)}))
    assert late.summary()["p95_lateness_s"] == 38.0 and late.summary()["max_lateness_s"] == 40.0


def test_rows_behind_where_the_verification_read_count_as_healed():
    late = LateRows(CURSOR, healed_before=CURSOR - 3 * HOUR, held=set())
    late.observe(page({1: CURSOR - 5 * HOUR, 2: CURSOR - 3 * HOUR, 3: CURSOR - HOUR}))
    assert late.summary()["healed_rows"] == 1 and late.summary()["late_rows"] == 3


def test_a_first_run_has_no_cursor_and_no_late_rows():
    late = LateRows(None, None, set())
    late.observe(page({1: NOW - 100 * HOUR}))
    assert late.summary() == {"late_rows": 0, "max_lateness_s": None, "p95_lateness_s": None, "healed_rows": 0}


def test_the_automatic_lookback_covers_the_deepest_lateness_with_a_margin_within_its_bounds():
    assert auto_lookback({}, NOW) == AUTO_MIN
    state: dict = {}
    remember(state, NOW, (10 * HOUR).total_seconds())
    assert auto_lookback(state, NOW) == 10 * HOUR * AUTO_MARGIN
    remember(state, NOW, (1000 * HOUR).total_seconds())
    assert auto_lookback(state, NOW) == AUTO_MAX


def test_a_days_deepest_lateness_is_kept_and_forgotten_after_the_memory():
    state: dict = {}
    remember(state, NOW, 36_000.0)
    remember(state, NOW + HOUR, 60.0)
    assert state[STATE_KEY] == {NOW.date().isoformat(): 36_000.0}
    later = NOW + AUTO_MEMORY + timedelta(days=1)
    assert auto_lookback(state, later - timedelta(days=2)) == 10 * HOUR * AUTO_MARGIN
    assert auto_lookback(state, later) == AUTO_MIN
    remember(state, later, 0.0)
    assert state[STATE_KEY] == {}, "nothing late today, and the day remembered is forgotten"


def concluded(late: LateRows, *, lookback: timedelta = 3 * HOUR, auto: bool = False, state: dict | None = None,
              surplus: dict[str, int] | None = None) -> tuple[TableTally, dict]:
    tally, state = TableTally(), state if state is not None else {"cursor": NOW.isoformat()}
    conclude(tally, state, late, now=NOW, lookback=lookback, auto=auto, cursor_before=CURSOR, surplus=surplus or {})
    return tally, state


def test_a_run_concludes_with_its_lateness_columns_and_remembers_its_deepest():
    late = LateRows(CURSOR, None, set())
    late.observe(page({1: CURSOR - HOUR}))
    tally, state = concluded(late)
    assert tally.cdr == {"late_rows": 1, "max_lateness_s": 3600.0, "p95_lateness_s": 3600.0, "healed_rows": 0,
                         "cursor_before": CURSOR, "cursor_after": NOW, "lookback_s": 10_800.0, "surplus_rows": 0,
                         "lateness_warning": False}
    assert tally.warnings == [] and state[STATE_KEY] == {NOW.date().isoformat(): 3600.0}


def test_late_rows_near_the_lookback_warn_and_say_what_to_do():
    late = LateRows(CURSOR, None, set())
    late.observe(page({1: CURSOR - 2.5 * HOUR}))
    fixed, _ = concluded(late)
    assert fixed.cdr["lateness_warning"]
    assert fixed.warnings == [("late rows reach 2.5 h behind the cursor, more than 80% of the 3.0 h look-back; "
                               "raise SOURCES__ANTBOT__LOOKBACK_HOURS or set it to auto")]
    automatic, _ = concluded(late, auto=True)
    assert automatic.warnings[0].endswith("; the automatic look-back widens to 3.8 h")
    deepest = LateRows(CURSOR, None, set())
    deepest.observe(page({1: CURSOR - 70 * HOUR}))
    at_bound, _ = concluded(deepest, lookback=AUTO_MAX, auto=True)
    assert at_bound.warnings[0].endswith("of the 72.0 h look-back"), "no wider look-back to promise"
    shallow = LateRows(CURSOR, None, set())
    shallow.observe(page({1: CURSOR - 2.3 * HOUR}))
    assert not concluded(shallow)[0].cdr["lateness_warning"], "within 80 % of the look-back"


def test_healed_rows_and_a_surplus_are_warned_of():
    late = LateRows(CURSOR, healed_before=CURSOR - 3 * HOUR, held=set())
    late.observe(page({1: CURSOR - 30 * HOUR, 2: CURSOR - 40 * HOUR}))
    surplus = {"2026-02-20T00:00:00+00:00": 4, "2026-02-18T00:00:00+00:00": 1}
    tally, _ = concluded(late, lookback=72 * HOUR, surplus=surplus)
    assert tally.cdr["surplus_rows"] == 5 and not tally.cdr["lateness_warning"]
    assert tally.warnings == [
        "2 rows arrived later than the look-back; the verification read them again",
        ("the destination holds 5 rows the server no longer has (2026-02-18, 2026-02-20): CDRs deleted at "
         "the server, with their campaign?"),
    ]
