"""One request budget per account: every request of a run, in every thread and walker process, waits
for it.

AntBot throttles each user (Django REST Framework: N requests per period, then 429 with
`Retry-After`), and the dialer's operators spend the same budget. So:

- a pause is kept in a small mapped file that the run's walker processes share (`pause_path`),
  and threads of a process share it;
- the first 429 pauses everyone until its `Retry-After`, and the throttle's rate is learned from
  it: what the server granted since the first request (its N) over that time plus `Retry-After`
  (its period S). From then on the process paces itself at that rate (a moving-window limiter of
  the `limits` library); each later 429 lowers the pace by a tenth and only its own request waits,
  and every PROBE_EVERY_S without one raises it by 5 %, so the pace follows what the server grants
  and 429s stay rare;
- `max_requests_per_second` (SOURCES__ANTBOT__MAX_REQUESTS_PER_SECOND) caps the rate for accounts
  that must leave headroom to the dialer's users, split evenly between the processes of a run.
"""

from __future__ import annotations

import mmap
import struct
import threading
import time
from collections import deque
from pathlib import Path

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

LEARN_WINDOW_S = 60.0
PROBE_EVERY_S = 2.0
_CELL = struct.Struct("d")  # the shared pause: the epoch second until which nobody sends


class SharedPause:
    """An 8-byte file mapped by every process of a run: 'nobody sends before this moment' (epoch s).

    A file in the run's directory rather than `multiprocessing.shared_memory`, whose resource tracker
    would unlink the segment when the first walker exits (Python 3.11)."""

    def __init__(self, path: str | Path, *, create: bool = False):
        self.path = str(path)
        if create:
            Path(self.path).write_bytes(_CELL.pack(0.0))
        with open(self.path, "r+b") as handle:
            self._map = mmap.mmap(handle.fileno(), _CELL.size)

    def until(self) -> float:
        return _CELL.unpack_from(self._map, 0)[0]

    def extend(self, moment: float) -> None:
        if moment > self.until():  # a race only ever loses the shorter of two pauses
            _CELL.pack_into(self._map, 0, moment)

    def close(self) -> None:
        self._map.close()


class RequestBudget:
    """What a process's requests to one account wait for: the shared pause and the learned or set rate."""

    def __init__(self, max_per_second: float | None = None, processes: int = 1):
        self._cap = max_per_second / max(processes, 1) if max_per_second else None
        self._rate = self._cap
        self.pause: SharedPause | None = None  # the run's shared pause, while a CDR read runs
        self._local_pause = 0.0
        self._granted: deque[float] = deque()
        self._last_429 = 0.0
        self._learned: float | None = None  # the pace learned from 429s (None: no 429 yet)
        self._lock = threading.Lock()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self.throttled = 0  # 429s seen by this process

    def _paused_until(self) -> float:
        return max(self._local_pause, pause.until() if (pause := self.pause) else 0.0)

    def wait(self) -> None:
        """Block until a request may be sent."""
        while (delay := self._paused_until() - time.time()) > 0:
            time.sleep(delay)
        while True:
            with self._lock:
                self._grow()
                rate = self._rate
            if rate is None:
                return
            item = RateLimitItemPerSecond(max(1, int(rate)))
            if self._limiter.hit(item, "budget"):
                return
            reset = self._limiter.get_window_stats(item, "budget").reset_time
            time.sleep(min(max(reset - time.time(), 0.005), 1.0))

    def answered(self, status: int, retry_after: float | None) -> None:
        """Learn from an answer. The first 429 pauses everyone until its `Retry-After` (the run was
        not pacing yet) and sets the pace at the throttle's rate as the answer reveals it; a later one
        lowers the pace by a tenth (at most once a second), and only the refused request waits."""
        now = time.time()
        pause = None
        with self._lock:
            if status != 429:
                self._granted.append(now)
                while self._granted and self._granted[0] < now - LEARN_WINDOW_S:
                    self._granted.popleft()
                return
            self.throttled += 1
            wait = retry_after if retry_after is not None else 1.0
            if self._learned is None:
                # a sliding window of N requests per S seconds refused us: what it granted since our
                # first request (N, if we are its only user) over the time until it frees (S)
                span = min(LEARN_WINDOW_S, now - self._granted[0]) if self._granted else LEARN_WINDOW_S
                self._learned = len(self._granted) / (span + wait)
                pause = now + wait
                self._local_pause = max(self._local_pause, pause)
            elif now - self._last_429 >= 1.0:
                self._learned *= 0.9
            self._learned = max(1.0, self._learned)
            self._last_429 = now
            self._rate = min(self._learned, self._cap) if self._cap else self._learned
        if pause is not None and (shared := self.pause) is not None:
            shared.extend(pause)

    def _grow(self) -> None:
        """Without a 429 for PROBE_EVERY_S, ask for 5 % more (never above the configured cap)."""
        now = time.time()
        if self._learned is not None and now - self._last_429 > PROBE_EVERY_S:
            self._learned *= 1.05
            self._rate = min(self._learned, self._cap) if self._cap else self._learned
            self._last_429 = now
