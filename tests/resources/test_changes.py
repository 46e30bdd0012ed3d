"""Change detection of a list ordered by id (resources/changes.py) against the sandbox: new rows from the last
page, deletes located by bisection wherever they fall, and `Unsure` whenever the answers cannot give
a sure result. Pages of 10 rows, `page_size` ignored; requests counted at the server."""

from __future__ import annotations

import pytest
from support import connect, fresh_numbers

from antbot_source.resources.changes import Unsure, list_changes
from antbot_source.sandbox import Habits


@pytest.fixture
def sb(start_sandbox):
    return start_sandbox(seed=17, cdrs=1_000, habits=Habits(fixed_page_size=10))  # 400 contacts: 40 pages


def _ids(sb) -> list[int]:
    return [row["id"] for row in sb.rows("contacts")]


def _gets(sb) -> int:
    return sum(n for key, n in sb.stats()["requests"].items() if key.startswith("GET /rest-api/contact/"))


@pytest.mark.parametrize("positions", [
    [], [0], [399], [0, 1, 2], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],  # a whole page
    [9, 10], [5, 150, 151, 398], list(range(0, 400, 37)),
], ids=["none", "first", "last", "first-three", "a-page", "page-edge", "scattered", "every-37th"])
def test_deletes_anywhere_are_found_and_new_rows_read_from_the_tail(sb, positions):
    held = _ids(sb)
    client = connect(sb)
    doomed = [held[p] for p in positions]
    for row_id in doomed:
        client.request("DELETE", f"contact/{row_id}/")
    phonebook = sb.rows("phonebooks")[0]["id"]
    new = [client.request("POST", "contact/", json={"phonebook": phonebook, "contact": number, "status": 1})["id"]
           for number in fresh_numbers(13)]
    sb.reset_stats()
    changes = list_changes(client, "contact/", {}, held)
    assert sorted(changes.deleted) == sorted(doomed)
    assert sorted(row["id"] for row in changes.new_rows) == sorted(new)
    assert changes.whole is None and changes.count == 400 - len(doomed) + 13
    # a few requests per delete (bisection: about d log2(pages / d)), fewer than a full read's 40 pages
    assert _gets(sb) == changes.requests <= min(3 + 6 * len(doomed), 39)


def test_nothing_changed_costs_one_request(sb):
    held = _ids(sb)
    client = connect(sb)
    sb.reset_stats()
    changes = list_changes(client, "contact/", {}, held)
    assert (changes.new_rows, changes.deleted, _gets(sb)) == ([], [], 1)


def test_a_list_of_one_page_is_read_whole(sb):
    client = connect(sb)
    changes = list_changes(client, "gateway/", {}, [])
    assert changes.whole is not None and len(changes.whole) == changes.count == len(sb.rows("gateways"))


def test_answers_that_break_the_rules_make_change_detection_unsure(sb):
    held = _ids(sb)
    client = connect(sb)
    with pytest.raises(Unsure):  # the destination lacks a row the server still has
        list_changes(client, "contact/", {}, held[:5] + held[6:])
    with pytest.raises(Unsure):  # CDRs are not ordered by id (newest first)
        list_changes(client, "cdr/", {}, [row["id"] for row in sb.rows("cdr")])
