"""The `cdr` resource: call records read in bounded date windows with a look-back, exactly once each.

A run reads date windows of at most `window_rows` rows each, up to about `run_rows` rows, and
records in the resource state where the next run continues; `pipelines/load.py` runs the pipeline
again while `cdr_backlog_pending()` says so. dlt writes state at the end of a run only, so bounding runs is what
lets a killed history load resume without re-reading the windows it already loaded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.extract.resource import DltResource

from antbot_source.cdr_arrow import in_window, parse_page
from antbot_source.cdr_windows import RunPlan, Window, append_is_safe, plan_run, record_run
from antbot_source.client import AntBotClient, ClientConfig
from antbot_source.errors import ApiError
from antbot_source.schema import columns
from antbot_source.settings import DEFAULT_LOOKBACK_HOURS, endpoint

CDR_PATH = endpoint("cdr").path


@dataclass(frozen=True)
class CdrTuning:
    """Knobs of the CDR read; the defaults suit a 2-core machine and the service's page size limits."""

    window_rows: int = 50_000  # rows per date window at most (by the server's count when planning)
    run_rows: int = 2_000_000  # rows per pipeline run at most (then the state is committed)
    workers: int = 4
    batch_rows: int = 20_000
    max_rewalks: int = 3


class _WindowDone:
    """Marks the end of one window's walk in the walkers' output queue."""


def cdr_resource(
    config: ClientConfig,
    *,
    start_date: datetime,
    lookback: timedelta = timedelta(hours=DEFAULT_LOOKBACK_HOURS),
    since: datetime | None = None,
    until: datetime | None = None,
    **tuning: Any,
) -> DltResource:
    """The `cdr` resource (merge on `id`; append while it loads a range nothing was loaded into yet).

    Live runs start `lookback` behind the cursor (`starting_date`) to catch rows written late;
    `since`/`until` backfill a range without moving the live cursor. `tuning`: see CdrTuning.
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
        with AntBotClient(config) as client:
            plan = plan_run(
                state, start_date=start_date, lookback=lookback, now=datetime.now(UTC),
                count=lambda windows: _counts(client, windows, knobs.workers), window_rows=knobs.window_rows,
                run_rows=knobs.run_rows, since=since, until=until,
            )
            hints = dlt.mark.make_hints(write_disposition="append") if append_is_safe(state, plan) else None
            newest: datetime | None = None
            for table in read_windows(client, plan, knobs):
                top = pc.max(table.column("starting_date")).as_py()
                if top is not None and (newest is None or top > newest):
                    newest = top
                yield dlt.mark.with_hints(table, hints) if hints else table
        record_run(state, plan, newest)

    return cdr


def cdr_backlog_pending(pipeline: dlt.Pipeline) -> bool:
    """True when the last run of `cdr` stopped with windows left: run the pipeline again to go on."""
    for source_state in pipeline.state.get("sources", {}).values():
        if source_state.get("resources", {}).get("cdr", {}).get("pending"):
            return True
    return False


def _count(client: AntBotClient, window: Window) -> int:
    """The server's current row count for `window` (0 when the endpoint gives no count)."""
    params = {**window.query(), "page_size": "1"}
    return parse_page(client.get_bytes(CDR_PATH, params=params)).count or 0


def _counts(client: AntBotClient, windows: list[Window], workers: int) -> list[int]:
    """The server's counts of several windows, asked side by side."""
    if len(windows) == 1:
        return [_count(client, windows[0])]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda window: _count(client, window), windows))


def read_windows(client: AntBotClient, plan: RunPlan, knobs: CdrTuning) -> Iterator[pa.Table]:
    """The CDRs of every window of `plan`, in Arrow tables of about `batch_rows` rows, each row once.

    Windows are walked side by side on `knobs.workers` threads (page parsing runs in Arrow without the
    GIL); each window is walked in order by following `next`.
    """
    if not plan.windows:
        return
    todo: queue.SimpleQueue[Window] = queue.SimpleQueue()
    for window in plan.windows:
        todo.put(window)
    out: queue.Queue[pa.Table | _WindowDone | BaseException] = queue.Queue(maxsize=4 * knobs.workers)
    stop = threading.Event()

    def emit(item: pa.Table | _WindowDone | BaseException) -> None:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def work(client: AntBotClient) -> None:
        try:
            while not stop.is_set():
                try:
                    window = todo.get_nowait()
                except queue.Empty:
                    return
                emit(_walk_window(client, window, knobs, emit, stop))
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, raised in the extract thread
            emit(exc)

    threads = [
        threading.Thread(target=work, args=(client,), name=f"cdr-window-{n}", daemon=True)
        for n in range(min(knobs.workers, len(plan.windows)))
    ]
    for thread in threads:
        thread.start()
    try:
        yield from _batches(out, len(plan.windows), knobs.batch_rows)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _batches(out: queue.Queue, windows: int, batch_rows: int) -> Iterator[pa.Table]:
    """Gather pages from the walkers into tables of about `batch_rows` rows until every window is done."""
    buffered: list[pa.Table] = []
    rows = 0
    done = 0
    while done < windows:
        item = out.get()
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, _WindowDone):
            done += 1
            continue
        buffered.append(item)
        rows += item.num_rows
        if rows >= batch_rows:
            yield pa.concat_tables(buffered)
            buffered, rows = [], 0
    if buffered:
        yield pa.concat_tables(buffered)


def _walk_window(client: AntBotClient, window: Window, knobs: CdrTuning, emit, stop: threading.Event) -> _WindowDone:
    """Walk one window by following `next`; re-walk while the server counts more rows than were seen.

    Rows move between pages when rows are inserted during the walk (the order is undefined, often
    newest first): a row seen twice is dropped, and a row skipped shows up as a count above the
    distinct ids seen, which triggers another walk.
    """
    params = {**window.query(), "page_size": str(client.config.page_size)}
    seen: set[int] = set()
    for _ in range(1 + knobs.max_rewalks):
        url: str | None = CDR_PATH
        query: dict[str, str] | None = params
        while url and not stop.is_set():
            try:
                page = parse_page(client.get_bytes(url, params=query))
            except ApiError as exc:
                if exc.status_code == 404 and query is None:  # a followed `next` past the shrunk end
                    break
                raise
            fresh = _unseen(page.table, seen)
            kept = in_window(fresh, window.start, window.end)
            if kept.num_rows:
                emit(kept)
            url, query = page.next, None
        if _count(client, window) <= len(seen) or stop.is_set():
            break
    return _WindowDone()


def _unseen(table: pa.Table, seen: set[int]) -> pa.Table:
    """The rows of `table` whose id is not in `seen` (nor repeated within the page); `seen` grows."""
    ids = table.column("id").to_pylist()
    before = len(seen)
    if seen.isdisjoint(ids):
        seen.update(ids)
        if len(seen) - before == len(ids):
            return table
        seen.difference_update(ids)
    keep = []
    for row_id in ids:
        keep.append(row_id not in seen)
        seen.add(row_id)
    return table.filter(pa.array(keep))
