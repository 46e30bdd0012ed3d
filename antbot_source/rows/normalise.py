"""Row normalisation: ids from `url`, relation URLs to ids, JSON-string fields parsed, timestamps to UTC."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import orjson

from antbot_source.api.pages import id_from_url, url_id

# fields the API renders as JSON-encoded strings (habit `json_as_string`)
JSON_STRING_FIELDS: frozenset[str] = frozenset({"additional_vars", "collected_data", "data"})

_URL_PREFIXES = ("http://", "https://")  # checked first: most values are not links, and the check is cheap


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 value as a timezone-aware UTC datetime; None for null or empty.

    A value without an offset is taken as UTC: the API renders every timestamp with an offset
    (`Z` or `+07:00`), so a naive one is a rendering choice, never a server-local reading.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_json_string(value: Any) -> Any:
    """A JSON-encoded string as the value it encodes (an object, a list, or a bare number, string or
    boolean: `"5"` is the number 5 on every destination); text that is not JSON stays the text."""
    if value == "":
        return None
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def normalise_row(
    row: dict[str, Any],
    *,
    timestamps: Collection[str] = (),
    json_fields: Collection[str] = JSON_STRING_FIELDS,
) -> dict[str, Any]:
    """One API object as a destination row.

    - `id` taken from `url` when absent (`url` itself is dropped: it is the id plus the endpoint);
    - relation URLs (and lists of them) become integer ids;
    - `json_fields` holding JSON-encoded strings become objects;
    - `timestamps` become timezone-aware UTC datetimes.
    """
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "url":
            continue
        if isinstance(value, list):
            value = [id_from_url(v) for v in value]
        elif isinstance(value, str) and value.startswith(_URL_PREFIXES):
            value = id_from_url(value)
        out[key] = value
    if out.get("id") is None and (from_url := url_id(row.get("url"))) is not None:
        out["id"] = from_url
    for key in json_fields:
        if key in out:
            out[key] = _parse_json_string(out[key])
    for key in timestamps:
        if key in out:
            out[key] = parse_timestamp(out[key])
    return out
