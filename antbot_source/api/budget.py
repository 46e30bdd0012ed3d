"""One request budget per account: every request of a run, in every thread and walker process, waits
for it.

AntBot throttles each user (Django REST Framework: N requests per S seconds, a sliding window, then
429 with `Retry-After`), and the dialer's operators spend the same budget. So a run keeps one
`BudgetFile` per account: its threads share it in memory, its walker processes map it from a file
(`RequestBudget.shared`), and every request takes its turn from it:

- until the first 429 nothing waits: a backfill fills the throttle's window as fast as its requests
  in flight go;
- the first 429 pauses everyone until its `Retry-After`, and the throttle's rate is learned from it
  (`BudgetFile.learned_rate`: what the server granted over the span its window holds);
- when a pause ends one request goes alone and the others wait for its answer, then the pace climbs
  from a tenth of the rate to all of it over RAMP_S: a sliding window frees its slots as unevenly
  as they were spent, and a 429 meanwhile pauses everyone again (no retry storm at a pause's end);
- requests are spaced at the rate by pyrate-limiter's GCRA, whose one number of state (the
  theoretical arrival time) lives in the budget file, so threads and processes take turns instead of
  each pacing itself at a guessed share;
- a later 429 lowers the rate by a tenth (at most once a second) and only its own request waits;
  every RAISE_EVERY_S without one raises it, slowly just after a 429 and faster the longer none
  comes, so the pace follows what the server grants (it falls when the dialer's operators spend
  more, and climbs back when they stop) and 429s stay rare;
- `max_requests_per_second` (SOURCES__ANTBOT__MAX_REQUESTS_PER_SECOND) caps the run's rate from its
  first request, for accounts that must leave headroom to the dialer's users.
"""

from __future__ import annotations

import mmap
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import NamedTuple, Protocol

from filelock import FileLock
from pyrate_limiter import GCRA, Rate
from pyrate_limiter.abstracts.algorithm import Decision, StateAlgorithm
from pyrate_limiter.abstracts.store import StateStore

LEARN_WINDOW_S = 60
RAISE_EVERY_S = 2.0
# the pace climbs at each rate increase, by 1 % at the first after a 429 and twice as much at each next one
# (10 % at most), and falls by a tenth at a 429: near the throttle's rate it climbs back slowly (a 429
# costs the requests in flight with it), far below it (the dialer's users stopped) it climbs fast
FIRST_GAIN, MAX_GAIN = 0.01, 0.10
BACK_OFF = 0.9
# after a pause one request goes alone, and the rest wait for its answer this long at most
TRIAL_TIMEOUT_S = 5.0
TRIAL_POLL_S = 0.01
# once it was granted the pace climbs from a tenth of the rate to all of it over this long: a sliding
# window frees its slots as unevenly as they were spent, and a 429 meanwhile pauses everyone again
RAMP_S = 1.0
_HEAD = struct.Struct("=dddddddq")  # a Head
# then, for each second of the last LEARN_WINDOW_S: (epoch second, requests granted in it)
_SECOND = struct.Struct("=qq")
_SIZE = _HEAD.size + _SECOND.size * LEARN_WINDOW_S


class Head(NamedTuple):
    """The budget file's first numbers (times in epoch seconds)."""

    pause: float  # nobody sends before this
    rate: float  # requests a second learned from the throttle (0: no 429 yet)
    last_429: float
    last_raise: float  # the last time the rate was raised
    first_grant: float  # the first request the server granted
    trial: float  # after a pause: -1 until one request goes alone, then when it went, 0 once it was granted
    resumed: float  # when the last one that went alone was granted
    tat: int  # GCRA's theoretical arrival time (epoch microseconds)


class BudgetFile(StateStore):
    """The budget's numbers, in anonymous memory (one process) or a file its walker processes map.

    Also the GCRA state store: `check` reads, steps and writes the arrival time under the budget file's
    locks (a thread lock, and between processes an flock on `<path>.lock`)."""

    def __init__(self, path: str | None = None):
        self.path = path
        self._thread_lock = threading.Lock()
        if path is None:
            self._map = mmap.mmap(-1, _SIZE)
            self._file_lock: FileLock | None = None
        else:
            with open(path, "r+b") as handle:
                self._map = mmap.mmap(handle.fileno(), _SIZE)
            self._file_lock = FileLock(path + ".lock", thread_local=False)  # threads queue on the thread lock

    @classmethod
    def create(cls, path: str | Path, copy_of: BudgetFile) -> BudgetFile:
        """A budget file at `path` holding what `copy_of` holds now."""
        Path(path).write_bytes(bytes(copy_of._map[:]))
        return cls(str(path))

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._thread_lock, self._file_lock or nullcontext():
            yield

    def head(self) -> Head:
        return Head(*_HEAD.unpack_from(self._map, 0))

    def set_head(self, head: Head) -> None:
        _HEAD.pack_into(self._map, 0, *head)

    def grant(self, now: float) -> None:
        """Count one granted request in the second it was answered. Not under the file lock: that
        would cost every request an flock, and a count two processes lose only lowers a learned rate."""
        second = int(now)
        offset = _HEAD.size + _SECOND.size * (second % LEARN_WINDOW_S)
        with self._thread_lock:
            if not self.head().first_grant:
                self.set_head(self.head()._replace(first_grant=now))
            stamp, count = _SECOND.unpack_from(self._map, offset)
            _SECOND.pack_into(self._map, offset, second, count + 1 if stamp == second else 1)
        if self.head().trial > 0:  # the request that went alone after a pause (those before it have answered)
            with self.locked():  # the window has room again: the others may go
                if self.head().trial > 0:
                    self.set_head(self.head()._replace(trial=0.0, resumed=now))

    def learned_rate(self, first_grant: float, now: float, wait: float) -> float:
        """The throttle's rate, its N / S, at its first 429 (`wait`: its Retry-After, rounded up to whole
        seconds by the server, so the estimate errs low).

        The server's window then holds N requests, the oldest of which leaves it in `wait`: had the
        window begun at second k, it held what was granted since k and lasts now - k + wait. The window
        began where that ratio is highest: a start before it adds a lull, or requests no longer
        counted, to the span; a start after it leaves out requests the window still holds."""
        seconds = [_SECOND.unpack_from(self._map, _HEAD.size + _SECOND.size * i) for i in range(LEARN_WINDOW_S)]
        counts = dict(seconds)
        granted, best = 0, 0.0
        for second in range(int(now), max(int(first_grant), int(now) - LEARN_WINDOW_S + 1) - 1, -1):
            granted += counts.get(second, 0)
            best = max(best, granted / (now - second + wait))
        return best

    def replace_with(self, other: BudgetFile) -> None:
        self._map[:] = other._map[:]

    # -- pyrate-limiter's StateStore: GCRA's one number of state, the theoretical arrival time ----
    def check(self, algorithm: StateAlgorithm, rates: list[Rate], now: int, weight: int) -> Decision:
        with self.locked():
            head = self.head()
            state, decision = algorithm.step(rates, (head.tat,), now, weight)
            if decision.allowed:
                self.set_head(head._replace(tat=int(state[0])))
            return decision

    def read(self, algorithm: StateAlgorithm, rates: list[Rate]) -> tuple[int]:
        return (self.head().tat,)

    def reset(self) -> None:
        self.set_head(self.head()._replace(tat=0))


class Clock(Protocol):
    """Where the budget reads the time and waits: the `time` module, or a test's clock."""

    def time(self) -> float: ...

    def sleep(self, seconds: float, /) -> None: ...


class RequestBudget:
    """What the requests of one account wait for: the budget file's pause and its learned or set rate."""

    def __init__(self, max_per_second: float | None = None, clock: Clock = time):
        self._cap = max_per_second
        self._clock = clock
        self.file = BudgetFile()
        self._gcra = GCRA()
        self.throttled = 0  # 429s seen by this process

    @contextmanager
    def shared(self, path: str | Path) -> Iterator[str]:
        """Move the budget file to a file at `path` that walker processes map (`attach`) while this lasts;
        yields the path to give them. Afterwards the budget file is this process's own again."""
        mine = self.file
        self.file = BudgetFile.create(path, mine)
        try:
            yield str(path)
        finally:
            with self.file.locked():
                mine.replace_with(self.file)
            # not closed: the requests of other tables in flight may still hold it (the collector unmaps it)
            self.file = mine

    def attach(self, path: str) -> None:
        """Take turns from the budget file of the run that started this (walker) process."""
        if self.file.path != path:
            self.file = BudgetFile(path)

    def _rate(self, learned: float) -> float | None:
        rates = [r for r in (learned or None, self._cap) if r]
        return min(rates) if rates else None

    def wait(self) -> None:
        """Block until a request may be sent."""
        file = self.file
        while True:
            head, now = file.head(), self._clock.time()
            if head.pause > now:
                self._clock.sleep(head.pause - now)
                continue
            if head.trial:
                if head.trial < 0 or now - head.trial > TRIAL_TIMEOUT_S:
                    with file.locked():  # the first to come after the pause goes alone
                        head = file.head()
                        if head.trial < 0 or now - head.trial > TRIAL_TIMEOUT_S:
                            file.set_head(head._replace(trial=now))
                            return
                else:  # a sliding window frees its slots as unevenly as they were spent: wait for its answer
                    self._clock.sleep(TRIAL_POLL_S)
                continue
            if head.rate and now - max(head.last_429, head.last_raise) > RAISE_EVERY_S:
                with file.locked():  # no 429 for a while: ask for more
                    head = file.head()
                    if now - max(head.last_429, head.last_raise) > RAISE_EVERY_S:
                        raises = min(int((now - head.last_429) / RAISE_EVERY_S), 8)
                        gain = min(MAX_GAIN, FIRST_GAIN * 2 ** max(raises - 1, 0))
                        head = head._replace(rate=head.rate * (1 + gain), last_raise=now)
                        file.set_head(head)
            rate = self._rate(head.rate)
            if rate is None:
                return
            if now - head.resumed < RAMP_S:
                rate *= max(0.1, (now - head.resumed) / RAMP_S)
            # no burst: after a pause or a lull the requests queued behind it go one by one at the rate
            spacing = Rate(max(1, round(rate * 100)), 100_000, burst=1)
            decision = file.check(self._gcra, [spacing], int(now * 1000), 1)
            if decision.allowed:
                return
            self._clock.sleep((decision.retry_after_ms or 1) / 1000)

    def answered(self, status: int, retry_after: float | None) -> None:
        """Learn from an answer. The first 429 of the run pauses everyone until its `Retry-After` and
        sets the rate the throttle's answers reveal, as does a 429 to the request that went alone after
        a pause; a later one lowers the rate by a tenth (at most once a second), and only the refused
        request waits."""
        now = self._clock.time()
        file = self.file
        if status != 429:
            file.grant(now)
            return
        self.throttled += 1
        wait = retry_after if retry_after is not None else 1.0
        with file.locked():
            head = file.head()
            if not head.rate or head.trial > 0 or now - head.resumed < RAMP_S:  # the first, or the window is still full
                rate = head.rate or file.learned_rate(head.first_grant or now, now, max(wait, 0.5))
                pause = max(head.pause, now + wait)
                # one request goes when the pause ends; the pacing starts when it is granted
                head = head._replace(pause=pause, trial=-1.0, tat=max(head.tat, int(pause * 1_000_000)))
            elif now - head.last_429 >= 1.0:
                rate = head.rate * BACK_OFF
            else:
                return
            file.set_head(head._replace(rate=max(1.0, rate), last_429=now))
