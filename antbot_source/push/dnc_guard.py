"""The push's guards against calling do-not-call numbers. The dialer matches a DNC entry by exact string
with the number as the contact stores it, so: a contact whose number is on a DNC list in any form is
not pushed (unless allowed); a DNC number is written in the form the account's contacts hold it in;
and the entries of a list that miss a form the contacts use are reported, and can be completed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from antbot_source.api.pages import relation_id
from antbot_source.push.validate import DEFAULT_REGION, Item, Reject, number_key, parse_phone


def dnc_lists_by_number(client: Any, region: str = DEFAULT_REGION) -> dict[str, set[int]]:
    """{number key: ids of the account's DNC lists holding the number, in any form}."""
    out: dict[str, set[int]] = {}
    for page in client.iter_pages("dnc-contact/", {}):
        for entry in page:
            list_id = relation_id(entry.get("dnc"))
            if list_id is not None:
                out.setdefault(number_key(entry.get("phone_number"), region), set()).add(list_id)
    return out


def reject_on_dnc(client: Any, rows: list[Mapping[str, Any]], items: list[Item],
                  region: str = DEFAULT_REGION) -> tuple[list[Item], list[Reject]]:
    """The items whose number is on no DNC list of the account, and rejects (`on DNC list N`) for the others."""
    listed = dnc_lists_by_number(client, region)
    kept: list[Item] = []
    rejects: list[Reject] = []
    for item in items:
        lists = listed.get(item.phone.key)
        if lists:
            row = {str(k).lower(): v for k, v in rows[item.row_no - 1].items()}
            rejects.append(Reject(item.row_no, row, "on DNC list " + ", ".join(str(i) for i in sorted(lists))))
        else:
            kept.append(item)
    return kept, rejects


def contact_forms(client: Any, region: str = DEFAULT_REGION) -> dict[str, Counter[str]]:
    """{number key: how many of the account's contacts store the number in each written form}."""
    forms: dict[str, Counter[str]] = {}
    for page in client.iter_pages("contact/", {}):
        for contact in page:
            number = str(contact.get("contact") or "")
            forms.setdefault(number_key(number, region), Counter())[number] += 1
    return forms


def write_as_contacts(items: Iterable[Item], forms: Mapping[str, Counter[str]]) -> None:
    """Write each DNC number the way the account's contacts store it (the most common form, if several)."""
    for item in items:
        held = forms.get(item.phone.key)
        if held:
            item.number = min(held, key=lambda form: (-held[form], form))


@dataclass(frozen=True)
class Unblocked:
    """An entry of a DNC list that misses forms the account's contacts store its number in."""

    target: int
    entry: str  # as stored
    forms: tuple[str, ...]  # the contacts' forms no entry of the list holds


def unblocked_entries(existing: Mapping[str, list[Any]], forms: Mapping[str, Counter[str]],
                      region: str = DEFAULT_REGION) -> list[Unblocked]:
    """The entries of the lists read (`plan.read_existing`, by `target:key`) that do not block every form."""
    out = []
    for key, entries in existing.items():
        target, _, number = key.partition(":")
        missing = sorted(set(forms.get(number, ())) - {e.number for e in entries})
        out.extend(Unblocked(int(target), e.number, tuple(missing)) for e in entries if missing)
    return sorted(out, key=lambda u: (u.target, u.entry))


class FormItem(Item):
    """A DNC entry added in one more written form of a number the list already holds (`--fix-forms`):
    one per form, so its key names the form too."""

    @property
    def key(self) -> str:
        return f"{self.target}:{self.phone.key}:{self.number}"


def fix_items(unblocked: Iterable[Unblocked], region: str = DEFAULT_REGION) -> list[Item]:
    """One new entry per missing form of each list (row 0: not an input row)."""
    wanted = {(u.target, form) for u in unblocked for form in u.forms}
    items: list[Item] = []
    for target, form in sorted(wanted):
        phone = parse_phone(form, region)
        if phone is not None:
            items.append(FormItem(0, target, phone, form))
    return items
