"""API rows as Arrow tables typed by `schema.TABLE_TYPES`: what every resource hands to dlt.

dlt loads Arrow tables as they are; rows as dicts go through its row-by-row normaliser and
gzip-compressed intermediate files first (400,000 contacts: 9 s as Arrow, 23 s as dicts).
Imports Arrow and orjson only: the CDR walker processes use it too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson
import pyarrow as pa

from antbot_source.errors import ApiError
from antbot_source.rows.schema import BOOL, DELETED_COLUMN, INT, JSON, TABLE_TYPES, TEXT, TS, json_fields

TIMESTAMP = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# JSON travels as its text: dlt stores a string column hinted `json` as JSON
ARROW_TYPES = {INT: pa.int64(), TEXT: pa.string(), TS: TIMESTAMP, BOOL: pa.bool_(), JSON: pa.string()}


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of a timezone-aware datetime (how a TIMESTAMP column stores it)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    """The timezone-aware datetime of microseconds since the epoch (how a TIMESTAMP column stores it)."""
    return _EPOCH + timedelta(microseconds=value)


@cache
def table_schema(table: str, *, tombstones: bool = False) -> pa.Schema:
    """The Arrow schema of `table` (`id` never null); with `tombstones`, the hard-delete marker column too."""
    fields = [pa.field(name, ARROW_TYPES[kind], nullable=name != "id") for name, kind in TABLE_TYPES[table].items()]
    if tombstones:
        fields.append(pa.field(DELETED_COLUMN, pa.bool_()))
    return pa.schema(fields)


def rows_to_table(rows: list[dict[str, Any]], table: str, *, tombstones: bool = False,
                  extra: bool = False) -> pa.Table:
    """Rows (as `rows.normalise_row` gives them) as an Arrow table of `table_schema(table, tombstones=...)`.

    Values of another type are coerced to their column's (a number in a text column, "5" in an
    integer column); JSON columns hold JSON text. With `extra`, fields the schema does not list
    follow as columns of the type Arrow infers (JSON text when it infers none or a nested one);
    without it they are dropped.
    """
    schema = table_schema(table, tombstones=tombstones)
    kinds = TABLE_TYPES[table]
    jsons = json_fields(table)
    if jsons:
        rows = [_json_as_text(row, jsons) for row in rows]
    try:  # Arrow reads the dicts itself: seven times as fast as a column at a time from Python
        out = pa.Table.from_pylist(rows, schema=schema)
    except _CONVERSION_ERRORS:  # a value of another type somewhere: coerced column by column
        out = pa.Table.from_arrays(
            # the tombstone marker is the one column that is not in TABLE_TYPES: a boolean
            [_coerced([row.get(f.name) for row in rows], f.type, kinds.get(f.name, BOOL), f"{table}.{f.name}")
             for f in schema],
            schema=schema,
        )
    if extra:
        known = set(schema.names)
        for name in dict.fromkeys(key for row in rows for key in row if key not in known):
            column = _inferred([row.get(name) for row in rows])
            if column is not None:
                out = out.append_column(name, column)
    return out


_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_as_text(row: dict[str, Any], jsons: tuple[str, ...]) -> dict[str, Any]:
    """`row` (a copy, when it changes) with the values of its JSON fields as JSON text."""
    texts = {name: _json_text(row[name]) for name in jsons if row.get(name) is not None}
    return {**row, **texts} if texts else row


def _coerced(values: list[Any], arrow_type: pa.DataType, kind: str, where: str) -> pa.Array:
    """The column of `values`, each coerced to `kind` where Arrow does not take it as it is."""
    try:
        return pa.array(values, type=arrow_type)
    except _CONVERSION_ERRORS:
        coerce = _COERCE[kind]
    coerced = []
    for value in values:
        try:
            coerced.append(None if value is None else pa.scalar(coerce(value), type=arrow_type))
        except _CONVERSION_ERRORS:
            raise ApiError(f"AntBot sent {value!r} as {where}, which holds values of type {kind}") from None
    return pa.array(coerced, type=arrow_type)


def _int(value: Any) -> int | None:
    return None if value == "" else int(value)


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true")


_COERCE: dict[str, Callable[[Any], Any]] = {
    TEXT: lambda v: v if isinstance(v, str) else _json_text(v) if isinstance(v, dict | list) else str(v),
    JSON: lambda v: v,  # JSON text already (`_json_as_text`)
    INT: _int,
    BOOL: _bool,
    TS: lambda v: v,  # `normalise_row` parsed them already: what is left is refused, not guessed
}


def _inferred(values: list[Any]) -> pa.Array | None:
    """A column the schema does not know: Arrow's inferred type, or JSON text for nested or mixed values;
    None when every value is null (no type to give it, as dlt gives none to such a field of dicts)."""
    try:
        array = pa.array(values)
        if pa.types.is_null(array.type):
            return None
        if not pa.types.is_nested(array.type):
            return array
    except _CONVERSION_ERRORS:
        pass
    return pa.array([None if v is None else _json_text(v) for v in values], type=pa.string())


def arrow_pages(table: str) -> Callable[..., pa.Table]:
    """The resource step (`add_step`) that turns each page of rows, or of tombstones, into an Arrow table.

    Steps run on dlt's main thread, while the pages are read on its pool threads: pyarrow imports
    pandas on its first conversion, and dlt, on its main thread, takes a pandas module that another
    thread is still importing for a broken one ("partially initialized module").
    """
    return lambda rows, meta=None: rows_to_table(rows, table, tombstones=True, extra=True)
