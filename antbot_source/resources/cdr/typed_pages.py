"""CDR pages as Arrow tables with a fixed, typed schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from antbot_source.api.pages import page_parts, parse_json
from antbot_source.resources.cdr.windows import Span
from antbot_source.rows.arrow import TIMESTAMP, micros, rows_to_table, table_schema
from antbot_source.rows.normalise import normalise_row

_WHERE = "cdr/"  # how messages name the endpoint these pages come from

# The destination columns of `cdr` (schema.TABLE_TYPES), `id` never null.
CDR_SCHEMA = table_schema("cdr")

# The fast path decodes pages into typed structs (msgspec: about twice as fast as Arrow's JSON reader
# here, and strict: a value of another type, a missing `id` or an error body fails the decode and the
# page goes down the careful path). `starting_date` stays text: the cast below refuses a naive value,
# where a lenient timestamp parser would take it as UTC silently.
_WIRE_SCHEMA = CDR_SCHEMA.set(
    CDR_SCHEMA.get_field_index("starting_date"), pa.field("starting_date", pa.string())
)
_PYTHON_TYPES = {pa.int64(): int, pa.string(): str, pa.bool_(): bool}
_WireRow = msgspec.defstruct(
    "WireRow",
    [(f.name, int) if f.name == "id" else (f.name, _PYTHON_TYPES[f.type] | None, None) for f in _WIRE_SCHEMA],
    gc=False,  # scalar fields only: no reference cycles, and untracked structs spare the collector
)
_WireEnvelope = msgspec.defstruct(
    "WireEnvelope", [("count", int), ("results", list[_WireRow]), ("next", str | None, None)]
)
_decode_envelope = msgspec.json.Decoder(_WireEnvelope).decode
_decode_count = msgspec.json.Decoder(msgspec.defstruct("WireCount", [("count", int)])).decode


@dataclass(frozen=True)
class CdrPage:
    """One page of CDRs: the rows, the server's `count` for the query and the `next` URL."""

    table: pa.Table
    count: int | None
    next: str | None


def parse_page(body: bytes) -> CdrPage:
    """A CDR list response (DRF envelope, bare list or bare object) as a typed Arrow page.

    Raises ApiError for an HTTP-200 body carrying `error`, a body that is not JSON or not a list.
    """
    try:
        return _parse_envelope_fast(body)
    except (msgspec.DecodeError, pa.ArrowInvalid):  # ValidationError included
        return _parse_careful(parse_json(body, _WHERE))


def page_count(body: bytes) -> int | None:
    """The server's `count` of a CDR list response, rows left unread (a bare list: its length)."""
    try:
        return _decode_count(body).count
    except msgspec.DecodeError:
        return parse_page(body).count


def _parse_envelope_fast(body: bytes) -> CdrPage:
    """Decode a DRF envelope of well-typed rows; raises msgspec.DecodeError or ArrowInvalid on anything else."""
    envelope = _decode_envelope(body)
    rows = [msgspec.structs.astuple(row) for row in envelope.results]
    if rows:
        columns = zip(*rows, strict=True)
        wire = pa.table([pa.array(col, type=f.type) for col, f in zip(columns, _WIRE_SCHEMA, strict=True)],
                        schema=_WIRE_SCHEMA)
        table = _typed(wire)
    else:  # not CDR_SCHEMA.empty_table(): that imports pandas (~35 MB more at the load's peak)
        table = pa.Table.from_batches([], schema=CDR_SCHEMA)
    return CdrPage(table, envelope.count, envelope.next)


def _typed(wire: pa.Table) -> pa.Table:
    starts = wire.column("starting_date").cast(TIMESTAMP)  # raises ArrowInvalid on a naive timestamp
    index = CDR_SCHEMA.get_field_index("starting_date")
    return wire.set_column(index, CDR_SCHEMA.field(index), starts).cast(CDR_SCHEMA)


def _parse_careful(payload: Any) -> CdrPage:
    """Row by row: ids from `url`, relation URLs, numbers rendered as text, naive timestamps."""
    rows, next_url, count = page_parts(payload, _WHERE)
    normalised = [normalise_row(row, timestamps=("starting_date",), json_fields=()) for row in rows]
    return CdrPage(rows_to_table(normalised, "cdr"), count, next_url)


def within(table: pa.Table, span: Span) -> pa.Table:
    """Rows whose `starting_date` lies in `span`."""
    # compared as integers: turning tz-aware Arrow timestamps into datetimes imports pandas
    starts = pc.cast(table.column("starting_date"), pa.int64())
    low, high = micros(span.low), None if span.high is None else micros(span.high)
    below_high = pc.less_equal if span.closed else pc.less
    bounds = pc.min_max(starts).as_py()
    if starts.null_count == 0 and bounds["min"] is not None and bounds["min"] >= low and (
        high is None or bounds["max"] < high or (span.closed and bounds["max"] == high)
    ):
        return table
    mask = pc.greater_equal(starts, low)
    if high is not None:
        mask = pc.and_(mask, below_high(starts, high))
    return table.filter(mask)
