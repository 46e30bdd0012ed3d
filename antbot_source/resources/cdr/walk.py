"""Walking CDR windows: one window's pages, each row once; and the walker process that serves windows.

This module runs inside walker processes that must stay light: it imports neither dlt nor the
`antbot_source` package's source (see `cdr.WALKER_BOOT`).
"""

from __future__ import annotations

import gc
import itertools
import os
import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from antbot_source.api.client import AntBotClient, ClientConfig
from antbot_source.api.stats import RequestStats
from antbot_source.resources.cdr.typed_pages import page_count, parse_page, within
from antbot_source.resources.cdr.windows import Window


@dataclass(frozen=True)
class WalkerOrders:
    """The first message to a walker: where to read, and where to write its Arrow files."""

    config: ClientConfig
    path: str
    max_rewalks: int
    out_dir: str
    file_rows: int
    threads: int = 1  # windows walked side by side


@dataclass(frozen=True)
class CdrFile:
    """An Arrow IPC file of CDRs (CDR_SCHEMA) that a walker wrote; `newest` in microseconds since the epoch."""

    path: str
    rows: int
    newest: int | None


@dataclass(frozen=True)
class WindowDone:
    """Sent after the last file of a window, with what its walk cost (RequestStats.snapshot())."""

    window: Window
    stats: dict[str, float]


def count_rows(client: AntBotClient, path: str, window: Window) -> int:
    """The server's current row count for `window` (0 when the endpoint gives no count)."""
    params = {**window.query(), "page_size": "1"}
    return page_count(client.get_bytes(path, params=params)) or 0


def walk_window(
    client: AntBotClient, path: str, window: Window, max_rewalks: int, emit: Callable[[pa.Table], None]
) -> None:
    """Emit every row of `window` (from the CDR list at `path`) once: follow `next`, then walk again
    while the server's count at the end of the walk is above the rows seen (at most `max_rewalks` times).
    Rows seen twice and walks again are counted in `client.stats`.

    Rows move between pages when rows are inserted during the walk (the order is undefined, often
    newest first): a row seen twice is dropped, and a skipped row shows up as a count above the
    distinct ids seen.
    """
    params = {**window.query(), "page_size": str(client.config.page_size)}
    seen: set[int] = set()
    for walk in range(1 + max_rewalks):
        if walk:
            client.stats.add("rewalks")
        counted: int | None = None
        for page in client.walk(path, params, parse_page):
            fresh = _unseen(page.table, seen)
            if fresh.num_rows < page.table.num_rows:
                client.stats.add("rows_seen_twice", page.table.num_rows - fresh.num_rows)
            kept = within(fresh, window.kept)
            if kept.num_rows:
                emit(kept)
            counted = page.count
        # the last page's `count` is the server's count as the walk ended (asking again would cost a request)
        if (counted if counted is not None else count_rows(client, path, window)) <= len(seen):
            return


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


_FILE_NUMBERS = itertools.count(1)  # file names unique across a walker's threads


class FileWriter:
    """Collects a window's rows and writes them as Arrow IPC files of about `file_rows` rows, each sent on.

    Files, not the pipe: a table sent through a pipe is pickled, copied in 64 KB pieces and unpickled;
    a file is written once and the reader maps it without a copy.
    """

    def __init__(self, out_dir: str, file_rows: int, send: Callable[[CdrFile], None]):
        self.out_dir, self.file_rows, self.send = Path(out_dir), file_rows, send
        self.tables: list[pa.Table] = []
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        self.tables.append(table)
        self.rows += table.num_rows
        if self.rows >= self.file_rows:
            self.flush()

    def flush(self) -> None:
        if not self.tables:
            return
        table = pa.concat_tables(self.tables)
        self.tables, self.rows = [], 0
        path = self.out_dir / f"cdr-{os.getpid()}-{next(_FILE_NUMBERS)}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        newest = pc.max(pc.cast(table.column("starting_date"), pa.int64())).as_py()
        self.send(CdrFile(str(path), table.num_rows, newest))


def serve(fd: int) -> None:
    """Walker process: `serve_connection` on the connection the parent passed as `fd`."""
    # the parent decides when walkers stop: Ctrl-C reaches the whole process group, SIGTERM the parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()  # what the imports made lives as long as the walker: the collector need not scan it again
    serve_connection(Connection(fd))


def serve_connection(conn: Connection, stop: threading.Event | None = None) -> None:
    """Read WalkerOrders, then walk the Windows received (`threads` at once) until None or until `stop`
    is set (a walker thread's parent has stopped reading: walks end at their next page).

    Sends a CdrFile per file written, a WindowDone per window, or the exception that stopped a walk
    (the parent then stops this walker). The walks run on daemon threads: a walker on threads of an
    interrupted load must not hold its exit while a request waits at the server.
    """
    lock = threading.Lock()

    def send(item: object) -> None:
        with lock:  # a Connection is not safe for threads sending at once
            conn.send(item)

    def walk_one(client: AntBotClient, orders: WalkerOrders, window: Window) -> None:
        stats = RequestStats()
        files = FileWriter(orders.out_dir, orders.file_rows, send)

        def keep(table: pa.Table) -> None:
            if stop is not None and stop.is_set():
                raise _Stopped
            files.add(table)

        try:
            walk_window(client.counted(stats), orders.path, window, orders.max_rewalks, keep)
            files.flush()
            send(WindowDone(window, stats.snapshot()))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            if stop is not None and stop.is_set():
                return  # the parent stopped reading: nobody to report to
            try:
                send(exc)
            except (EOFError, OSError):
                return  # the parent is gone (its end of the pipe closed): nothing to report to

    def walk_each(client: AntBotClient, orders: WalkerOrders, todo: queue.SimpleQueue[Window | None]) -> None:
        while (window := todo.get()) is not None:
            walk_one(client, orders, window)

    try:
        orders: WalkerOrders = conn.recv()
        todo: queue.SimpleQueue[Window | None] = queue.SimpleQueue()
        with orders.config.connect() as client:
            walkers = [threading.Thread(target=walk_each, args=(client, orders, todo), daemon=True)
                       for _ in range(orders.threads)]
            for walker in walkers:
                walker.start()
            try:
                while (window := conn.recv()) is not None:
                    todo.put(window)
            finally:
                for walker in walkers:
                    todo.put(None)
                for walker in walkers:
                    walker.join()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the parent is gone (killed or interrupted): nothing to report to, nothing to print


class _Stopped(Exception):
    """A walker thread's parent set `stop`: the walk ends here."""
