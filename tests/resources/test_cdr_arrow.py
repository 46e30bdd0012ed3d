"""CDR pages to Arrow: the fast reader and the row-by-row path agree, and odd shapes still parse."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import orjson
import pytest

from antbot_source.errors import ApiError
from antbot_source.resources.cdr.typed_pages import CDR_SCHEMA, _parse_envelope_fast, page_count, parse_page


def envelope(rows: list[dict], **extra) -> bytes:
    return orjson.dumps({"count": len(rows), "next": None, "previous": None, "results": rows, **extra})


def test_fast_and_careful_paths_agree_on_sandbox_rows(sandbox):
    rows = sandbox.rows("cdr")[:500]
    page = _parse_envelope_fast(envelope(rows))  # the sandbox's pages take the fast path
    assert page.table.schema == CDR_SCHEMA
    assert page.table.equals(parse_page(orjson.dumps(rows)).table), "a bare list takes the careful path"
    by_id = {r["id"]: r for r in rows}
    for got in page.table.slice(0, 50).to_pylist():
        expected = datetime.fromisoformat(by_id[got["id"]]["starting_date"]).astimezone(UTC)
        assert got["starting_date"] == expected


def test_older_shapes_parse_row_by_row():
    rows = [{
        "url": "https://alice.antbuddy.com/rest-api/cdr/77/",
        "campaign": "https://alice.antbuddy.com/rest-api/campaigns/5/",
        "starting_date": "2026-03-01T08:00:00",  # naive: taken as UTC, like every other table
        "sip_term_status": 486, "duration": "31", "alarm": False, "unknown_field": {"x": 1},
    }]
    page = parse_page(envelope(rows))
    assert page.table.to_pylist()[0] == {
        **{f.name: None for f in CDR_SCHEMA},
        "id": 77, "campaign": 5, "starting_date": datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        "sip_term_status": "486", "duration": 31, "alarm": False,
    }
    with pytest.raises(msgspec.ValidationError):
        _parse_envelope_fast(envelope(rows))
    bare = parse_page(orjson.dumps(rows))
    assert (bare.count, bare.next, bare.table.num_rows) == (1, None, 1)


def test_an_error_body_raises_and_an_empty_page_is_empty():
    with pytest.raises(ApiError):
        parse_page(b'{"error": "Token expired"}')
    empty = parse_page(envelope([]))
    assert empty.table.num_rows == 0 and empty.count == 0


def test_page_count_reads_the_count_of_any_shape():
    rows = [{"id": 1, "starting_date": "2026-03-01T08:00:00+07:00"}, {"id": 2}]
    assert page_count(envelope(rows, count=12_345)) == 12_345
    assert page_count(orjson.dumps(rows)) == 2  # a bare list counts its rows
    with pytest.raises(ApiError):
        page_count(b'{"error": "Token expired"}')
