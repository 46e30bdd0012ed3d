"""CDR pages as Arrow tables with a fixed, typed schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from antbot_source.errors import ApiError
from antbot_source.rows import normalise_row
from antbot_source.schema import BOOL, INT, TABLE_TYPES, TEXT, TS

TIMESTAMP = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_ARROW_TYPES = {INT: pa.int64(), TEXT: pa.string(), TS: TIMESTAMP, BOOL: pa.bool_()}

# The destination columns of `cdr` (schema.TABLE_TYPES), `id` never null.
CDR_SCHEMA = pa.schema(
    [pa.field(name, _ARROW_TYPES[kind], nullable=name != "id") for name, kind in TABLE_TYPES["cdr"].items()]
)

# The JSON reader reads `starting_date` as text: its own timestamp parser would take a naive value
# as UTC silently, while the cast below refuses it and sends the page down the careful path.
_WIRE_SCHEMA = CDR_SCHEMA.set(
    CDR_SCHEMA.get_field_index("starting_date"), pa.field("starting_date", pa.string())
)
_PARSE_OPTIONS = pa_json.ParseOptions(explicit_schema=_WIRE_SCHEMA, unexpected_field_behavior="ignore")
_READ_OPTIONS = pa_json.ReadOptions(use_threads=False, block_size=1 << 21)
_RESULTS_KEY = b'"results":['


@dataclass(frozen=True)
class Page:
    """One page of CDRs: the rows, the server's `count` for the query and the `next` URL."""

    table: pa.Table
    count: int | None
    next: str | None


def parse_page(body: bytes) -> Page:
    """A CDR list response (DRF envelope, bare list or bare object) as a typed Arrow page.

    Raises ApiError for an HTTP-200 body carrying `error`.
    """
    try:
        return _parse_envelope_fast(body)
    except (pa.ArrowInvalid, ValueError, KeyError):
        return _parse_careful(orjson.loads(body))


def _parse_envelope_fast(body: bytes) -> Page:
    """Parse with Arrow's JSON reader (no GIL held); raises ValueError/ArrowInvalid on anything unusual.

    The results array is turned into newline-delimited objects by splitting on `},{`. A split inside
    a string value would leave a line with an unterminated string (JSON strings hold no raw newline),
    so a wrong split always fails to parse instead of producing wrong rows.
    """
    start = body.index(_RESULTS_KEY)
    end = body.rindex(b"]")
    if body[end + 1 :].strip() != b"}":
        raise ValueError("results is not the last key")
    envelope = orjson.loads(body[: start + len(_RESULTS_KEY)] + b"]}")
    records = body[start + len(_RESULTS_KEY) : end].strip()
    if records:
        lines = records.replace(b"},{", b"}\n{")
        wire = pa_json.read_json(pa.py_buffer(lines), read_options=_READ_OPTIONS, parse_options=_PARSE_OPTIONS)
        table = _typed(wire)
    else:  # not CDR_SCHEMA.empty_table(): that imports pandas (~35 MB more at the load's peak)
        table = pa.Table.from_batches([], schema=CDR_SCHEMA)
    return Page(table, envelope.get("count"), envelope.get("next"))


def _typed(wire: pa.Table) -> pa.Table:
    starts = wire.column("starting_date").cast(TIMESTAMP)  # raises ArrowInvalid on a naive timestamp
    index = CDR_SCHEMA.get_field_index("starting_date")
    return wire.set_column(index, CDR_SCHEMA.field(index), starts).cast(CDR_SCHEMA)


def _raise_on_error(payload: Any) -> None:
    """An HTTP-200 body that is an error report, not a list nor an object (the client's rule)."""
    if isinstance(payload, dict) and "error" in payload and "results" not in payload and "id" not in payload:
        raise ApiError(f"the API answered with an error: {payload['error']}", status_code=200)


def _parse_careful(payload: Any) -> Page:
    """Row by row: ids from `url`, relation URLs, numbers rendered as text, naive timestamps."""
    _raise_on_error(payload)
    if isinstance(payload, dict) and "results" in payload:
        rows, count, next_url = payload["results"], payload.get("count"), payload.get("next")
    else:
        rows = payload if isinstance(payload, list) else [payload]
        count, next_url = len(rows), None
    return Page(rows_to_table(rows), count, next_url)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """API CDR objects as an Arrow table of CDR_SCHEMA (unknown fields dropped)."""
    columns: dict[str, list[Any]] = {field.name: [] for field in CDR_SCHEMA}
    for raw in rows:
        row = normalise_row(raw, timestamps=("starting_date",), json_fields=())
        for field in CDR_SCHEMA:
            columns[field.name].append(_coerce(row.get(field.name), field.type))
    return pa.table(columns, schema=CDR_SCHEMA)


def _coerce(value: Any, arrow_type: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_string(arrow_type):
        return value if isinstance(value, str) else str(value)
    if pa.types.is_int64(arrow_type):
        return None if value == "" else int(value)
    if pa.types.is_boolean(arrow_type):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true")
    return value


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of a timezone-aware datetime (how the Arrow column stores it)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def in_window(table: pa.Table, start: datetime, end: datetime | None) -> pa.Table:
    """Rows whose `starting_date` lies in [start, end) (end None: no upper bound)."""
    # compared as integers: turning tz-aware Arrow timestamps into datetimes imports pandas
    starts = pc.cast(table.column("starting_date"), pa.int64())
    low, high = micros(start), None if end is None else micros(end)
    bounds = pc.min_max(starts).as_py()
    if starts.null_count == 0 and bounds["min"] is not None and bounds["min"] >= low and (
        high is None or bounds["max"] < high
    ):
        return table
    mask = pc.greater_equal(starts, low)
    if high is not None:
        mask = pc.and_(mask, pc.less(starts, high))
    return table.filter(mask)


def newest_start(table: pa.Table) -> datetime | None:
    """The latest `starting_date` of `table` (None when it has none)."""
    top = pc.max(pc.cast(table.column("starting_date"), pa.int64())).as_py()
    return None if top is None else _EPOCH + timedelta(microseconds=top)
