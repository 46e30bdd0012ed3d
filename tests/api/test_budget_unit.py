"""The request budget (api/budget.py) on a test's clock: the cap, the pause at the first 429 and the rate
it learns, the request that goes alone after a pause, the ramp, the back-off and the rate increase."""

from __future__ import annotations

import itertools

from antbot_source.api.budget import (
    BACK_OFF,
    FIRST_GAIN,
    LEARN_WINDOW_S,
    MAX_GAIN,
    RAISE_EVERY_S,
    RAMP_S,
    TRIAL_TIMEOUT_S,
    RequestBudget,
)

EPOCH = 1_700_000_000.0


class Clock:
    """Time that passes only when the budget sleeps, or the test says so."""

    def __init__(self) -> None:
        self.now = EPOCH

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float, /) -> None:
        assert seconds >= 0
        self.now += seconds


def sends(budget: RequestBudget, clock: Clock, requests: int, status: int = 200) -> list[float]:
    """When each of `requests` requests in a row was let go, each answered at once with `status`."""
    times = []
    for _ in range(requests):
        budget.wait()
        times.append(clock.now)
        budget.answered(status, None)
    return times


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


def throttled_at(rate: float, cap: float | None = None) -> tuple[RequestBudget, Clock]:
    """A budget that learned `rate` at a first 429, whose pace has since ramped up, and that just saw a
    later 429 (so its next rate increase is the first after a 429)."""
    clock = Clock()
    budget = RequestBudget(cap, clock=clock)
    budget.answered(429, 1.0)
    budget.file.set_head(budget.file.head()._replace(rate=rate / BACK_OFF))
    sends(budget, clock, 1)  # the request that goes alone after the pause, granted
    clock.sleep(RAMP_S)
    budget.answered(429, 1.0)
    assert abs(budget.file.head().rate - rate) < 1e-9
    return budget, clock


def test_without_a_cap_or_a_429_nothing_waits():
    clock = Clock()
    budget = RequestBudget(clock=clock)
    assert sends(budget, clock, 500) == [EPOCH] * 500


def test_a_cap_spaces_every_request_at_its_rate_from_the_first():
    clock = Clock()
    budget = RequestBudget(10.0, clock=clock)
    times = sends(budget, clock, 50)
    assert times[0] == EPOCH
    assert all(abs(gap - 0.1) < 0.002 for gap in gaps(times)), "no burst, no request early"


def test_the_first_429_pauses_everyone_until_its_retry_after():
    clock = Clock()
    budget = RequestBudget(clock=clock)
    sends(budget, clock, 30)
    budget.answered(429, 2.0)
    assert budget.throttled == 1
    budget.wait()
    assert clock.now == EPOCH + 2.0


def test_the_first_429_learns_the_throttles_rate_from_what_its_window_granted():
    clock = Clock()
    budget = RequestBudget(clock=clock)
    sends(budget, clock, 10)
    clock.sleep(10.0)  # a lull: not part of the window the 429 speaks of
    sends(budget, clock, 40)  # a throttle of 40 requests per 4 s: the 41st is refused until the 1st leaves
    budget.answered(429, 4.0)
    assert budget.file.head().rate == 10.0


def test_requests_granted_longer_ago_than_the_memory_count_for_nothing():
    clock = Clock()
    budget = RequestBudget(clock=clock)
    sends(budget, clock, 30)
    clock.sleep(float(LEARN_WINDOW_S))  # the same second of the next minute
    sends(budget, clock, 20)
    budget.answered(429, 2.0)
    assert budget.file.head().rate == 10.0


def test_a_rate_learned_over_a_steady_pace_errs_low_never_high():
    clock = Clock()
    budget = RequestBudget(clock=clock)
    for _ in range(50):  # the server grants 10 a second for 5 s
        sends(budget, clock, 1)
        clock.sleep(0.1)
    budget.answered(429, 2.0)  # Retry-After is rounded up to whole seconds
    assert 7.0 < budget.file.head().rate <= 10.0


def test_after_a_pause_one_request_goes_alone_and_the_others_wait_for_its_answer():
    clock = Clock()
    budget = RequestBudget(clock=clock)
    budget.answered(429, 1.0)
    budget.wait()
    trial_at = clock.now
    assert trial_at == EPOCH + 1.0
    budget.wait()  # unanswered: the next goes only when the trial is given up for lost
    assert clock.now - trial_at > TRIAL_TIMEOUT_S
    budget.answered(200, None)
    resumed_at = clock.now
    budget.wait()
    assert clock.now == resumed_at, "the trial's answer lets the others go"


def test_a_429_to_the_request_alone_pauses_everyone_again():
    clock = Clock()
    budget = RequestBudget(clock=clock)
    budget.answered(429, 1.0)
    budget.wait()
    budget.answered(429, 3.0)
    refused_at = clock.now
    budget.wait()
    assert clock.now == refused_at + 3.0


def test_after_a_pause_the_pace_climbs_from_a_tenth_of_the_rate():
    clock = Clock()
    budget = RequestBudget(clock=clock)
    budget.answered(429, 1.0)
    budget.file.set_head(budget.file.head()._replace(rate=20.0))
    sends(budget, clock, 1)
    spacing = gaps(sends(budget, clock, 30))
    assert spacing[0] > 0.3, "just after the trial: near a tenth of 20 a second"
    assert spacing == sorted(spacing, reverse=True), "the pace only climbs"
    assert abs(spacing[-1] - 1 / 20) < 0.002, "after the ramp: the rate"


def test_a_later_429_lowers_the_rate_by_a_tenth_at_most_once_a_second_and_pauses_nobody():
    budget, clock = throttled_at(20.0)
    clock.sleep(0.5)
    budget.answered(429, 5.0)
    assert abs(budget.file.head().rate - 20.0) < 1e-9, "a burst of 429s is one back-off"
    before = clock.now
    budget.wait()
    assert clock.now - before < 1.0, "no pause for Retry-After"
    clock.sleep(0.5)
    budget.answered(429, 5.0)
    assert abs(budget.file.head().rate - 20.0 * BACK_OFF) < 1e-9


def test_without_a_429_the_rate_rises_every_few_seconds_faster_and_faster_to_a_bound():
    budget, clock = throttled_at(20.0)
    rates = [budget.file.head().rate]
    for _ in range(8):
        clock.sleep(RAISE_EVERY_S + 0.01)
        budget.wait()
        rates.append(budget.file.head().rate)
    gains = [round(b / a - 1, 6) for a, b in itertools.pairwise(rates)]
    assert gains[:2] == [FIRST_GAIN, 2 * FIRST_GAIN], "slowly just after a 429"
    assert gains == sorted(gains) and gains[-1] == MAX_GAIN


def test_the_rate_rises_at_most_every_raise_every_s():
    budget, clock = throttled_at(20.0)
    clock.sleep(RAISE_EVERY_S + 0.01)
    budget.wait()
    raised = budget.file.head().rate
    assert raised > 20.0
    clock.sleep(RAISE_EVERY_S / 2)
    budget.wait()
    assert budget.file.head().rate == raised


def test_the_cap_holds_under_a_learned_rate_above_it():
    budget, clock = throttled_at(50.0, cap=5.0)
    assert all(abs(gap - 0.2) < 0.002 for gap in gaps(sends(budget, clock, 10)))


def test_a_budget_file_shared_with_a_walker_pauses_both(tmp_path):
    clock = Clock()
    run, walker = RequestBudget(clock=clock), RequestBudget(clock=clock)
    with run.shared(tmp_path / "budget") as path:
        walker.attach(path)
        walker.answered(429, 4.0)
        run.wait()
        assert clock.now == EPOCH + 4.0, "the walker's 429 pauses the run's requests"
    assert run.file.head().pause == EPOCH + 4.0, "the run keeps what its walkers learned"
