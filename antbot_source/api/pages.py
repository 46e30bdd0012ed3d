"""The rules AntBot's answers follow, in one place: list pages, error bodies, ids and relations.

- A list answers a DRF envelope `{"count", "next", "previous", "results"}`; a few endpoints a bare
  list (one page) or a bare object (a page of one row). Anything else is an ApiError.
- An HTTP-200 body `{"error": ...}` is a failure, as is a body that is not JSON.
- `next` is an absolute URL, followed to the end (`AntBotClient.walk`); page numbers are never computed.
- Objects carry an integer `id`; older builds only a `url` ending in `/<id>/`. Relations are ids,
  or absolute URLs of the related object on older builds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from antbot_source.errors import ApiError

# DRF hyperlinks: absolute, no query, ending in `/<id>/`
_RELATION_URL = re.compile(r"^https?://\S+/(\d+)/$")
# the id at the end of an object's `url` (a trailing slash, query or fragment allowed)
_ID_AT_END = re.compile(r"/(\d+)/?(?:[?#].*)?$")


class Linked(Protocol):
    """A parsed page: where the next one is (None on the last)."""

    next: str | None


@dataclass(frozen=True)
class ListPage:
    """One answer of a list endpoint: its rows, the `next` URL and the server's `count`."""

    rows: list[dict]
    next: str | None
    count: int | None

    @classmethod
    def parse(cls, body: bytes, where: str) -> ListPage:
        return cls(*page_parts(parse_json(body, where), where))


def id_from_url(value: Any) -> Any:
    """The integer id at the end of an absolute object URL (`.../contact/42/` -> 42); other values as given."""
    if isinstance(value, str):
        match = _RELATION_URL.match(value)
        if match:
            return int(match.group(1))
    return value


def url_id(url: Any) -> int | None:
    """The id at the end of an object's own `url` (older builds carry no `id`)."""
    match = _ID_AT_END.search(url) if isinstance(url, str) else None
    return int(match.group(1)) if match else None


def relation_id(value: Any) -> int | None:
    """A relation as an integer id: the API gives an int, a digit string or an absolute URL."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return url_id(value)


def object_id(obj: Mapping[str, Any]) -> int | None:
    """An object's id: `id`, or the last segment of its `url` on older builds."""
    return relation_id(obj["id"]) if obj.get("id") is not None else url_id(obj.get("url"))


def raise_on_error_body(body: Any, where: str) -> None:
    """An HTTP-200 body that reports an error (`{"error": ...}`, neither a list nor an object) is a failure."""
    if isinstance(body, dict) and "error" in body and "results" not in body and "id" not in body:
        raise ApiError(f"AntBot reported an error for {where}: {str(body['error'])[:300]}",
                       status_code=200, body=body)


def page_parts(body: Any, where: str) -> tuple[list[dict], str | None, int | None]:
    """The rows, the `next` URL and the `count` of one answer of a list endpoint.

    A DRF envelope, a bare list (one page, no `next`) or a bare object (a page of one row); any other
    JSON is an ApiError naming the endpoint, as is an HTTP-200 error body.
    """
    raise_on_error_body(body, where)
    if isinstance(body, dict) and "results" in body:
        rows, next_url, count = body["results"], body.get("next"), body.get("count")
    elif isinstance(body, list):
        rows, next_url, count = body, None, len(body)
    elif isinstance(body, dict):
        rows, next_url, count = [body], None, 1
    else:
        raise ApiError(f"AntBot answered {where} with {type(body).__name__} JSON, not a list of objects")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ApiError(f"AntBot answered {where} with `results` that are not a list of objects")
    if next_url is not None and not isinstance(next_url, str):
        raise ApiError(f"AntBot answered {where} with a `next` that is not a URL: {next_url!r}")
    if count is not None and not isinstance(count, int):
        raise ApiError(f"AntBot answered {where} with a `count` that is not a number: {count!r}")
    return rows, next_url, count


def parse_json(content: bytes, where: str) -> Any:
    """A response body as JSON; anything else (an HTML error page, a proxy's text) is an ApiError."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        start = content[:60].decode("utf-8", "replace").strip().splitlines()
        raise ApiError(f"AntBot answered {where} with a body that is not JSON "
                       f"(starting {start[0][:40] if start else ''!r})", body=content[:500]) from None


def describe(path_or_url: str) -> str:
    """The path part of a request target, for messages (never a query string with a token in it)."""
    return httpx.URL(path_or_url).path or path_or_url


