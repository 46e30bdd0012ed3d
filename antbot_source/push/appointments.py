"""`antbot push appointments`: rows of a warehouse table as events with one reminder call (alarm) each.

An appointment is identified by (calendar, the number's E.164 form, start): nothing at the API is
unique, and an event carries no number, so the plan reads the calendars' events and the alarms on
them, and an appointment is present when an event of its calendar at its start has an alarm to its
number. An event at that start without any alarm is one a killed push created before its alarm: it
is completed with the alarm, never booked twice (events of the same content first, since two people
at one time in one calendar are two appointments).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from antbot_source.api.pages import object_id, relation_id
from antbot_source.push.plan import Client, sample_numbers
from antbot_source.push.validate import (
    DEFAULT_REGION,
    Item,
    NumberFormat,
    Phone,
    Reject,
    TargetResolver,
    detect_format,
    number_key,
    parse_phone,
)

KIND = "appointments"
DEFAULT_TITLE = "Appointment"
DEFAULT_LENGTH = timedelta(minutes=30)
DEFAULT_NOTICE_BEFORE = timedelta(days=1)
MAX_TITLE = 255  # upstream's event title column
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def second_of(value: datetime) -> datetime:
    """A time in UTC to the second: how starts, ends and reminder times are compared (an API may
    keep or drop the fraction of a second it was sent)."""
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass
class Appointment(Item):
    """A valid input row: `target` is the calendar, `creator` its calendar user. `given` names the
    optional columns the row set (only those are compared with what the API holds for --update)."""

    creator: int = 0
    start: datetime = _EPOCH
    end: datetime = _EPOCH
    title: str = DEFAULT_TITLE
    description: str = ""
    notice_at: datetime = _EPOCH
    transfer: Phone | None = None
    transfer_number: str = ""
    given: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return f"{self.target}:{self.phone.key}:{second_of(self.start):%Y-%m-%dT%H:%M:%SZ}"

    def event_body(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "creator": self.creator, "calendar": self.target}

    def alarm_body(self, event_id: int) -> dict[str, Any]:
        return {"alarm_phonenumber": self.number, "date_start_notice": self.notice_at.isoformat(),
                "phonenumber_transfer": self.transfer_number, "event": event_id}


@dataclass(frozen=True)
class Calendars:
    """The account's calendars, and the calendar user of each the account manages (the events' creator)."""

    resolver: TargetResolver
    creator: dict[int, int | None]

    @classmethod
    def read(cls, client: Client) -> Calendars:
        users = {object_id(u) for page in client.iter_pages("calendar-user/", {}) for u in page}
        calendars = [c for page in client.iter_pages("calendar/", {}) for c in page]
        resolver = TargetResolver("calendar", ({"id": object_id(c), "name": c.get("name")} for c in calendars))
        creator = {int(object_id(c) or 0): (u if (u := relation_id(c.get("user"))) in users else None)
                   for c in calendars}
        return cls(resolver, creator)


def _when(row: Mapping[str, Any], name: str) -> tuple[datetime | None, str | None]:
    """A timezone-aware timestamp column (a value or ISO-8601 text), None when empty, or a reason."""
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, f"{name} {value!r} is not a timestamp"
    if not isinstance(value, datetime):
        return None, f"{name} {value!r} is not a timestamp"
    if value.tzinfo is None or value.utcoffset() is None:
        return None, f"{name} {value.isoformat()} has no time zone (use a timestamp with time zone)"
    return value, None


def _text(row: Mapping[str, Any], name: str) -> str | None:
    value = row.get(name)
    return None if value is None else str(value).strip()


def validate_appointments(rows: Iterable[Mapping[str, Any]], calendars: Calendars, fmt: NumberFormat, *,
                          calendar: Any = None, notice_before: timedelta = DEFAULT_NOTICE_BEFORE,
                          now: datetime | None = None, region: str = DEFAULT_REGION,
                          ) -> tuple[list[Appointment], list[Reject]]:
    """Split input rows into appointments (one per key) and rejects with reasons."""
    now = now or datetime.now(UTC)
    items: list[Appointment] = []
    rejects: list[Reject] = []
    first_row: dict[str, int] = {}
    for row_no, raw in enumerate(rows, start=1):
        row = {str(k).lower(): v for k, v in raw.items()}
        item, reason = _appointment(row_no, row, calendars, fmt, calendar, notice_before, now, region)
        if item is not None and item.key in first_row:
            reason = (f"repeat of input row {first_row[item.key]} (same calendar, number {item.number} "
                      f"and start {item.start.isoformat()})")
        if item is None or reason:
            rejects.append(Reject(row_no, row, reason or "invalid row"))
            continue
        first_row[item.key] = row_no
        items.append(item)
    return items, rejects


def _appointment(row_no: int, row: dict[str, Any], calendars: Calendars, fmt: NumberFormat, calendar: Any,
                 notice_before: timedelta, now: datetime, region: str) -> tuple[Appointment | None, str | None]:
    target, reason = calendars.resolver.resolve(calendar if calendar is not None else row.get("calendar"))
    if reason or target is None:
        return None, reason
    creator = calendars.creator.get(target)
    if creator is None:
        return None, f"calendar {target} has no calendar user the account manages (the events' creator)"
    phone = parse_phone(row.get("phone_number"), region)
    if phone is None:
        raw = row.get("phone_number")
        return None, f"invalid phone number {raw!r}" if raw not in (None, "") else "no phone_number"
    start, reason = _when(row, "start")
    if reason or start is None:
        return None, reason or "no start"
    end, reason = _when(row, "end")
    if reason:
        return None, reason
    end = end or start + DEFAULT_LENGTH
    if end <= start:
        return None, f"end {end.isoformat()} before start {start.isoformat()}"
    notice_at, reason = _when(row, "notice_at")
    if reason:
        return None, reason
    if notice_at is None and start - notice_before <= now:
        return None, (f"reminder time {(start - notice_before).isoformat()} is past (--notice-before before start; "
                      "give notice_at or a shorter --notice-before)")
    notice_at = notice_at or start - notice_before
    if notice_at <= now:
        return None, f"reminder time {notice_at.isoformat()} is past (notice_at)"
    title = _text(row, "title") or DEFAULT_TITLE
    if len(title) > MAX_TITLE:
        return None, f"title longer than {MAX_TITLE} characters ({len(title)})"
    transfer = None
    if raw_transfer := _text(row, "transfer_to"):
        transfer = parse_phone(raw_transfer, region)
        if transfer is None:
            return None, f"invalid transfer_to number {raw_transfer!r}"
    given = frozenset(c for c in ("end", "title", "description", "notice_at", "transfer_to")
                      if _text(row, c) not in (None, ""))
    return Appointment(row_no, target, phone, phone.render(fmt), creator=creator, start=start, end=end,
                       title=title, description=_text(row, "description") or "", notice_at=notice_at,
                       transfer=transfer, transfer_number=transfer.render(fmt) if transfer else "",
                       given=given), None


# --- what the calendars hold ---------------------------------------------------------------------


@dataclass
class Booked:
    """An event of a calendar and its alarm to one number."""

    event: dict[str, Any]
    alarm: dict[str, Any]


def _ts(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return second_of(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


@dataclass
class Held:
    """The calendars' appointments by key, and their events without any alarm by (calendar, start)."""

    booked: dict[str, Booked] = field(default_factory=dict)
    bare: dict[tuple[int, datetime], list[dict[str, Any]]] = field(default_factory=dict)
    alarm_numbers: list[str] = field(default_factory=list)


def read_held(client: Client, calendars: Iterable[int], region: str = DEFAULT_REGION) -> Held:
    """The events of the calendars (the `calendar` filter sent, and checked: unknown filters are ignored)
    and every alarm of the account, matched to them."""
    wanted = set(calendars)
    events: dict[int, dict[str, Any]] = {}
    for cal in sorted(wanted):
        for page in client.iter_pages("event/", {"calendar": cal}):
            for ev in page:
                if relation_id(ev.get("calendar")) in wanted and (eid := object_id(ev)) is not None:
                    events[eid] = ev
    held = Held()
    with_alarm: set[int] = set()
    for page in client.iter_pages("alarm/", {}):
        for alarm in page:
            ev = events.get(relation_id(alarm.get("event")) or -1)
            start = _ts(ev.get("start")) if ev else None
            if ev is None or start is None:
                continue
            number = str(alarm.get("alarm_phonenumber") or "")
            held.alarm_numbers.append(number)
            with_alarm.add(int(object_id(ev) or 0))
            key = f"{relation_id(ev.get('calendar'))}:{number_key(number, region)}:{start:%Y-%m-%dT%H:%M:%SZ}"
            held.booked.setdefault(key, Booked(ev, alarm))
    for eid, ev in events.items():
        if eid not in with_alarm and (start := _ts(ev.get("start"))) is not None:
            held.bare.setdefault((int(relation_id(ev.get("calendar")) or 0), start), []).append(ev)
    return held


# --- the plan ------------------------------------------------------------------------------------


@dataclass
class Change:
    """A present appointment whose event or alarm differs from the row (sent only with --update)."""

    item: Appointment
    event: dict[str, Any]
    event_changes: dict[str, Any]
    alarm: dict[str, Any] | None = None
    alarm_changes: dict[str, Any] = field(default_factory=dict)

    def puts(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, body) of each PUT: whole objects, what the API holds with the changes, so that a PUT
        read as a full update (DRF's default) keeps every field the row does not set."""
        out = []
        ev = self.event
        if self.event_changes:
            body = {"title": ev.get("title"), "description": ev.get("description") or "", "start": ev.get("start"),
                    "end": ev.get("end"), "creator": relation_id(ev.get("creator")),
                    "calendar": relation_id(ev.get("calendar"))}
            out.append((f"event/{object_id(ev)}/", {**body, **self.event_changes}))
        if self.alarm is not None and self.alarm_changes:
            al = self.alarm
            body = {"alarm_phonenumber": al.get("alarm_phonenumber"), "date_start_notice": al.get("date_start_notice"),
                    "phonenumber_transfer": al.get("phonenumber_transfer") or "", "event": object_id(ev)}
            out.append((f"alarm/{object_id(al)}/", {**body, **self.alarm_changes}))
        return out


@dataclass
class AppointmentPlan:
    """The rows split into appointments to create, to complete (event there, alarm missing), present,
    to update, and rejected."""

    number_format: NumberFormat
    format_source: str
    input_rows: int
    create: list[Appointment] = field(default_factory=list)
    complete: list[tuple[Appointment, int]] = field(default_factory=list)  # (appointment, its event's id)
    present: list[Appointment] = field(default_factory=list)
    update: list[Change] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # future appointments of the table's (calendar, number) pairs at a start the table does not name
    elsewhere: int = 0
    reopened_present: int = 0
    reopened_resend: int = 0

    def reminders(self) -> list[datetime]:
        """When the reminder calls this plan books or moves go out."""
        moved = [c.item.notice_at for c in self.update if "date_start_notice" in c.alarm_changes]
        return sorted([*(a.notice_at for a in self.create), *(a.notice_at for a, _ in self.complete), *moved])


def _event_changes(item: Appointment, event: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in item.given and item.title != str(event.get("title") or ""):
        out["title"] = item.title
    if "description" in item.given and item.description != str(event.get("description") or ""):
        out["description"] = item.description
    if "end" in item.given and second_of(item.end) != _ts(event.get("end")):
        out["end"] = item.end.isoformat()
    return out


def _alarm_changes(item: Appointment, alarm: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if second_of(item.notice_at) != _ts(alarm.get("date_start_notice")):
        out["date_start_notice"] = item.notice_at.isoformat()
    held = str(alarm.get("phonenumber_transfer") or "")
    if "transfer_to" in item.given and item.transfer and number_key(held) != item.transfer.key:
        out["phonenumber_transfer"] = item.transfer_number
    return out


def _same_content(item: Appointment, event: Mapping[str, Any]) -> bool:
    return (item.title == str(event.get("title") or "") and item.description == str(event.get("description") or "")
            and second_of(item.end) == _ts(event.get("end")))


def compare(items: list[Appointment], held: Held, plan: AppointmentPlan, *, update: bool = False,
            open_keys: Mapping[str, str] | None = None) -> None:
    """Split appointments into the plan's parts by what the calendars hold."""
    open_keys = open_keys or {}
    bare = {k: list(v) for k, v in held.bare.items()}
    missing: list[Appointment] = []
    for item in items:
        booked = held.booked.get(item.key)
        if item.key in open_keys:
            plan.reopened_present += booked is not None
            plan.reopened_resend += booked is None
        if booked is None:
            missing.append(item)
            continue
        plan.present.append(item)
        if update:
            event_changes, alarm_changes = _event_changes(item, booked.event), _alarm_changes(item, booked.alarm)
            if event_changes or alarm_changes:
                plan.update.append(Change(item, booked.event, event_changes, booked.alarm, alarm_changes))
    # an event without an alarm at an appointment's start: the same content first, then any other
    for exact in (True, False):
        for item in list(missing):
            events = bare.get((item.target, second_of(item.start)), [])
            event = next((e for e in events if not exact or _same_content(item, e)), None)
            if event is None:
                continue
            events.remove(event)
            missing.remove(item)
            plan.complete.append((item, int(object_id(event) or 0)))
            if update and (changes := _event_changes(item, event)):
                plan.update.append(Change(item, event, changes))
    plan.create.extend(missing)
    pairs = {(it.target, it.phone.key) for it in items}
    keys = {it.key for it in items}
    now = second_of(datetime.now(UTC))
    plan.elsewhere += sum(1 for key, b in held.booked.items() if key not in keys and _person(key) in pairs
                          and (_ts(b.event.get("start")) or now) > now)


def _person(key: str) -> tuple[int, str]:
    """(calendar, E.164) of an appointment key."""
    calendar, number, _ = key.split(":", 2)
    return int(calendar), number


def build_appointment_plan(client: Client, rows: list[dict[str, Any]], *, calendar: Any = None,
                           notice_before: timedelta = DEFAULT_NOTICE_BEFORE,
                           number_format: NumberFormat | None = None, update: bool = False,
                           open_keys: Mapping[str, str] | None = None, region: str = DEFAULT_REGION,
                           ) -> tuple[AppointmentPlan, Calendars]:
    """Validate the rows, read what their calendars hold, and split them into the parts of a plan."""
    calendars = Calendars.read(client)
    targets = {t for r in rows if (t := calendars.resolver.resolve(
        calendar if calendar is not None else {str(k).lower(): v for k, v in r.items()}.get("calendar"))[0])}
    held = read_held(client, targets, region)
    if number_format:
        fmt, source = number_format, "--number-format"
    else:
        numbers = list(held.alarm_numbers)
        if len(numbers) < 100:
            numbers += sample_numbers(client)
        fmt = detect_format(numbers)
        source = (f"detected from {len(numbers)} of the account's alarm and contact numbers" if numbers
                  else "default (no numbers)")
    items, rejects = validate_appointments(rows, calendars, fmt, calendar=calendar, notice_before=notice_before,
                                           region=region)
    plan = AppointmentPlan(fmt, source, len(rows), rejects=rejects)
    compare(items, held, plan, update=update, open_keys=open_keys)
    return plan, calendars
