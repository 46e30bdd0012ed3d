"""The `cdr` resource: call records read in bounded date windows with a look-back, exactly once each.

Each run reads in three steps, in this order below: `plan_the_run` (the windows, by the server's
counts against the destination's), `read_the_plan` (the walkers' files, as Arrow tables) and
`conclude_the_run` (the resource state, the lateness seen).

A run reads date windows of at most `window_rows` rows each, up to about `run_rows` rows, and
records in the resource state where the next run continues; `antbot_source/pipeline.py` runs the pipeline
again while `cdr_backlog_pending()` says so. dlt writes state at the end of a run only, so bounding
runs is what lets a killed history load resume without re-reading the windows it already loaded.

Windows are walked side by side by walker processes (fetching and JSON parsing hold the GIL in
parts; processes keep them off the thread that writes for dlt); each window is walked in order.
A run planned to read few rows walks them on threads of this process instead, by the same code.
Walkers hand their rows over in Arrow IPC files, which the resource maps and yields as Arrow tables.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Self

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

import antbot_source
from antbot_source.api.client import AccountSession, AntBotClient, ClientConfig
from antbot_source.api.stats import RequestStats
from antbot_source.destination.held import HeldRows
from antbot_source.health.lateness import LateRows, auto_lookback, conclude
from antbot_source.health.tally import RunTally, TableTally
from antbot_source.resources.cdr.verify import (
    DEFAULT_VERIFY_DAYS,
    Comparison,
    Verification,
    held_counts,
    held_ids,
    verify,
)
from antbot_source.resources.cdr.walk import CdrFile, WalkerOrders, WindowDone, count_rows, serve_connection
from antbot_source.resources.cdr.windows import RunPlan, Window, append_is_safe, plan_run, record_run
from antbot_source.rows.arrow import from_micros
from antbot_source.rows.schema import columns
from antbot_source.settings import DEFAULT_LOOKBACK_HOURS, endpoint

CDR_PATH = endpoint("cdr").path

# A walker imports the client, the page parser and Arrow only (importing the package imports nothing,
# and dlt would cost each walker a second and tens of MB). It finds the package where the parent found
# it (argv[1]). Optional integrations are refused: Arrow imports pandas to inspect any Python value it
# converts and numpy when it can (~11 MB per walker), httpx its command line (rich, pygments, click),
# tenacity tornado; a walker uses none of them.
WALKER_BOOT = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("pandas", "numpy", "rich", "pygments", "click", "tornado"):
            raise ImportError(name + " is kept out of CDR walkers")
sys.meta_path.insert(0, Refuse())
sys.path.insert(0, sys.argv[1])
from antbot_source.resources.cdr.walk import serve
serve(int(sys.argv[2]))
"""


@dataclass(frozen=True)
class CdrTuning:
    """Knobs of the CDR read; the defaults suit a 2-core machine and the service's page size limits."""

    window_rows: int = 50_000  # rows per date window at most (by the server's count when planning)
    run_rows: int = 2_000_000  # rows per pipeline run at most (then the state is committed)
    workers: int = 2  # walker processes (the server and dlt need the rest of a 2-core machine)
    # requests in flight at most, windows walked side by side on threads of the walkers: a far-away
    # service answers a page in 100 ms or more, and 8 in flight fill a throttle of 50 requests a
    # second there without queueing at it; on a near one the walkers' CPU is the limit anyway
    concurrency: int = 8
    file_rows: int = 20_000  # rows per Arrow file a walker writes (and per table handed to dlt)
    max_rewalks: int = 2  # walks of a window again while the server counts rows not seen
    # a run planned to read at most this many rows walks them on threads of this process: booting a
    # walker process costs about 0.3 s of CPU, more than walking that many rows
    in_process_rows: int = 20_000


@dataclass(frozen=True)
class CdrSettings:
    """What a run of `cdr` is asked to read (the arguments of `cdr_resource`)."""

    start_date: datetime
    lookback: timedelta | None  # None: the automatic look-back (health.lateness)
    verify_days: int
    since: datetime | None
    until: datetime | None
    knobs: CdrTuning

    @property
    def live(self) -> bool:
        """True unless a `since`/`until` range is backfilled."""
        return self.since is None and self.until is None


@dataclass(frozen=True)
class PlannedRun:
    """What `plan_the_run` decided: the windows, and what the run concludes with once they are read."""

    plan: RunPlan
    cursor: datetime | None  # the live cursor before the run (None: nothing to measure lateness against)
    lookback: timedelta
    surplus: dict[str, int]  # closed days the verification found holding rows the server no longer has
    append: bool  # nothing read can already be at the destination: appended, not merged


@dataclass(frozen=True)
class ReadPlan:
    """What `read_the_plan` saw: the newest `starting_date` read, and the rows that arrived late."""

    newest: datetime | None
    late: LateRows


def cdr_resource(
    account: AccountSession,
    *,
    start_date: datetime,
    lookback: timedelta | None = timedelta(hours=DEFAULT_LOOKBACK_HOURS),
    verify_days: int = DEFAULT_VERIFY_DAYS,
    since: datetime | None = None,
    until: datetime | None = None,
    held: HeldRows,
    tally: RunTally,
    **tuning: Any,
) -> DltResource:
    """The `cdr` resource (merge on `id`; append while it loads a range nothing was loaded into yet).

    Live runs start `lookback` behind the cursor (`starting_date`) to catch rows written late (None:
    the automatic look-back, `health.lateness`), read only the windows whose count at the server
    differs from the destination's, and verify the `verify_days` days behind the look-back
    (`verify`); `since`/`until` backfill a range without moving the live cursor. `held`: the destination
    compared with; `tally`: the run's, where its requests and lateness are counted. `tuning`: see CdrTuning.
    A run plans (`plan_the_run`), reads what it planned (`read_the_plan`) and concludes (`conclude_the_run`).
    """
    settings = CdrSettings(start_date, lookback, verify_days, since, until, CdrTuning(**tuning))

    @dlt.resource(
        name="cdr",
        primary_key="id",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=columns("cdr"),
    )
    def cdr() -> Iterator[pa.Table]:
        state, now, table = dlt.current.resource_state(), datetime.now(UTC), tally.table("cdr")
        with run_walkers(account, settings.knobs, Path(dlt.current.pipeline().working_dir), table.stats) as walkers:
            planned = plan_the_run(account, state, settings, now, walkers, held, table.stats)
            read = yield from read_the_plan(planned, walkers, held, table.stats)
        conclude_the_run(state, settings, planned, read, table, now)

    return cdr


def plan_the_run(account: AccountSession, state: dict[str, Any], settings: CdrSettings, now: datetime, walkers: Walkers,
                 held: HeldRows, stats: RequestStats) -> PlannedRun:
    """The windows this run reads, by the server's counts: a live run compares them with the
    destination's and verifies the days behind its look-back; a run sure to read more than the walkers
    of this process take starts the walker processes as soon as a count says so, as they boot while it
    counts on."""
    knobs = settings.knobs
    cursor = datetime.fromisoformat(state["cursor"]) if settings.live and state.get("cursor") else None
    lookback = settings.lookback if settings.lookback is not None else auto_lookback(state, now)
    with account.connect() as plain, ThreadPoolExecutor(knobs.concurrency) as pool:
        count = partial(count_windows, pool, plain.counted(stats))
        # a state that never loaded anything (a first load, or one refreshed: dlt drops the tables
        # only when it loads) says nothing the destination holds may be trusted
        compare = Comparison(count, partial(held_counts, held), now) if settings.live and state.get("loaded_until") else None
        if compare is None:  # nothing to compare with: this run reads what it counts
            count = partial(count_and_start, count, walkers)
        plan = plan_run(
            state, start_date=settings.start_date, lookback=lookback, now=now, count=count,
            window_rows=knobs.window_rows, run_rows=knobs.run_rows, since=settings.since, until=settings.until,
            parallel=knobs.concurrency, compare=compare,
        )
        found = Verification()
        if not plan.live:  # a backfill of history older than the live read's: no lateness to see
            cursor = None
        elif compare is not None and cursor is not None and plan.resume_from is None and plan.start:
            found = verify(state, compare, begin=plan.start, start_date=settings.start_date,
                           verify_days=settings.verify_days)
            plan = dataclasses.replace(plan, windows=found.heal + plan.windows)
    return PlannedRun(plan, cursor, lookback, found.surplus, append_is_safe(state, plan))


def count_windows(pool: ThreadPoolExecutor, client: AntBotClient, windows: list[Window]) -> list[int]:
    """The server's count of each window, counted side by side on `pool`."""
    return list(pool.map(lambda w: count_rows(client, CDR_PATH, w), windows))


def count_and_start(count: Callable[[list[Window]], list[int]], walkers: Walkers, windows: list[Window]) -> list[int]:
    """`count(windows)`, starting the walker processes once the windows counted hold more rows than a
    read on threads of this process takes (a run that reads whatever it counts)."""
    counts = count(windows)
    if sum(counts) > walkers.in_process_rows:
        walkers.start()
    return counts


def read_the_plan(planned: PlannedRun, walkers: Walkers, held: HeldRows,
                  stats: RequestStats) -> Generator[pa.Table, None, ReadPlan]:
    """The CDRs of every planned window, as Arrow tables (hinted `append` when that is safe), watched for
    rows that arrived late; returns what it saw."""
    plan, cursor = planned.plan, planned.cursor
    late = LateRows(cursor, plan.start, held_ids(held, [w for w in plan.windows if cursor and w.start < cursor]))
    hints = dlt.mark.make_hints(write_disposition="append") if planned.append else None
    newest: int | None = None
    for part in walkers.read(plan, stats):
        if part.newest is not None and (newest is None or part.newest > newest):
            newest = part.newest
        table = pa.ipc.open_file(pa.memory_map(part.path)).read_all()
        os.remove(part.path)  # the mapping keeps the data until the table is gone
        late.observe(table)
        yield dlt.mark.with_hints(table, hints) if hints else table
    return ReadPlan(None if newest is None else from_micros(newest), late)


def conclude_the_run(state: dict[str, Any], settings: CdrSettings, planned: PlannedRun, read: ReadPlan,
                     tally: TableTally, now: datetime) -> None:
    """Record in the resource state where the next run continues; a live run also tallies the
    lateness it saw (and remembers it for the automatic look-back)."""
    record_run(state, planned.plan, read.newest)
    if planned.plan.live:
        conclude(tally, state, read.late, now=now, lookback=planned.lookback, auto=settings.lookback is None,
                 cursor_before=planned.cursor, surplus=planned.surplus)


@contextmanager
def run_walkers(account: AccountSession, knobs: CdrTuning, working_dir: Path, stats: RequestStats) -> Iterator[Walkers]:
    """The walkers of one run (not started yet), their files' directory and the budget they share."""
    with (files_dir(working_dir) as out_dir, shared_budget(account, out_dir, stats) as run_config,
          Walkers(run_config, knobs, out_dir) as walkers):
        yield walkers


@contextmanager
def files_dir(working_dir: Path) -> Iterator[str]:
    """The walkers' directory for their files, in the pipeline's working dir where dlt keeps its own;
    emptied first, as a killed run leaves its files behind."""
    path = working_dir / "cdr_files"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield str(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def shared_budget(account: AccountSession, out_dir: str, stats: RequestStats) -> Iterator[ClientConfig]:
    """The account's request budget (api/budget.py) in a file the walkers map, so that this process's
    readers of every table and every walker take turns from one budget file; yields the config walkers
    get, which names it and hands them this process's token (a login each would cost a request)."""
    with account.budget.shared(Path(out_dir) / "budget") as path:
        with account.connect() as client:
            token = client.counted(stats).token()
        yield dataclasses.replace(account.config, budget_path=path, access_token=token)


def cdr_backlog_pending(pipeline: dlt.Pipeline) -> bool:
    """True when the last run of `cdr` stopped with windows left: run the pipeline again to go on."""
    for source_state in pipeline.state.get("sources", {}).values():
        if source_state.get("resources", {}).get("cdr", {}).get("pending"):
            return True
    return False


def read_windows(config: ClientConfig, plan: RunPlan, knobs: CdrTuning, out_dir: str,
                 stats: RequestStats | None = None) -> Iterator[CdrFile]:
    """The CDRs of every window of `plan` as Arrow files in `out_dir` of about `file_rows` rows, each row
    once (by walkers of their own); what the walks cost is added to `stats`."""
    with Walkers(config, knobs, out_dir) as walkers:
        yield from walkers.read(plan, stats)


class Walkers:
    """The walkers of a run: processes, started when first needed or ahead (`start`), or for a run
    planned to read at most `in_process_rows` rows one walker on threads of this process; stopped on exit.

    Each walks `threads` windows side by side (the concurrency shared out between walkers) and is
    kept one window deeper, so that it never waits for its next one.
    """

    def __init__(self, config: ClientConfig, knobs: CdrTuning, out_dir: str):
        self.config = config
        self.count = min(knobs.workers, knobs.concurrency)
        self.threads = -(-knobs.concurrency // self.count)
        self.in_process_rows = knobs.in_process_rows
        self.orders = WalkerOrders(config, CDR_PATH, knobs.max_rewalks, out_dir, knobs.file_rows, self.threads)
        self._stack = ExitStack()
        self.conns: list[Connection] = []

    def start(self, count: int | None = None) -> None:
        """Start walker processes up to `count` (all by default): one takes a good part of a second to boot,
        so a run sure to read many rows starts them while it plans its windows."""
        while len(self.conns) < min(count or self.count, self.count):
            self.conns.append(self._stack.enter_context(_Walker(self.orders)).conn)

    def read(self, plan: RunPlan, stats: RequestStats | None = None) -> Iterator[CdrFile]:
        """The files of every window of `plan`, as the walkers write them."""
        if not plan.windows:
            return
        todo = deque(plan.walk_order())
        planned = plan.planned_rows
        if not self.conns and planned is not None and planned <= self.in_process_rows:
            self.conns.append(self._stack.enter_context(_WalkerThread(self.orders)).conn)
        else:
            self.start(len(todo))
        busy = dict.fromkeys(self.conns, 0)
        for conn in busy:
            for _ in range(self.threads + 1):
                if todo:
                    conn.send(todo.popleft())
                    busy[conn] += 1
        while any(busy.values()):
            for conn in wait([c for c, n in busy.items() if n]):
                item = conn.recv()  # EOFError when a walker died
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, WindowDone):
                    if stats is not None:
                        stats.merge(item.stats)
                    busy[conn] -= 1
                    if todo:
                        conn.send(todo.popleft())
                        busy[conn] += 1
                else:
                    yield item

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.__exit__(*exc_info)


class _Walker:
    """One walker process (antbot_source.resources.cdr.walk.serve) and its connection; stopped on exit."""

    def __init__(self, orders: WalkerOrders):
        self.conn, theirs = Pipe()
        package_root = str(Path(antbot_source.__file__).resolve().parent.parent)
        self.process = subprocess.Popen(
            [sys.executable, "-c", WALKER_BOOT, package_root, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
            # the system allocator gives freed Arrow buffers back at once; the default one keeps them
            env={"ARROW_DEFAULT_MEMORY_POOL": "system", **os.environ},
        )
        theirs.close()
        self.conn.send(orders)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.conn.send(None)
        else:
            self.process.kill()
        self.conn.close()
        self.process.wait()


class _WalkerThread:
    """One walker on a thread of this process (walk.serve_connection) and its connection; on exit it is
    told to stop, and its walks end at their next page."""

    def __init__(self, orders: WalkerOrders):
        # pyarrow imports pandas at its first conversion of Python values: here, on the thread that hands
        # rows to dlt, which would otherwise take a pandas a walker thread is still importing (rows/arrow.py)
        pa.array([0])
        self.conn, theirs = Pipe()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=_serve_thread, args=(theirs, self.stop), name="cdr-walker", daemon=True)
        self.thread.start()
        self.conn.send(orders)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.conn.send(None)
            self.thread.join()
        else:
            self.stop.set()
        self.conn.close()


def _serve_thread(conn: Connection, stop: threading.Event) -> None:
    with conn:
        serve_connection(conn, stop)
