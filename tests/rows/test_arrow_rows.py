"""Rows as typed Arrow tables: coercion to the column types, JSON as text, fields the schema does not know."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest

from antbot_source.errors import ApiError
from antbot_source.rows.arrow import rows_to_table, table_schema
from antbot_source.rows.schema import DELETED_COLUMN


def test_values_take_their_column_types():
    rows = [
        {"id": 1, "phonebook": "7", "contact": 84912000001, "status": "", "additional_vars": {"tier": 2},
         "created_date": datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC)},
        {"id": 2, "phonebook": 7, "contact": "0912000002", "status": 1, "additional_vars": [1, "a"]},
        {"id": 3, "additional_vars": "plain text"},
    ]
    table = rows_to_table(rows, "contacts")
    assert table.schema == table_schema("contacts")
    got = table.to_pylist()
    assert [r["phonebook"] for r in got] == [7, 7, None]
    assert [r["contact"] for r in got] == ["84912000001", "0912000002", None]
    assert [r["status"] for r in got] == [None, 1, None]
    assert [orjson.loads(r["additional_vars"]) for r in got] == [{"tier": 2}, [1, "a"], "plain text"]
    assert got[0]["created_date"] == datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC)


def test_fields_the_schema_does_not_know():
    rows = [{"id": 1, "priority": 3, "tags": {"vip": True}, "never": None, "label": "a"},
            {"id": 2, "priority": None, "tags": None, "never": None, "label": 5}]
    table = rows_to_table(rows, "phonebooks", extra=True)
    assert table.column_names[-3:] == ["priority", "tags", "label"], "an all-null field has no type to load"
    assert table.schema.field("priority").type == pa.int64()
    assert table.column("tags").to_pylist() == ['{"vip":true}', None]
    assert table.column("label").to_pylist() == ['"a"', "5"], "mixed values as JSON text"
    assert "priority" not in rows_to_table(rows, "phonebooks").column_names


def test_tombstones_carry_the_key_and_the_marker():
    table = rows_to_table([{"id": 9, DELETED_COLUMN: True}], "contacts", tombstones=True)
    row = table.to_pylist()[0]
    assert row["id"] == 9 and row[DELETED_COLUMN] is True
    assert all(v is None for k, v in row.items() if k not in ("id", DELETED_COLUMN))


def test_a_value_that_fits_no_coercion_is_an_api_error_naming_the_column():
    with pytest.raises(ApiError, match=r"'abc' as contacts.status, which holds values of type bigint"):
        rows_to_table([{"id": 1, "status": 2}, {"id": 2, "status": "abc"}], "contacts")
