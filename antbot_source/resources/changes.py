"""What changed in a list ordered by id since the destination's copy, found in a few requests.

AntBot's lists other than CDRs are ordered by id, new rows last, in numbered pages. Between two
reconciles a run reads:
- the last page (`page=last`, DRF's name for it; else the number the first page's size gives,
  accepted only when that page has no `next`): the server's `count`, and the rows above the highest
  id held, walking `previous` back while a page holds nothing older;
- when the count says held rows are gone, pages chosen by bisection: the first id of page k sits at
  some position among the held ids, and that position minus (k-1) * page size is how many held
  rows before it were deleted. A range of pages whose two ends agree lost nothing; only a range
  that lost rows is split again: about d * log2(pages / d) requests for d deletes.
An answer that breaks these rules (ids out of order, a page of another size, an id that is not
held, counts that go backwards) raises `Unsure`: the caller reads the list in full instead.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from antbot_source.api.client import AntBotClient
from antbot_source.api.pages import describe, object_id, page_parts
from antbot_source.errors import ApiError


class Unsure(Exception):
    """The list's answers do not follow the rules change detection relies on: read it in full."""


@dataclass(frozen=True)
class ListPage:
    rows: list[dict[str, Any]]
    ids: list[int]
    count: int
    next: str | None
    previous: str | None


@dataclass
class ListChanges:
    """What change detection found: `whole` when the list fits one page (then it is the list), else the rows
    above the highest id held and the held ids the server no longer has."""

    count: int
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    whole: list[dict[str, Any]] | None = None
    requests: int = 0
    page_rows: int = 1  # the longest page seen: the server's page size, or less


class _Pages:
    """Numbered pages of one list, each fetched at most once."""

    def __init__(self, client: AntBotClient, path: str, params: Mapping[str, Any]):
        self.client, self.path = client, path
        self.params = {**params, "page_size": client.config.page_size}
        self.by_number: dict[int, ListPage] = {}
        self.requests = 0
        self.longest = 1

    def get(self, target: int | str) -> ListPage:
        """ListPage `target` (a number, "last", or a `previous` URL)."""
        if isinstance(target, int) and target in self.by_number:
            return self.by_number[target]
        is_url = isinstance(target, str) and target.startswith("http")
        body = self.client.request("GET", target if is_url else self.path,
                                   params=None if is_url else {**self.params, "page": target})
        self.requests += 1
        rows, next_url, count = page_parts(body, describe(self.path))
        ids = [object_id(row) for row in rows]
        if count is None or None in ids or ids != sorted(ids) or len(set(ids)) != len(ids):
            raise Unsure(f"{describe(self.path)}: a page without count, ids or id order")
        page = ListPage(rows, ids, count, next_url, body.get("previous") if isinstance(body, dict) else None)
        self.longest = max(self.longest, len(rows))
        if isinstance(target, int):
            self.by_number[target] = page
        return page

    def last(self) -> ListPage:
        try:
            page = self.get("last")
        except ApiError as exc:
            if exc.status_code not in (400, 404):
                raise
        else:
            if page.next is None:
                return page
        first = self.get(1)  # `page=last` refused or not understood (answered as page 1)
        if first.next is None:
            return first
        page = self.get(math.ceil(first.count / len(first.rows)))
        if page.next is not None:
            raise Unsure(f"{describe(self.path)}: the page its count names last is not the last")
        return page


def list_changes(client: AntBotClient, path: str, params: Mapping[str, Any], held: Sequence[int]) -> ListChanges:
    """The changes of the list at `path` (with filters `params`) against `held`, the sorted ids the
    destination holds of it. Raises Unsure when the answers do not allow a sure result."""
    pages = _Pages(client, path, params)
    last = pages.last()
    if last.previous is None:
        return ListChanges(count=last.count, whole=last.rows, requests=pages.requests, page_rows=pages.longest)
    top = held[-1] if held else 0
    tail = [last]
    while tail[0].ids[0] > top and tail[0].previous:  # a page of new rows only: the one before may hold more
        tail.insert(0, pages.get(tail[0].previous))
    new_rows = [row for page in tail for row, row_id in zip(page.rows, page.ids, strict=True) if row_id > top]
    old_count = last.count - len(new_rows)
    gone = len(held) - old_count
    if gone < 0:
        raise Unsure(f"{describe(path)}: the server holds more old rows than the destination")
    if gone == 0:
        deleted: list[int] = []
        held_set = set(held)
        if any(row_id not in held_set for page in tail for row_id in page.ids if row_id <= top):
            raise Unsure(f"{describe(path)}: old rows on the last page that the destination lacks")
    else:
        deleted = _deleted(pages, held, old_count, tail)
    return ListChanges(count=last.count, new_rows=new_rows, deleted=deleted, requests=pages.requests,
                       page_rows=pages.longest)


def _deleted(pages: _Pages, held: Sequence[int], old_count: int, tail: list[ListPage]) -> list[int]:
    """The held ids gone from the server, by bisection over numbered pages (see the module's doc)."""
    first = pages.get(1)
    size = len(first.rows)
    last_old = max(1, math.ceil(old_count / size))  # the page holding the newest old row
    tail_start = math.ceil(tail[-1].count / size) - len(tail) + 1
    if not 1 <= tail_start <= last_old:
        raise Unsure(f"{describe(pages.path)}: page numbers do not fit the count")
    for offset, page in enumerate(tail):
        pages.by_number.setdefault(tail_start + offset, page)
    held_set = set(held)

    def before(number: int) -> int:
        """Held rows deleted below the first id of page `number`."""
        page = pages.get(number)
        if number < last_old and len(page.ids) != size:
            raise Unsure(f"{describe(pages.path)}: pages of different sizes")
        position = bisect_left(held, page.ids[0])
        if position == len(held) or held[position] != page.ids[0]:
            raise Unsure(f"{describe(pages.path)}: a row the destination lacks")
        return position - (number - 1) * size

    def between(low: int, high: int, gone_low: int, gone_high: int) -> list[int]:
        if gone_high == gone_low:
            return []
        if gone_high < gone_low:
            raise Unsure(f"{describe(pages.path)}: the list changed while its changes were read")
        if high == low + 1:
            start, stop = pages.get(low).ids[0], pages.get(high).ids[0]
            on_page = set(pages.get(low).ids)
            lost = [i for i in held[bisect_left(held, start):bisect_left(held, stop)] if i not in on_page]
            if len(lost) != gone_high - gone_low:
                raise Unsure(f"{describe(pages.path)}: the list changed while its changes were read")
            return lost
        middle = (low + high) // 2
        gone_middle = before(middle)
        return between(low, middle, gone_low, gone_middle) + between(middle, high, gone_middle, gone_high)

    gone_first = before(1)
    lost = list(held[:gone_first])
    gone_end = before(last_old)
    lost += between(1, last_old, gone_first, gone_end) if last_old > 1 else []
    on_server = {i for n, page in pages.by_number.items() if n >= last_old for i in page.ids}
    lost += [i for i in held[bisect_left(held, pages.get(last_old).ids[0]):] if i not in on_server]
    if len(lost) != len(held) - old_count or not set(lost) <= held_set:
        raise Unsure(f"{describe(pages.path)}: the deletes found do not add up to the count")
    return lost
