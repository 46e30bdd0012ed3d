"""The verification (resources/cdr/verify.py): the server's counts against the rows held, on stamp lists
for both sides. What is read again (narrowed down to the rows lost), what is reported as deleted at the
server, and what it costs in counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support import Counted, counter

from antbot_source.resources.cdr.verify import DAY, DRILL_ROWS, SURPLUS_KEY, Comparison, Verification, verify
from antbot_source.resources.cdr.windows import Window, iso

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BEGIN = NOW - timedelta(hours=3)  # where the look-back starts
MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC)
# a call a minute for 20 days
SERVER = [NOW - timedelta(minutes=i) for i in range(20 * 1440)][::-1]


def day(k: int) -> Window:
    """The k-th closed day before the one `BEGIN` falls in."""
    return Window(MIDNIGHT - k * DAY, MIDNIGHT - (k - 1) * DAY)


def within(window: Window, stamps: list[datetime]) -> list[datetime]:
    return [s for s in stamps if window.start <= s and (window.end is None or s < window.end)]


def without(stamps: list[datetime], gone: list[datetime]) -> list[datetime]:
    lost = set(gone)
    return [s for s in stamps if s not in lost]


class Check:
    """verify() of the server's stamps against `held`, counting the count requests."""

    def __init__(self, held: list[datetime], server: list[datetime] = SERVER):
        self.server = Counted(server)
        self.compare = Comparison(self.server, counter(held), NOW)

    def __call__(self, state: dict, verify_days: int = 7, start_date: datetime = NOW - 400 * DAY) -> Verification:
        return verify(state, self.compare, begin=BEGIN, start_date=start_date, verify_days=verify_days)


def test_nothing_changed_costs_one_count():
    check, state = Check(SERVER), {}
    assert check(state) == Verification()
    assert check.server.asked == [Window(MIDNIGHT - 7 * DAY, BEGIN)]
    assert state[SURPLUS_KEY] == {}


def test_a_few_rows_lost_are_narrowed_down_before_they_are_read():
    lost = within(day(3), SERVER)[100:103] + within(Window(MIDNIGHT, BEGIN), SERVER)[7:8]
    found = Check(without(SERVER, lost))({})
    assert found.surplus == {}
    assert all(any(w.start <= s < w.end for w in found.heal) for s in lost)
    assert sum(counter(SERVER)(list(found.heal))) <= 2 * DRILL_ROWS, "not the 1440 rows of a day"
    assert [w.start for w in found.heal] == sorted(w.start for w in found.heal)


def test_a_window_missing_more_than_a_quarter_is_read_whole():
    lost = within(day(2), SERVER)[::2]
    found = Check(without(SERVER, lost))({})
    assert found.heal == (day(2),)


def test_the_verification_reaches_no_further_back_than_verify_days_nor_before_the_start_date():
    too_old = within(day(9), SERVER)[:5]
    assert Check(without(SERVER, too_old))({}) == Verification()
    check = Check(SERVER)
    check({}, start_date=BEGIN - 1.5 * DAY)
    assert check.server.asked == [Window(BEGIN - 1.5 * DAY, BEGIN)]


def test_a_closed_day_holding_rows_the_server_no_longer_has_is_reported_once_and_remembered():
    deleted = within(day(4), SERVER)[:30]
    check, state = Check(SERVER, server=without(SERVER, deleted)), {}
    found = check(state)
    assert found == Verification((), {iso(day(4).start): 30})
    assert state[SURPLUS_KEY] == {iso(day(4).start): 30}
    check.server.asked.clear()
    assert check(state) == Verification(), "known: not reported again"
    assert len(check.server.asked) == 1, "and nothing more than one count"


def test_a_day_with_a_known_surplus_that_then_loses_rows_is_read_whole():
    deleted = within(day(4), SERVER)[:30]
    held = list(SERVER)
    state: dict = {}
    Check(held, server=without(SERVER, deleted))(state)
    late = within(day(4), SERVER)[500:502]
    found = Check(without(held, late), server=without(SERVER, deleted))(state)
    assert found.heal == (day(4),) and found.surplus == {}


def test_a_surplus_is_forgotten_once_its_day_leaves_the_verified_days():
    state = {SURPLUS_KEY: {iso(day(12).start): 4, iso(day(4).start): 2}}
    deleted = within(day(4), SERVER)[:2]
    Check(SERVER, server=without(SERVER, deleted))(state)
    assert state[SURPLUS_KEY] == {iso(day(4).start): 2}


def test_no_verification_forgets_every_surplus():
    state = {SURPLUS_KEY: {iso(day(4).start): 2}}
    check = Check(SERVER)
    assert check(state, verify_days=0) == Verification()
    assert SURPLUS_KEY not in state and check.server.asked == []


def test_a_comparison_keeps_only_the_windows_that_lost_rows_the_open_one_too():
    lost = within(Window(NOW - timedelta(hours=1), None), SERVER)[10:11]
    comparison = Comparison(counter(SERVER), counter(without(SERVER, lost)), NOW)
    whole = [Window(NOW - 2 * DAY, NOW - DAY), Window(NOW - DAY, None)]
    changed = comparison.changed(list(zip(whole, counter(SERVER)(whole), strict=True)))
    assert len(changed) == 1 and changed[0].start <= lost[0] and changed[0].end is None
    assert counter(SERVER)(changed)[0] <= DRILL_ROWS


def test_the_windows_that_lost_rows_come_in_order_whichever_was_narrowed_down():
    early, late = within(day(5), SERVER)[300:301], within(day(2), SERVER)[::2]
    comparison = Comparison(counter(SERVER), counter(without(SERVER, early + late)), NOW)
    changed = comparison.changed(list(zip([day(5), day(2)], counter(SERVER)([day(5), day(2)]), strict=True)))
    assert changed[-1] == day(2) and len(changed) == 2 and changed[0].start <= early[0] < changed[0].end


def test_a_known_surplus_that_grows_reports_what_is_new():
    state: dict = {}
    first, then = within(day(4), SERVER)[:30], within(day(4), SERVER)[30:40]
    Check(SERVER, server=without(SERVER, first))(state)
    found = Check(SERVER, server=without(SERVER, first + then))(state)
    assert found.surplus == {iso(day(4).start): 10} and state[SURPLUS_KEY] == {iso(day(4).start): 40}
