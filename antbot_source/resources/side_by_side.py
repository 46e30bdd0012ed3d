"""Several walks run side by side on threads, their items read as they come, with a bounded buffer."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_POLL_S = 0.1  # how soon a walk blocked on a full buffer notices that the reader has stopped


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()


def side_by_side(walks: Iterable[Callable[[], Iterable[T]]], workers: int, buffered: int) -> Iterator[T]:
    """The items of every walk, `workers` walks at a time, in the order they arrive.

    At most `buffered` items wait for the reader, so memory stays bounded however long the walks
    are. The first error a walk raises is raised here; when the reader stops early (or on that
    error) the walks still running stop at their next item.
    """
    todo = list(walks)
    items: queue.Queue[object] = queue.Queue(maxsize=buffered)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def run(walk: Callable[[], Iterable[T]]) -> None:
        if stop.is_set():
            return
        try:
            for item in walk():
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, which raises it
            put(_Failed(exc))
        finally:
            put(_DONE)

    with ThreadPoolExecutor(workers, "antbot-side-by-side") as pool:
        for walk in todo:
            pool.submit(run, walk)
        try:
            running = len(todo)
            while running:
                item = items.get()
                if item is _DONE:
                    running -= 1
                elif isinstance(item, _Failed):
                    raise item.error
                else:
                    yield item  # type: ignore[misc]
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
