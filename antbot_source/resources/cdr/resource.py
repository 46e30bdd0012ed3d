"""The `cdr` resource: call records read in bounded date windows with a look-back, exactly once each.

A run reads date windows of at most `window_rows` rows each, up to about `run_rows` rows, and
records in the resource state where the next run continues; `antbot_source/pipeline.py` runs the pipeline
again while `cdr_backlog_pending()` says so. dlt writes state at the end of a run only, so bounding
runs is what lets a killed history load resume without re-reading the windows it already loaded.

Windows are walked side by side by walker processes (fetching and JSON parsing hold the GIL in
parts; processes keep them off the thread that writes for dlt); each window is walked in order.
Walkers hand their rows over in Arrow IPC files, which the resource maps and yields as Arrow tables.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Self

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

import antbot_source
from antbot_source.api.client import AntBotClient, ClientConfig, budget_of
from antbot_source.api.stats import RequestStats
from antbot_source.health.lateness import LateRows, auto_lookback, conclude
from antbot_source.health.tally import table_tally
from antbot_source.resources.cdr.typed_pages import from_micros
from antbot_source.resources.cdr.verify import (
    DEFAULT_VERIFY_DAYS,
    Comparison,
    Verification,
    held_counts,
    held_ids,
    verify,
)
from antbot_source.resources.cdr.walk import CdrFile, WalkerOrders, WindowDone, count_rows
from antbot_source.resources.cdr.windows import RunPlan, Window, append_is_safe, plan_run, record_run
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


def cdr_resource(
    config: ClientConfig,
    *,
    start_date: datetime,
    lookback: timedelta | None = timedelta(hours=DEFAULT_LOOKBACK_HOURS),
    verify_days: int = DEFAULT_VERIFY_DAYS,
    since: datetime | None = None,
    until: datetime | None = None,
    **tuning: Any,
) -> DltResource:
    """The `cdr` resource (merge on `id`; append while it loads a range nothing was loaded into yet).

    Live runs start `lookback` behind the cursor (`starting_date`) to catch rows written late (None:
    the automatic look-back, `health.lateness`), read only the windows whose count at the server
    differs from the destination's, and verify the `verify_days` days behind the look-back
    (`verify`); `since`/`until` backfill a range without moving the live cursor. `tuning`: see CdrTuning.
    """
    knobs = CdrTuning(**tuning)

    @dlt.resource(
        name="cdr",
        primary_key="id",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=columns("cdr"),
    )
    def cdr() -> Iterator[Any]:
        state = dlt.current.resource_state()
        tally = table_tally("cdr")
        live, now = since is None and until is None, datetime.now(UTC)
        cursor = datetime.fromisoformat(state["cursor"]) if live and state.get("cursor") else None
        run_lookback = lookback if lookback is not None else auto_lookback(state, now)
        with (files_dir(Path(dlt.current.pipeline().working_dir)) as out_dir,
              shared_budget(config, out_dir, tally.stats) as run_config, Walkers(run_config, knobs, out_dir) as walkers):
            with AntBotClient(run_config) as plain, ThreadPoolExecutor(knobs.concurrency) as pool:
                client = plain.counted(tally.stats)

                def count(windows: list[Window]) -> list[int]:
                    return list(pool.map(lambda w: count_rows(client, CDR_PATH, w), windows))

                # a state that never loaded anything (a first load, or one refreshed: dlt drops the
                # tables only when it loads) says nothing the destination holds may be trusted
                compare = Comparison(count, held_counts, now) if live and state.get("loaded_until") else None
                if compare is None:  # nothing to compare with: this run reads
                    walkers.start()
                plan = plan_run(
                    state, start_date=start_date, lookback=run_lookback, now=now, count=count,
                    window_rows=knobs.window_rows, run_rows=knobs.run_rows, since=since, until=until,
                    parallel=knobs.concurrency, compare=compare,
                )
                found = Verification()
                if not plan.live:  # a backfill of history older than the live read's: no lateness to see
                    cursor = None
                elif compare is not None and cursor is not None and plan.resume_from is None and plan.start:
                    found = verify(state, compare, begin=plan.start, start_date=start_date, verify_days=verify_days)
                    plan = dataclasses.replace(plan, windows=found.heal + plan.windows)
            late = LateRows(cursor, plan.start, held_ids([w for w in plan.windows if cursor and w.start < cursor]))
            hints = dlt.mark.make_hints(write_disposition="append") if append_is_safe(state, plan) else None
            newest: int | None = None
            for part in walkers.read(plan, tally.stats):
                if part.newest is not None and (newest is None or part.newest > newest):
                    newest = part.newest
                table = pa.ipc.open_file(pa.memory_map(part.path)).read_all()
                os.remove(part.path)  # the mapping keeps the data until the table is gone
                late.observe(table)
                yield dlt.mark.with_hints(table, hints) if hints else table
        record_run(state, plan, None if newest is None else from_micros(newest))
        if plan.live:
            conclude(tally, state, late, now=now, lookback=run_lookback, auto=lookback is None,
                     cursor_before=cursor, surplus=found.surplus)

    return cdr


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
def shared_budget(config: ClientConfig, out_dir: str, stats: RequestStats) -> Iterator[ClientConfig]:
    """The account's request budget (api/budget.py) in a file the walkers map, so that this process's
    readers of every table and every walker take turns from one budget file; yields the config walkers
    get, which names it and hands them this process's token (a login each would cost a request)."""
    with budget_of(config).shared(Path(out_dir) / "budget") as path:
        with AntBotClient(config) as client:
            token = client.counted(stats).token()
        yield dataclasses.replace(config, budget_path=path, access_token=token)


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
    """The walker processes of a run, started when first needed or ahead (`start`), stopped on exit.

    Each walks `threads` windows side by side (the concurrency shared out between walkers) and is
    kept one window deeper, so that it never waits for its next one.
    """

    def __init__(self, config: ClientConfig, knobs: CdrTuning, out_dir: str):
        self.count = min(knobs.workers, knobs.concurrency)
        self.threads = -(-knobs.concurrency // self.count)
        self.orders = WalkerOrders(config, CDR_PATH, knobs.max_rewalks, out_dir, knobs.file_rows, self.threads)
        self._stack = ExitStack()
        self.conns: list[Connection] = []

    def start(self, count: int | None = None) -> None:
        """Start walkers up to `count` (all by default): a walker takes a second to boot, so a run sure to
        read starts them before it plans its windows."""
        while len(self.conns) < min(count or self.count, self.count):
            self.conns.append(self._stack.enter_context(_Walker(self.orders)).conn)

    def read(self, plan: RunPlan, stats: RequestStats | None = None) -> Iterator[CdrFile]:
        """The files of every window of `plan`, as the walkers write them."""
        if not plan.windows:
            return
        todo = deque(plan.walk_order())
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
