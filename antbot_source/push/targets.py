"""Phonebooks and DNC lists created by a push (`--create-phonebook`, `--create-dnc-list`), each exactly once:
a create that got no answer is looked up by name before it is sent again, and a rerun finds it by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from antbot_source.api.pages import object_id
from antbot_source.errors import ApiError, UnreachableError
from antbot_source.push.plan import PUSH_TARGETS, Client
from antbot_source.push.validate import Kind

MAX_ATTEMPTS = 3


def named(client: Client, path: str, name: str, search: str = "search") -> list[dict[str, Any]]:
    """The objects of `path` whose name is exactly `name` (the API's search is a substring match, or ignored)."""
    return [o for page in client.iter_pages(path, {search: name}) for o in page if o.get("name") == name]


def create_once(client: Client, path: str, body: Mapping[str, Any], search: str = "search") -> int:
    """POST `body` to `path` unless an object of its name exists; its id. A create without an answer
    (no connection, 5xx) is looked up by name before it is sent again."""
    name = str(body["name"])
    for _ in range(MAX_ATTEMPTS):
        found = named(client, path, name, search)
        if found:
            return min(int(object_id(o) or 0) for o in found)
        try:
            return int(object_id(client.request("POST", path, json=dict(body), safe_retry=False)) or 0)
        except (ApiError, UnreachableError) as exc:
            status = getattr(exc, "status_code", None)
            if status is not None and 400 <= status < 500 and status not in (408, 429):
                found = named(client, path, name, search)  # some servers refuse a name that exists
                if found:
                    return int(object_id(found[0]) or 0)
                raise
    raise UnreachableError(f"{path}: no answer to the create of {name!r} after {MAX_ATTEMPTS} attempts")


def missing_target_names(client: Client, kind: Kind, rows: Iterable[Mapping[str, Any]], target: Any) -> list[str]:
    """The target names the rows (or the --phonebook / --dnc-list override) give that no target of the account has."""
    ep = PUSH_TARGETS[kind]
    known = {str(o.get("name") or "") for page in client.iter_pages(ep.targets, {}) for o in page}
    given = [target] if target is not None else [{str(k).lower(): v for k, v in r.items()}.get(ep.target_field)
                                                  for r in rows]
    names = dict.fromkeys(str(v).strip() for v in given if v is not None and str(v).strip())
    return [n for n in names if not n.isdigit() and n not in known]


def create_targets(client: Client, kind: Kind, names: list[str], dry_run: bool,
                   say: Callable[[str], None]) -> dict[str, int]:
    """Create the missing targets (a dry run only names them): {name: placeholder id} for a dry run's plan."""
    ep = PUSH_TARGETS[kind]
    placeholders: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if dry_run:
            placeholders[name] = -i
            say(f"{ep.label} {name!r} does not exist: a push without --dry-run creates it")
            continue
        target_id = create_once(client, ep.targets, {"name": name})
        say(f"{ep.label} {name!r} did not exist: created it (id {target_id})")
    return placeholders
