"""Walking CDR windows: one window's pages, each row once; and the walker process that serves windows.

This module runs inside walker processes that must stay light: it imports neither dlt nor the
`antbot_source` package's source (see `cdr.WALKER_BOOT`).
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import pyarrow as pa

from antbot_source.cdr_arrow import in_window, page_count, parse_page
from antbot_source.cdr_windows import Window
from antbot_source.client import AntBotClient
from antbot_source.errors import ApiError


@dataclass(frozen=True)
class WindowDone:
    """Sent after the last rows of a window."""

    window: Window


def count_rows(client: AntBotClient, path: str, window: Window) -> int:
    """The server's current row count for `window` (0 when the endpoint gives no count)."""
    params = {**window.query(), "page_size": "1"}
    return page_count(client.get_bytes(path, params=params)) or 0


def walk_window(
    client: AntBotClient, path: str, window: Window, max_rewalks: int, emit: Callable[[pa.Table], None]
) -> None:
    """Emit every row of `window` (from the CDR list at `path`) once: follow `next`, then walk again
    while the server counts more rows than were seen (at most `max_rewalks` times).

    Rows move between pages when rows are inserted during the walk (the order is undefined, often
    newest first): a row seen twice is dropped, and a skipped row shows up as a count above the
    distinct ids seen.
    """
    params = {**window.query(), "page_size": str(client.config.page_size)}
    seen: set[int] = set()
    for _ in range(1 + max_rewalks):
        url: str | None = path
        query: dict[str, str] | None = params
        while url:
            try:
                page = parse_page(client.get_bytes(url, params=query))
            except ApiError as exc:
                if exc.status_code == 404 and query is None:  # a followed `next` past the shrunk end
                    break
                raise
            kept = in_window(_unseen(page.table, seen), window.start, window.end)
            if kept.num_rows:
                emit(kept)
            url, query = page.next, None
        if count_rows(client, path, window) <= len(seen):
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


def serve(fd: int) -> None:
    """Walker process: read (ClientConfig, CDR path, max_rewalks), then walk each Window received until None.

    Sends Arrow tables, a WindowDone per window, or the exception that stopped it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when walkers stop
    gc.freeze()  # what the imports made lives as long as the walker: the collector need not scan it again
    conn = Connection(fd)
    config, path, max_rewalks = conn.recv()
    with AntBotClient(config) as client:
        while (window := conn.recv()) is not None:
            try:
                walk_window(client, path, window, max_rewalks, conn.send)
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
                conn.send(exc)
                return
            conn.send(WindowDone(window))
