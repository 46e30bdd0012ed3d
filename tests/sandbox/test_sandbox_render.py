"""The fast JSON renderer of sandbox pages gives exactly the bytes orjson gives for the row dicts."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from antbot_source.sandbox import fields as F
from antbot_source.sandbox.table import NULL_INT, NULL_TS, Field, Table
from antbot_source.sandbox.world import World

HABITS = [(vn, js) for vn in (True, False) for js in (True, False)]


@pytest.fixture(scope="module")
def world() -> World:
    return World(seed=5, cdrs=3_000, now=1_780_000_000_000_000)


@pytest.mark.parametrize(("vn_offset", "json_as_string"), HABITS)
@pytest.mark.parametrize("endpoint", sorted(F.TABLE_OF_PATH))
def test_every_endpoint_renders_the_same_bytes(world, endpoint, vn_offset, json_as_string):
    tbl = world.table("demo", endpoint)
    assert len(tbl) > 0
    pages = [np.arange(len(tbl))[::-1][:1000], np.arange(len(tbl) - 1, len(tbl)), np.arange(0)]
    for idx in pages:
        fast = tbl.render_json(idx, vn_offset, json_as_string)
        assert fast == orjson.dumps(tbl.render(idx, vn_offset, json_as_string))


@pytest.mark.parametrize(("vn_offset", "json_as_string"), HABITS)
def test_awkward_values_render_the_same_bytes(vn_offset, json_as_string):
    cat = np.array(["A", None, 'q"uote'], dtype=object)
    tbl = Table("awkward", [
        Field("id", "int"), Field("n", "nint"), Field("flag", "bool"), Field("at", "ts"), Field("u", "uuid"),
        Field("text", "obj"), Field("data", "json"), Field("c1", "cat", "code", cat), Field("c2", "cat", "code", cat),
    ], vn_text=("at",))
    texts = ["plain", 'say "hi"', "back\\slash", "new\nline", "Nguyễn", "", None, [1, 2], "tab\t", "\x7f"]
    n = len(texts)
    tbl.append({
        "id": [0, 9, 10**7, 2**40, -5, 123456, 2**21 - 1, 2**21, 99, 7],
        "n": [NULL_INT, 0, 5, 2**33, NULL_INT, 1, 2, 3, 4, NULL_INT],
        "flag": [True, False] * (n // 2),
        "at": [NULL_TS] + [1_780_000_000_000_000 + i * 1_234_567 for i in range(n - 1)],
        "u": [b"6e5623a0-aa02-4ea1-b6e9-e95f9c116198", b""] * (n // 2),
        "text": texts,
        "data": ['{"k": "v\\u00e9", "n": [1, 2]}', None, "[]", '"s"', "1"] * (n // 2),
        "code": [0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
    })
    # every value str: the plain-string fast path is tried, and taken for "plain" alone
    for idx in (np.arange(n), np.array([0, 1]), np.array([0, 2]), np.array([0, 3]), np.array([0])):
        fast = tbl.render_json(idx, vn_offset, json_as_string)
        assert fast == orjson.dumps(tbl.render(idx, vn_offset, json_as_string))


def test_pages_rendered_ahead_are_served_only_while_nothing_changed():
    world = World(seed=5, cdrs=3_000, now=1_780_000_000_000_000)
    twin = World(seed=5, cdrs=3_000, now=1_780_000_000_000_000)
    params = {"page_size": "100"}

    world.prerender("demo", "cdr", params, 100, 200)
    assert world.page_json("demo", "cdr", params, 100, 200) == twin.page_json("demo", "cdr", params, 100, 200)

    world.prerender("demo", "cdr", params, 200, 300)
    ahead = world.page_json("demo", "cdr", {"page_size": "100"}, 200, 300)  # taken: the next call renders anew
    world.prerender("demo", "cdr", params, 200, 300)
    newest = int(world.table("demo", "cdr").cols["starting_date"][-1])
    world.add_cdrs("demo", np.array([newest + 1]))  # newest first: every later row moves down one place
    served = world.page_json("demo", "cdr", params, 200, 300)
    assert served != ahead
    assert served == world.render_json("demo", "cdr", world.query("demo", "cdr", params)[200:300])

    world.prerender("demo", "cdr", params, 300, 400)
    world.habits = world.habits.updated(vn_offset=False)
    served = world.page_json("demo", "cdr", params, 300, 400)
    assert b"+07:00" not in served
    assert served == world.render_json("demo", "cdr", world.query("demo", "cdr", params)[300:400])
