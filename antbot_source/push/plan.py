"""The plan of a push: the input compared with what the API holds now."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from antbot_source.api.pages import object_id, relation_id
from antbot_source.errors import ConfigError
from antbot_source.push import dnc_guard
from antbot_source.push.campaign_status import STARTED
from antbot_source.push.validate import (
    CONTACT_FIELDS,
    DEFAULT_REGION,
    Item,
    Kind,
    NumberFormat,
    Reject,
    TargetResolver,
    detect_format,
    number_key,
    validate_rows,
)

# how many of the account's contacts are read to detect the number form when the targets hold too few
FORMAT_SAMPLE = 1_000


class Client(Protocol):
    """What the push needs from `antbot_source.api.client.AntBotClient`."""

    def request(self, method: str, path_or_url: str, params: Mapping[str, Any] | None = None,
                json: Any = None, safe_retry: bool = True) -> Any: ...

    def iter_pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterable[list[dict]]: ...


@dataclass(frozen=True)
class PushTarget:
    """The AntBot endpoints and field names of one kind of push."""

    kind: Kind
    targets: str  # list of phonebooks / DNC lists
    rows: str  # contacts / DNC numbers, filtered by target
    target_field: str
    number_field: str
    label: str
    option: str  # the command's option naming one target for every row


PUSH_TARGETS: dict[Kind, PushTarget] = {
    "contacts": PushTarget("contacts", "phonebook/", "contact/", "phonebook", "contact", "phonebook", "--phonebook"),
    "dnc": PushTarget("dnc", "dnc-list/", "dnc-contact/", "dnc", "phone_number", "DNC list", "--dnc-list"),
}


def require_columns(kind: Kind, columns: Iterable[str], target: Any = None) -> None:
    """ConfigError when the input cannot name a number (or, without the option, a target) in any row."""
    ep = PUSH_TARGETS[kind]
    have = set(columns)
    if ep.number_field not in have:
        raise ConfigError(f"the input has no column {ep.number_field!r} (its columns: {', '.join(sorted(have))})")
    if target is None and ep.target_field not in have:
        raise ConfigError(f"the input has no column {ep.target_field!r} and no {ep.option} was given")


@dataclass
class Existing:
    """One contact or DNC number the API holds."""

    id: int | None
    number: str
    data: dict[str, Any]


def read_existing(client: Client, ep: PushTarget, targets: Iterable[int],
                  region: str = DEFAULT_REGION) -> dict[str, list[Existing]]:
    """What the targets hold now, by item key (`target:E.164`)."""
    out: dict[str, list[Existing]] = {}
    for target in sorted(set(targets)):
        for page in client.iter_pages(ep.rows, {ep.target_field: target}):
            for obj in page:
                # unknown filters are silently ignored by the API: check the target ourselves
                if relation_id(obj.get(ep.target_field)) != target:
                    continue
                number = str(obj.get(ep.number_field) or "")
                key = f"{target}:{number_key(number, region)}"
                out.setdefault(key, []).append(Existing(object_id(obj), number, obj))
    return out


def sample_numbers(client: Client, limit: int = FORMAT_SAMPLE) -> list[str]:
    """Up to `limit` contact numbers of the account (the first pages of `contact/`)."""
    numbers: list[str] = []
    for page in client.iter_pages("contact/", {}):
        numbers.extend(str(c.get("contact") or "") for c in page)
        if len(numbers) >= limit:
            break
    return numbers[:limit]


@dataclass
class Update:
    """A present contact whose fields differ from the input (sent only with --update)."""

    item: Item
    contact_id: int
    changes: dict[str, Any]
    activates: bool


@dataclass
class Plan:
    """The input split into what will be created, updated, left alone and rejected."""

    kind: Kind
    number_format: NumberFormat
    format_source: str
    input_rows: int
    create: list[Item] = field(default_factory=list)
    present: list[Item] = field(default_factory=list)
    update: list[Update] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # DNC numbers present only in another written form: DNC matching is exact, they may not block calls
    other_form: list[tuple[Item, str]] = field(default_factory=list)
    # entries of the DNC lists pushed to that miss a form the contacts store their number in
    unblocked: list[dnc_guard.Unblocked] = field(default_factory=list)
    # started campaigns that will dial new active contacts: {id, name, phonebooks, new_active}
    dialling: list[dict[str, Any]] = field(default_factory=list)
    # keys left open (`sending`/`unknown`) by an earlier run: how they were settled by looking
    reopened_present: int = 0
    reopened_resend: int = 0
    targets: set[int] = field(default_factory=set)


def _differences(fields: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in CONTACT_FIELDS:
        if name not in fields:
            continue
        new, old = fields[name], current.get(name)
        if name == "additional_vars":
            try:
                same = json.loads(new) == (json.loads(old) if isinstance(old, str) and old else old or {})
            except ValueError:
                same = False
        elif name == "status":
            same = str(new) == str(old if old is not None else 1)
        else:
            same = str(new) == str(old or "")
        if not same:
            changes[name] = new
    return changes


def started_campaigns(client: Client, phonebooks: set[int]) -> list[dict[str, Any]]:
    """The started campaigns that use any of the phonebooks."""
    found = []
    for page in client.iter_pages("campaigns/", {"status": STARTED}):
        for camp in page:
            books = camp.get("phonebook") or []
            ids = {relation_id(b) for b in (books if isinstance(books, list) else [books])}
            if relation_id(camp.get("status")) == STARTED and ids & phonebooks:
                found.append({"id": object_id(camp), "name": camp.get("name"), "phonebooks": sorted(ids & phonebooks)})
    return found


def build_plan(client: Client, kind: Kind, rows: list[dict[str, Any]], *, target: Any = None,
               number_format: NumberFormat | None = None, update: bool = False,
               open_keys: Mapping[str, str] | None = None, region: str = DEFAULT_REGION,
               new_targets: Mapping[str, int] | None = None, allow_dnc: bool = False,
               fix_forms: bool = False) -> Plan:
    """Validate the rows, read what their targets hold now, and split them into the parts of a plan.

    `new_targets`: targets a dry run would create, {name: placeholder id below 0}; they hold nothing.
    Contacts on a DNC list of the account are rejected unless `allow_dnc`; DNC numbers are written as
    the contacts store them, and with `fix_forms` the entries missing a form get it added."""
    ep = PUSH_TARGETS[kind]
    placeholders = [{"id": i, "name": name} for name, i in (new_targets or {}).items()]
    resolver = TargetResolver(ep.label, [
        *({"id": object_id(o), "name": o.get("name")} for page in client.iter_pages(ep.targets, {}) for o in page),
        *placeholders])
    if target is not None and (reason := resolver.resolve(target)[1]):
        raise ConfigError(f"{ep.option}: {reason}")  # a bad option, not a reason to reject every row
    # first pass on targets only: their current content decides the number form the rows are written in
    targets = {t for r in rows
               if (t := resolver.resolve(target if target is not None else
                                         {str(k).lower(): v for k, v in r.items()}.get(ep.target_field))[0])}
    existing = read_existing(client, ep, {t for t in targets if t > 0}, region)
    if number_format:
        fmt, source = number_format, "--number-format"
    else:
        numbers = [e.number for group in existing.values() for e in group] if kind == "contacts" else []
        if len(numbers) < 100:
            numbers += sample_numbers(client)
        fmt = detect_format(numbers)
        source = f"detected from {len(numbers)} of the account's contacts" if numbers else "default (no contacts)"
    items, rejects = validate_rows(kind, rows, resolver, fmt, target, region)
    if kind == "contacts" and not allow_dnc:
        items, on_dnc = dnc_guard.reject_on_dnc(client, rows, items, region)
        rejects = sorted(rejects + on_dnc, key=lambda r: r.row_no)
    plan = Plan(kind, fmt, source, len(rows), rejects=rejects, targets=targets)
    if kind == "dnc":
        forms = dnc_guard.contact_forms(client, region)
        if not number_format:
            dnc_guard.write_as_contacts(items, forms)
            plan.format_source += "; a number a contact holds is written as the contact stores it"
        plan.unblocked = dnc_guard.unblocked_entries(existing, forms, region)
        if fix_forms:
            plan.create += dnc_guard.fix_items(plan.unblocked, region)
    open_keys = open_keys or {}
    for item in items:
        held = existing.get(item.key)
        if item.key in open_keys:
            if held:
                plan.reopened_present += 1
            else:
                plan.reopened_resend += 1
        if not held:
            plan.create.append(item)
            continue
        plan.present.append(item)
        if kind == "dnc" and all(e.number != item.number for e in held):
            plan.other_form.append((item, held[0].number))
        if kind == "contacts" and update and held[0].id is not None:
            changes = _differences(item.fields, held[0].data)
            if changes:
                activates = changes.get("status") == 1
                plan.update.append(Update(item, held[0].id, changes, activates))
    if kind == "contacts":
        plan.dialling = _dialling(client, plan)
    return plan


def _dialling(client: Client, plan: Plan) -> list[dict[str, Any]]:
    new_active: dict[int, int] = {}
    for item in plan.create:
        if item.fields.get("status", 1) == 1:
            new_active[item.target] = new_active.get(item.target, 0) + 1
    for upd in plan.update:
        if upd.activates:
            new_active[upd.item.target] = new_active.get(upd.item.target, 0) + 1
    if not new_active:
        return []
    campaigns = started_campaigns(client, set(new_active))
    for camp in campaigns:
        camp["new_active"] = sum(new_active[p] for p in camp["phonebooks"])
    return campaigns


def first(items: Iterable[Any], n: int) -> list[Any]:
    """The first n of an iterable."""
    return list(islice(items, n))
