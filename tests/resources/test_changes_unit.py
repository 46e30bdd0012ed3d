"""Change detection of a list ordered by id (resources/changes.py) against an in-process fake of one list
endpoint (DRF page-number pagination, pages of 10, `page_size` ignored), through the real client: new rows
from the tail, deletes located by bisection, and `Unsure` whenever the answers cannot give a sure result."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import httpx
import pytest

from antbot_source.api.client import AccountSession, AntBotClient
from antbot_source.config import AntBotSettings
from antbot_source.resources.changes import Unsure, list_changes

BASE = "http://antbot.test/rest-api/"
PAGE = 10


class FakeList:
    """`GET contact/?page=N|last`: the rows of `ids` (kept sorted unless a test says otherwise), PAGE a page.
    `page=last` is refused with 404 when `knows_last` is False; `after_request` runs after each answer."""

    def __init__(self, ids: list[int], *, knows_last: bool = True):
        self.ids = list(ids)
        self.knows_last = knows_last
        self.requests = 0
        self.after_request: Callable[[int], None] = lambda n: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        try:
            return self._answer(request)
        finally:
            self.after_request(self.requests)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/rest-api/contact/"
        pages = max(1, math.ceil(len(self.ids) / PAGE))
        asked = request.url.params.get("page", "1")
        number = pages if asked == "last" and self.knows_last else int(asked) if asked.isdigit() else 0
        if not 1 <= number <= pages:
            return httpx.Response(404, json={"detail": "Invalid page."})
        link = lambda n: f"{BASE}contact/?page={n}" if 1 <= n <= pages else None
        rows = [{"id": i, "contact": f"+3361{i:07d}"} for i in self.ids[(number - 1) * PAGE:number * PAGE]]
        return httpx.Response(200, json={"count": len(self.ids), "next": link(number + 1),
                                         "previous": link(number - 1), "results": rows})


def changes(server: FakeList, held: list[int]):
    account = AccountSession(AntBotSettings(base_url=BASE, access_token="token", max_attempts=1).client())
    with AntBotClient(account, transport=httpx.MockTransport(server)) as client:
        return list_changes(client, "contact/", {}, held)


HELD = list(range(1, 401))  # 40 pages


@pytest.mark.parametrize("positions", [
    [0], [399], [0, 1, 2], list(range(10, 20)), [9, 10], [5, 150, 151, 398], list(range(0, 400, 37)),
    list(range(390, 400)), list(range(0, 400, 2)),
], ids=["first", "last", "first-three", "a-page", "page-edge", "scattered", "every-37th", "the-last-page",
        "every-other"])
@pytest.mark.parametrize("new", [0, 13])
def test_deletes_anywhere_are_found_and_new_rows_read_from_the_tail(positions, new):
    doomed = [HELD[p] for p in positions]
    server = FakeList([i for i in HELD if i not in doomed] + list(range(1000, 1000 + new)))
    found = changes(server, HELD)
    assert sorted(found.deleted) == doomed
    assert [row["id"] for row in found.new_rows] == list(range(1000, 1000 + new))
    assert found.whole is None and found.count == len(server.ids) and found.page_rows == PAGE
    assert found.requests == server.requests


@pytest.mark.parametrize("seed", range(20))
def test_random_deletes_and_inserts_are_found_exactly(seed):
    rng = random.Random(seed)
    held = sorted(rng.sample(range(1, 5_000), rng.randint(PAGE + 1, 600)))
    doomed = sorted(rng.sample(held, rng.randint(0, len(held) // 3)))
    new = sorted(rng.sample(range(5_000, 6_000), rng.randint(0, 25)))
    server = FakeList(sorted(set(held) - set(doomed)) + new)
    found = changes(server, held)
    assert sorted(found.deleted) == doomed and [row["id"] for row in found.new_rows] == new


@pytest.mark.parametrize("deletes", [1, 2, 4])
def test_deletes_cost_about_d_log_pages_requests_not_a_full_read(deletes):
    held = list(range(1, 2_001))  # 200 pages
    doomed = held[100::2_000 // deletes][:deletes]
    server = FakeList([i for i in held if i not in doomed])
    found = changes(server, held)
    assert sorted(found.deleted) == doomed
    assert server.requests <= 3 + 2 * deletes * math.ceil(math.log2(200 / deletes))


def test_nothing_changed_costs_one_request():
    server = FakeList(HELD)
    found = changes(server, HELD)
    assert (found.new_rows, found.deleted, server.requests) == ([], [], 1)


def test_new_rows_over_several_pages_are_read_back_from_the_last():
    server = FakeList(HELD + list(range(1000, 1035)))
    found = changes(server, HELD)
    assert [row["id"] for row in found.new_rows] == list(range(1000, 1035)) and found.deleted == []
    assert server.requests == 5, "the last page, then back while a page holds only new rows"


def test_a_list_of_one_page_is_read_whole():
    server = FakeList([3, 5, 8])
    found = changes(server, [3, 4])
    assert found.whole == [{"id": i, "contact": f"+3361{i:07d}"} for i in (3, 5, 8)] and found.count == 3


def test_a_server_without_page_last_is_read_from_the_page_its_count_names():
    doomed = [HELD[7], HELD[250]]
    server = FakeList([i for i in HELD if i not in doomed] + [1000], knows_last=False)
    found = changes(server, HELD)
    assert sorted(found.deleted) == doomed and [row["id"] for row in found.new_rows] == [1000]


def test_a_row_the_destination_lacks_makes_it_unsure():
    with pytest.raises(Unsure, match="lacks"):  # on the last page
        changes(FakeList(HELD), [0] + [i for i in HELD if i != 395])
    with pytest.raises(Unsure, match="lacks"):  # the first row of a page the bisection reads
        changes(FakeList([i for i in HELD if i not in (1, 2)]), [0] + [i for i in HELD if i != 3])


def test_more_old_rows_at_the_server_than_held_makes_it_unsure():
    with pytest.raises(Unsure, match="more old rows"):
        changes(FakeList([0, *HELD]), HELD)


def test_ids_out_of_order_make_it_unsure():
    with pytest.raises(Unsure, match="order"):
        changes(FakeList(HELD[::-1]), HELD)


@pytest.mark.parametrize(("gone_later", "deleted"), [(30, None), (300, [50])],
                         ids=["in-a-range-still-bisected", "in-a-range-already-settled"])
def test_a_delete_while_the_changes_are_read_makes_it_unsure_or_is_left_to_the_next_run(gone_later, deleted):
    server = FakeList([i for i in HELD if i != 50])

    def delete_later(request: int) -> None:
        if request == 3:  # after the last page (the count), the first and the middle one
            server.ids.remove(gone_later)

    server.after_request = delete_later
    if deleted is None:
        with pytest.raises(Unsure, match="changed while"):
            changes(server, HELD)
    else:
        assert changes(server, HELD).deleted == deleted, "what the count saw: the next run finds the rest"
