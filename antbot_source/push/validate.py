"""Validation and normalisation of input rows: phone numbers, targets, fields; rejects with reasons."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import phonenumbers

NumberFormat = Literal["national", "e164"]
Kind = Literal["contacts", "dnc"]

DEFAULT_REGION = "VN"
# Column sizes of the upstream (Newfies-Dialer) contact model; description and additional_vars are
# unbounded text there, the limits below keep a runaway cell from reaching the dialer.
MAX_LENGTH = {"first_name": 120, "last_name": 120, "email": 254, "description": 1_000, "additional_vars": 4_000}
CONTACT_FIELDS = ("first_name", "last_name", "email", "description", "status", "additional_vars")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


@dataclass(frozen=True)
class Phone:
    """A parsed phone number: `key` is E.164 and identifies the person whatever the written form."""

    key: str
    national: str

    def render(self, fmt: NumberFormat) -> str:
        """The number as it will be sent: `0912345678` (national) or `+84912345678` (E.164)."""
        return self.national if fmt == "national" else self.key


# One cell, one number: digits with spaces, dashes, dots or parentheses between them, and a leading `+`
# (a leading `00` is digits too). Anything else is refused before phonenumbers, which would read an
# extension or a second number as an extension and letters as the digits of a keypad.
_ONE_NUMBER = re.compile(r"^\+?[\d\s().-]+$")
_EXTENSION = re.compile(r"(?<![a-z])(?:ext(?:ension)?\.?|x|#)\s*\d+\s*$", re.IGNORECASE)
_SEVERAL = re.compile(r"\d.*(?:[;,/|&\n]|\s(?:or|and|hoặc|và)\s).*\d", re.IGNORECASE)


def read_phone(raw: Any, region: str = DEFAULT_REGION) -> tuple[Phone | None, str | None]:
    """(the number, None), or (None, why the cell is not one valid phone number)."""
    if raw is None or isinstance(raw, bool) or not str(raw).strip():
        return None, "no phone number"
    text = str(raw).strip()
    if isinstance(raw, int | float) and not text.startswith("0"):
        text = str(int(raw))
    if _EXTENSION.search(text):
        return None, f"phone number with an extension {text!r}"
    if _SEVERAL.search(text):
        return None, f"several phone numbers in one cell {text!r}"
    if not _ONE_NUMBER.match(text):
        return None, f"letters or other text around the phone number {text!r}"
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        num = None
    if num is None or not phonenumbers.is_valid_number(num):
        return None, f"invalid phone number {text!r}"
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.region_code_for_number(num) != region:
        return Phone(e164, e164), None  # a foreign number has no national form the dialer could use
    national = re.sub(r"\D", "", phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL))
    return Phone(e164, national), None


def parse_phone(raw: Any, region: str = DEFAULT_REGION) -> Phone | None:
    """Parse a phone number written in any accepted form; None when the cell is not one valid number."""
    return read_phone(raw, region)[0]


def number_key(raw: Any, region: str = DEFAULT_REGION) -> str:
    """The comparison key of a number the API holds: E.164 when it parses, else its digits."""
    phone = parse_phone(raw, region)
    return phone.key if phone else "raw:" + re.sub(r"[^\d+]", "", str(raw or ""))


def detect_format(numbers: Iterable[str], default: NumberFormat = "national") -> NumberFormat:
    """The form most of the given stored numbers are written in (`+84...`/`84...` vs `0...`)."""
    votes: Counter[str] = Counter()
    for n in numbers:
        s = re.sub(r"[\s().-]", "", str(n or ""))
        if s.startswith("+") or (s.startswith("84") and len(s) >= 11):
            votes["e164"] += 1
        elif s.startswith("0"):
            votes["national"] += 1
    if not votes or votes["e164"] == votes["national"]:
        return default
    return "e164" if votes["e164"] > votes["national"] else "national"


@dataclass
class Reject:
    """An input row that will not be sent, and why."""

    row_no: int
    row: dict[str, Any]
    reason: str


@dataclass
class Item:
    """A valid input row, ready to compare and send: `key` is unique per target (phonebook or DNC list)."""

    row_no: int
    target: int
    phone: Phone
    number: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.target}:{self.phone.key}"


class TargetResolver:
    """Resolves a phonebook or DNC list given by id or by name against what the account holds."""

    def __init__(self, label: str, objects: Iterable[Mapping[str, Any]]):
        self.label = label
        self.ids: set[int] = set()
        self.by_name: dict[str, list[int]] = {}
        for obj in objects:
            self.ids.add(int(obj["id"]))
            self.by_name.setdefault(str(obj.get("name") or ""), []).append(int(obj["id"]))

    def resolve(self, value: Any) -> tuple[int | None, str | None]:
        """(id, None) or (None, reason)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None, f"no {self.label} given"
        text = str(value).strip()
        if text.isdigit() and int(text) in self.ids:
            return int(text), None
        ids = self.by_name.get(text, [])
        if len(ids) == 1:
            return ids[0], None
        if len(ids) > 1:
            return None, f"{self.label} name {text!r} is ambiguous (ids {sorted(ids)})"
        return None, f"unknown {self.label} {text!r}"


def _text_field(row: Mapping[str, Any], name: str) -> tuple[str | None, str | None]:
    value = row.get(name)
    if value is None:
        return None, None
    text = str(value).strip()
    if len(text) > MAX_LENGTH[name]:
        return None, f"{name} longer than {MAX_LENGTH[name]} characters ({len(text)})"
    return text, None


def _contact_fields(row: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The contact fields to send, or a reason to reject the row."""
    out: dict[str, Any] = {}
    for name in ("first_name", "last_name", "email", "description"):
        text, reason = _text_field(row, name)
        if reason:
            return {}, reason
        if text:
            out[name] = text
    if "email" in out and not _EMAIL.match(out["email"]):
        return {}, f"bad email {out['email']!r}"
    status = row.get("status")  # left out when not given: a create defaults it to 1, an update keeps it
    if status is None:
        pass
    elif str(status).strip() in ("0", "1", "True", "False", "true", "false"):
        out["status"] = 1 if str(status).strip() in ("1", "True", "true") else 0
    else:
        return {}, f"bad status {status!r} (1 active or 0 inactive)"
    extra = row.get("additional_vars")
    if extra is not None:
        try:
            obj = json.loads(extra) if isinstance(extra, str) else extra
        except ValueError:
            return {}, "additional_vars is not valid JSON"
        if not isinstance(obj, dict):
            return {}, "additional_vars is not a JSON object"
        encoded = json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)
        if len(encoded) > MAX_LENGTH["additional_vars"]:
            return {}, f"additional_vars longer than {MAX_LENGTH['additional_vars']} characters"
        out["additional_vars"] = encoded
    return out, None


def validate_rows(kind: Kind, rows: Iterable[Mapping[str, Any]], targets: TargetResolver, fmt: NumberFormat,
                  target_override: Any = None, region: str = DEFAULT_REGION) -> tuple[list[Item], list[Reject]]:
    """Split input rows into valid items (one per number and target) and rejects with reasons."""
    phone_col, target_col = ("contact", "phonebook") if kind == "contacts" else ("phone_number", "dnc")
    items: list[Item] = []
    rejects: list[Reject] = []
    first_row: dict[str, int] = {}
    for row_no, raw in enumerate(rows, start=1):
        row = {str(k).lower(): v for k, v in raw.items()}
        target, reason = targets.resolve(target_override if target_override is not None else row.get(target_col))
        phone, why = read_phone(row.get(phone_col), region)
        fields: dict[str, Any] = {}
        if reason is None and phone is None:
            reason = why if str(row.get(phone_col) or "").strip() else f"no {phone_col}"
        if reason is None and kind == "contacts":
            fields, reason = _contact_fields(row)
        if reason is not None or target is None or phone is None:
            rejects.append(Reject(row_no, dict(row), reason or "invalid row"))
            continue
        item = Item(row_no, target, phone, phone.render(fmt), fields)
        if item.key in first_row:
            rejects.append(Reject(row_no, dict(row), f"duplicate of input row {first_row[item.key]} "
                                                     f"(same number {item.number} and {targets.label})"))
            continue
        first_row[item.key] = row_no
        items.append(item)
    return items, rejects
