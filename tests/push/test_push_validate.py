"""Validation and normalisation of push input: phone forms, targets, fields, in-input duplicates."""

from __future__ import annotations

import json

import pytest

from antbot_source.push.validate import (
    TargetResolver,
    detect_format,
    number_key,
    parse_phone,
    read_phone,
    validate_rows,
)

PHONEBOOKS = TargetResolver("phonebook", [{"id": 7, "name": "Leads"}, {"id": 8, "name": "Twice"},
                                          {"id": 9, "name": "Twice"}])


@pytest.mark.parametrize("raw", ["0912345678", "+84912345678", "84912345678", "0912 345 678", "(091) 234-5678",
                                 "0912.345.678", "+84 (912) 345-678", "0084 912 345 678", " 0912345678 ", 912345678,
                                 912345678.0])
def test_every_usual_form_of_a_number_has_one_key_and_two_renderings(raw):
    phone = parse_phone(raw)
    assert phone is not None
    assert phone.key == "+84912345678"
    assert phone.render("national") == "0912345678"
    assert phone.render("e164") == "+84912345678"


@pytest.mark.parametrize("raw", ["12345", "0123456789", "not a number", "", None, True])
def test_invalid_numbers_do_not_parse(raw):
    assert parse_phone(raw) is None


@pytest.mark.parametrize(("raw", "reason"), [
    ("0912-700-043 ext 5", "phone number with an extension"),
    ("0912-700-043 ext. 5", "phone number with an extension"),
    ("0912700043x5", "phone number with an extension"),
    ("0912 700 043 #5", "phone number with an extension"),
    ("0912700045;0912700046", "several phone numbers in one cell"),
    ("0912700045, 0912700046", "several phone numbers in one cell"),
    ("0912700045/0912700046", "several phone numbers in one cell"),
    ("0912700045 or 0912700046", "several phone numbers in one cell"),
    ("0912700045\n0912700046", "several phone numbers in one cell"),
    ("0912700045abc", "letters or other text around the phone number"),
    ("Tel: 0912700045", "letters or other text around the phone number"),
    ("0912700045 (home)", "letters or other text around the phone number"),
    ("+84+912700045", "letters or other text around the phone number"),
    ("12345", "invalid phone number"),
    ("", "no phone number"),
])
def test_a_cell_that_is_not_exactly_one_number_is_refused_with_its_reason(raw, reason):
    phone, why = read_phone(raw)
    assert phone is None
    assert why is not None and why.startswith(reason) and (not raw or repr(raw) in why)


def test_foreign_numbers_keep_their_international_form():
    phone = parse_phone("+1 415 555 2671")
    assert phone is not None and phone.render("national") == "+14155552671"


def test_stored_numbers_that_do_not_parse_still_get_a_stable_key():
    assert number_key("0912-345-678") == number_key("+84 912 345 678") == "+84912345678"
    assert number_key("12-34") == "raw:1234"


def test_the_dominant_form_wins_and_ties_fall_back_to_the_default():
    assert detect_format(["0912345678", "0912345679", "+84912345670"]) == "national"
    assert detect_format(["+84912345678", "84912345679", "0912345670"]) == "e164"
    assert detect_format([]) == "national"
    assert detect_format(["+84912345678", "0912345679"], default="e164") == "e164"


def test_rows_are_rejected_with_a_reason_each():
    rows = [
        {"contact": "0912000001", "phonebook": "Leads", "first_name": "An"},
        {"contact": "+84 912 000 001", "phonebook": 7},  # same person, same phonebook, other form
        {"contact": "0912000001", "phonebook": "7"},  # and again by id as text
        {"contact": "0912000002", "phonebook": "Nowhere"},
        {"contact": "0912000003", "phonebook": "Twice"},
        {"contact": "0912000004", "phonebook": None},
        {"contact": "123", "phonebook": 7},
        {"contact": None, "phonebook": 7},
        {"contact": "0912000005", "phonebook": 7, "email": "not-an-email"},
        {"contact": "0912000006", "phonebook": 7, "status": 2},
        {"contact": "0912000007", "phonebook": 7, "first_name": "x" * 121},
        {"contact": "0912000008", "phonebook": 7, "additional_vars": "[1, 2]"},
        {"contact": "0912000009", "phonebook": 7, "additional_vars": "{broken"},
        {"CONTACT": "0912000010", "Phonebook": 7, "status": "0", "additional_vars": {"a": 1}, "email": "a@b.vn"},
    ]
    items, rejects = validate_rows("contacts", rows, PHONEBOOKS, "national")
    reasons = {r.row_no: r.reason for r in rejects}
    assert reasons == {
        2: "duplicate of input row 1 (same number 0912000001 and phonebook)",
        3: "duplicate of input row 1 (same number 0912000001 and phonebook)",
        4: "unknown phonebook 'Nowhere'",
        5: "phonebook name 'Twice' is ambiguous (ids [8, 9])",
        6: "no phonebook given",
        7: "invalid phone number '123'",
        8: "no contact",
        9: "bad email 'not-an-email'",
        10: "bad status 2 (1 active or 0 inactive)",
        11: "first_name longer than 120 characters (121)",
        12: "additional_vars is not a JSON object",
        13: "additional_vars is not valid JSON",
    }
    assert [(i.row_no, i.target, i.number) for i in items] == [(1, 7, "0912000001"), (14, 7, "0912000010")]
    last = items[1].fields
    assert last["status"] == 0 and json.loads(last["additional_vars"]) == {"a": 1} and last["email"] == "a@b.vn"


def test_the_same_number_may_go_to_two_targets_and_an_override_applies_to_all_rows():
    rows = [{"phone_number": "0912000001", "dnc": 7}, {"phone_number": "0912000001", "dnc": 8}]
    items, rejects = validate_rows("dnc", rows, PHONEBOOKS, "e164")
    assert not rejects and [(i.target, i.number) for i in items] == [(7, "+84912000001"), (8, "+84912000001")]
    items, rejects = validate_rows("dnc", rows, PHONEBOOKS, "e164", target_override="Leads")
    assert len(items) == 1 and rejects[0].reason.startswith("duplicate of input row 1")
