"""The plan of `antbot push campaigns`: desired campaigns (one row each, keyed by name) against the account's.

A NULL column leaves that setting as it is; a campaign that does not exist needs every column the API
requires. The survey of a campaign that has been started is not compared: its first start copies the
template into a survey of its own, which `object_id` names from then on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from antbot_source.api.pages import object_id, relation_id
from antbot_source.compliance.rules import CallingRules
from antbot_source.push import campaign_status as S
from antbot_source.push.plan import Client
from antbot_source.push.validate import Reject, TargetResolver

# input column -> the API's field
API_FIELDS = {"phonebook": "phonebook", "survey": "object_id", "gateway": "aleg_gateway", "frequency": "frequency",
              "starting_date": "startingdate", "expiration_date": "expirationdate",
              "daily_start_time": "daily_start_time", "daily_stop_time": "daily_stop_time",
              "callerid": "callerid", "description": "description"}
REQUIRED_TO_CREATE = ("phonebook", "survey", "gateway", "frequency", "starting_date", "expiration_date",
                      "daily_start_time", "daily_stop_time")
# what a PUT carries besides the changes (the API page's update body): a full update keeps them as they are
PUT_FIELDS = ("name", "description", "callerid", "phonebook", "frequency", "startingdate", "expirationdate",
              "daily_start_time", "daily_stop_time")


@dataclass
class CampaignChange:
    """One campaign's part of the plan: a create, changed settings, a status action, or nothing."""

    row_no: int
    name: str
    campaign_id: int | None
    body: dict[str, Any]  # create: every field; update: the changed fields
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # API field -> (now, wanted)
    status: str | None = None  # desired state to move to (`started`...), None: no action
    current_status: int | None = None
    dialled: int = 0  # a start: the active contacts of its phonebooks
    put: dict[str, Any] = field(default_factory=dict)  # an update: the PUT body (the changes and what it keeps)

    @property
    def key(self) -> str:
        return f"campaign:{self.name}"

    # the ledger's columns: target is the campaign id, number holds the name
    @property
    def target(self) -> int | None:
        return self.campaign_id

    @property
    def number(self) -> str:
        return self.name

    @property
    def create(self) -> bool:
        return self.campaign_id is None

    @property
    def reduces_calls(self) -> bool:
        return self.status in ("paused", "ended", "aborted")


@dataclass
class CampaignPlan:
    """The desired campaigns split into creates, updates, status actions, unchanged and rejects."""

    input_rows: int
    changes: list[CampaignChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    reopened: int = 0  # campaigns an earlier push left unconfirmed, looked up again

    @property
    def creates(self) -> list[CampaignChange]:
        return [c for c in self.changes if c.create]

    @property
    def updates(self) -> list[CampaignChange]:
        return [c for c in self.changes if not c.create and c.body]

    @property
    def starts(self) -> list[CampaignChange]:
        return [c for c in self.changes if c.status == "started"]

    def actions(self, status: str) -> list[CampaignChange]:
        return [c for c in self.changes if c.status == status]


class BadValue(ValueError):
    """A cell that cannot be read as its column's type (the message is the reject reason)."""


def _list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [v for v in value if v is not None and str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _frequency(value: Any) -> int:
    try:
        number = float(value) if not isinstance(value, bool) else 0.0
    except (TypeError, ValueError):
        raise BadValue(f"bad frequency {value!r} (calls per minute)") from None
    if number != int(number) or number < 1:
        raise BadValue(f"bad frequency {value!r} (a whole number of calls per minute, at least 1)")
    return int(number)


def _instant(column: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise BadValue(f"{column} is not a timestamp: {value!r}") from None
    if stamp.tzinfo is None:
        raise BadValue(f"{column} has no time zone: {value!r}")
    return stamp


def _clock(column: str, value: Any) -> time:
    if isinstance(value, time):
        return value.replace(microsecond=0)
    try:
        return time.fromisoformat(str(value).strip()).replace(microsecond=0)
    except ValueError:
        raise BadValue(f"{column} is not a time of day (HH:MM or HH:MM:SS): {value!r}") from None


def _read_instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _read_clock(value: Any) -> time | None:
    try:
        return time.fromisoformat(str(value)).replace(microsecond=0)
    except ValueError:
        return None


@dataclass
class AccountNames:
    """What the plan compares with: the account's campaigns by name, and the names the columns resolve."""

    campaigns: dict[str, list[dict[str, Any]]]
    phonebooks: TargetResolver
    surveys: TargetResolver
    gateways: TargetResolver
    template_ids: set[int]

    @classmethod
    def read(cls, client: Client) -> AccountNames:
        def objects(path: str) -> list[dict[str, Any]]:
            return [{"id": object_id(o), "name": o.get("name")} for page in client.iter_pages(path, {}) for o in page]

        campaigns: dict[str, list[dict[str, Any]]] = {}
        for page in client.iter_pages("campaigns/", {}):
            for camp in page:
                campaigns.setdefault(str(camp.get("name") or ""), []).append(camp)
        templates = objects("survey-template/")
        return cls(campaigns, TargetResolver("phonebook", objects("phonebook/")), TargetResolver("survey", templates),
                   TargetResolver("gateway", objects("gateway/")), {int(t["id"]) for t in templates})


def _wanted(row: Mapping[str, Any], account: AccountNames) -> dict[str, Any]:
    """The API fields a row sets (NULL columns left out), as they are sent; BadValue for a cell that is wrong."""
    out: dict[str, Any] = {}
    for column, api in API_FIELDS.items():
        value = row.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if column == "phonebook":
            ids = []
            for part in _list(value):
                found, reason = account.phonebooks.resolve(part)
                if reason:
                    raise BadValue(reason)
                ids.append(found)
            out[api] = sorted(set(ids))
        elif column in ("survey", "gateway"):
            found, reason = (account.surveys if column == "survey" else account.gateways).resolve(value)
            if reason:
                raise BadValue(reason)
            out[api] = found
        elif column == "frequency":
            out[api] = _frequency(value)
        elif column in ("starting_date", "expiration_date"):
            out[api] = _instant(column, value).isoformat()
        elif column in ("daily_start_time", "daily_stop_time"):
            out[api] = _clock(column, value).isoformat()
        else:
            out[api] = str(value).strip()
    return out


def _same(api: str, wanted: Any, current: Any, template_ids: set[int]) -> bool:
    if api == "phonebook":
        books = current if isinstance(current, list) else [current]
        return set(wanted) == {relation_id(b) for b in books if b is not None}
    if api == "object_id":
        now = relation_id(current)
        return now not in template_ids or now == wanted  # a started campaign names its own survey copy
    if api == "aleg_gateway":
        return relation_id(current) == wanted
    if api == "frequency":
        return str(current) == str(wanted)
    if api in ("startingdate", "expirationdate"):
        return _read_instant(current) == datetime.fromisoformat(wanted)
    if api in ("daily_start_time", "daily_stop_time"):
        return _read_clock(current) == time.fromisoformat(wanted)
    return str(current or "") == wanted


def _effective(wanted: Mapping[str, Any], current: Mapping[str, Any], api: str) -> Any:
    return wanted[api] if api in wanted else current.get(api)


def _check(change: CampaignChange, wanted: Mapping[str, Any], current: Mapping[str, Any], rules: CallingRules,
           allow_outside_hours: bool) -> str | None:
    """The reason a planned change is refused, or None."""
    start, stop = (_read_instant(_effective(wanted, current, a)) for a in ("startingdate", "expirationdate"))
    if ("startingdate" in wanted or "expirationdate" in wanted) and start and stop and stop < start:
        local = ZoneInfo(rules.timezone)
        return (f"expiration_date {stop.astimezone(local).isoformat()} is before starting_date "
                f"{start.astimezone(local).isoformat()}")
    if change.current_status in S.FINISHED and change.status in ("started", "paused"):
        return f"campaign has {S.read_label(change.current_status)}: it cannot be {change.status} again"
    sets_window = "daily_start_time" in wanted or "daily_stop_time" in wanted
    if allow_outside_hours or not (sets_window or change.status == "started"):
        return None
    first, last = (_read_clock(_effective(wanted, current, a)) for a in ("daily_start_time", "daily_stop_time"))
    if first is None or last is None or not rules.allows(first, last):
        return (f"daily window {first}-{last} is outside the calling hours {rules.first_hour:%H:%M}-"
                f"{rules.last_hour:%H:%M} ({rules.timezone}; --allow-outside-hours to push it anyway)")
    return None


def active_contacts(client: Client, phonebooks: Iterable[int]) -> int:
    """How many active contacts the phonebooks hold (a start enrols them all)."""
    count = 0
    for book in sorted(set(phonebooks)):
        for page in client.iter_pages("contact/", {"phonebook": book}):
            count += sum(1 for c in page if relation_id(c.get("phonebook")) == book and str(c.get("status")) in
                         ("1", "True"))
    return count


def _compare(row_no: int, name: str, row: Mapping[str, Any], account: AccountNames, rules: CallingRules,
             allow_outside_hours: bool) -> tuple[CampaignChange, Any] | str:
    """One valid-named row against the campaign of its name: (the change, the campaign now) or a reject reason."""
    status = str(row.get("status") or "").strip().lower() or None
    if status is not None and status not in S.ACTIONS:
        return f"bad status {row.get('status')!r} ({', '.join(S.ACTIONS)} or empty)"
    try:
        wanted = _wanted(row, account)
    except BadValue as exc:
        return str(exc)
    existing = account.campaigns.get(name, [])
    if len(existing) > 1:
        return f"campaign name {name!r} is ambiguous (ids {sorted(object_id(c) or 0 for c in existing)})"
    current: dict[str, Any] = existing[0] if existing else {}
    if not existing:
        missing = [c for c in REQUIRED_TO_CREATE if API_FIELDS[c] not in wanted]
        if missing:
            return f"missing required columns for a new campaign: {', '.join(missing)}"
        change = CampaignChange(row_no, name, None, {"name": name, **wanted}, status=status)
    else:
        now = relation_id(current.get("status"))
        diffs = {api: (current.get(api), value) for api, value in wanted.items()
                 if not _same(api, value, current.get(api), account.template_ids)}
        moves = status if status and now not in S.REACHED[status] else None
        change = CampaignChange(row_no, name, object_id(current), {api: new for api, (_, new) in diffs.items()},
                                diffs, moves, now)
    reason = _check(change, wanted, current, rules, allow_outside_hours)
    if reason:
        return reason
    if change.body and not change.create:
        change.put = put_body(change.body, current)
    return change, _effective(wanted, current, "phonebook")


def build_campaign_plan(client: Client, rows: list[dict[str, Any]], rules: CallingRules, *,
                        allow_outside_hours: bool = False, open_keys: Mapping[str, str] | None = None) -> CampaignPlan:
    """Validate the rows and compare each with the campaign of its name."""
    account = AccountNames.read(client)
    plan = CampaignPlan(len(rows))
    first_row: dict[str, int] = {}
    for row_no, raw in enumerate(rows, start=1):
        row = {str(k).lower(): v for k, v in raw.items()}
        name = str(row.get("name") or "").strip()
        if name in first_row:
            plan.rejects.append(Reject(row_no, row, f"duplicate of input row {first_row[name]} (same name {name!r})"))
            continue
        outcome = _compare(row_no, name, row, account, rules, allow_outside_hours) if name else "no name"
        if isinstance(outcome, str):
            plan.rejects.append(Reject(row_no, row, outcome))
            continue
        first_row[name] = row_no
        change, books = outcome
        if open_keys and change.key in open_keys:
            plan.reopened += 1
        if not change.create and not change.body and change.status is None:
            plan.unchanged.append(name)
            continue
        if change.status == "started":
            change.dialled = active_contacts(client, [relation_id(b) for b in _list_of(books) if b is not None])
        plan.changes.append(change)
    return plan


def _list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def put_body(changed: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a PUT: the page's update fields as they are now, with the changes."""
    body: dict[str, Any] = {}
    for api in PUT_FIELDS:
        value = current.get(api)
        if api == "phonebook":
            value = [relation_id(b) for b in _list_of(value) if b is not None]
        if value is not None:
            body[api] = value
    return {**body, **changed}
