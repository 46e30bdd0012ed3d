"""The push's DNC guards against the sandbox: contacts on a DNC list in any form are rejected, DNC numbers
are written as the contacts store them, entries missing a form are reported and completed, and then
`antbot compliance` finds the lists clean."""

from __future__ import annotations

from datetime import date, timedelta

from support import (
    DB,
    connect,
    fresh_numbers,
    load_account,
    new_dnc_list,
    new_phonebook,
    use_sandbox,
    write_table,
)
from typer.testing import CliRunner

from antbot_source.analytics.views import create_views
from antbot_source.errors import PUSH_REJECTED
from antbot_source.push import PushOptions, run_push
from antbot_source.push.dnc_guard import Unblocked
from antbot_source.push.validate import number_key
from pipelines.cli import app
from pipelines.push_cmd import push_app


def held(sb, table: str, target_field: str, target: int, number_field: str) -> list[str]:
    return sorted(r[number_field] for r in sb.rows(table) if r[target_field] == target)


def test_contacts_on_a_dnc_list_in_any_form_are_rejected_unless_allowed(sandbox, monkeypatch):
    client = connect(sandbox)
    book, dnc = new_phonebook(client, "guarded"), new_dnc_list(client, "refused")
    listed, free = fresh_numbers(2, start=800)
    client.request("POST", "dnc-contact/", json={"dnc": dnc, "phone_number": "+84" + listed[1:]})
    write_table("call_list", [{"contact": listed}, {"contact": "84 " + free[1:]}])
    result = run_push(client, PushOptions("contacts", table="call_list", duckdb_path=DB, target=book))
    assert result.exit_code == PUSH_REJECTED
    assert [(r.row_no, r.reason) for r in result.plan.rejects] == [(1, f"on DNC list {dnc}")]
    assert [number_key(n) for n in held(sandbox, "contacts", "phonebook", book, "contact")] == [number_key(free)]

    use_sandbox(monkeypatch, sandbox)
    allowed = CliRunner().invoke(push_app, ["contacts", "--table", "call_list", "--duckdb", DB,
                                            "--phonebook", str(book), "--allow-dnc"])
    assert allowed.exit_code == 0, allowed.output
    assert sorted(number_key(n) for n in held(sandbox, "contacts", "phonebook", book, "contact")) == sorted(
        [number_key(listed), number_key(free)])


def test_dnc_numbers_take_the_contacts_form_and_fix_forms_makes_compliance_clean(sandbox, tmp_path, monkeypatch):
    client = connect(sandbox)
    book, dnc = new_phonebook(client, "forms"), new_dnc_list(client, "forms")
    national, e164, nobody = fresh_numbers(3, start=810)
    for number in (national, "+84" + e164[1:]):
        client.request("POST", "contact/", json={"phonebook": book, "contact": number, "status": 0})
    client.request("POST", "dnc-contact/", json={"dnc": dnc, "phone_number": "+84" + national[1:]})
    write_table("opt_outs", [{"phone_number": e164}, {"phone_number": nobody}])
    result = run_push(client, PushOptions("dnc", table="opt_outs", duckdb_path=DB, target=dnc))
    assert result.exit_code == 0
    assert result.plan.unblocked == [Unblocked(dnc, "+84" + national[1:], (national,))]
    default = nobody if result.plan.number_format == "national" else "+84" + nobody[1:]
    # the number a contact stores as E.164 is written so, whatever the account's dominant form
    assert held(sandbox, "dnc_contacts", "dnc", dnc, "phone_number") == sorted(
        ["+84" + national[1:], "+84" + e164[1:], default])

    use_sandbox(monkeypatch, sandbox)
    runner = CliRunner()
    fixed = runner.invoke(push_app, ["dnc", "--table", "opt_outs", "--duckdb", DB, "--dnc-list", str(dnc),
                                     "--fix-forms"])
    assert fixed.exit_code == 0, fixed.output
    assert "do not block every form" in fixed.output
    assert national in held(sandbox, "dnc_contacts", "dnc", dnc, "phone_number")
    again = run_push(client, PushOptions("dnc", table="opt_outs", duckdb_path=DB, target=dnc, fix_forms=True))
    assert again.plan.unblocked == [] and again.plan.create == []

    # every list pushed onto itself with --fix-forms: no entry misses a form any more
    entries = {(r["dnc"], number_key(r["phone_number"])): r["phone_number"] for r in sandbox.rows("dnc_contacts")}
    write_table("all_entries", [{"phone_number": number, "dnc": dnc_id}
                                for (dnc_id, key), number in entries.items() if key.startswith("+")])
    every = runner.invoke(push_app, ["dnc", "--table", "all_entries", "--duckdb", DB, "--fix-forms"])
    assert every.exit_code == 0, every.output
    warehouse = tmp_path / "warehouse.duckdb"
    pipeline, _ = load_account(sandbox, warehouse)
    assert create_views(pipeline)
    found = runner.invoke(app, ["compliance", "--duckdb", str(warehouse)])
    assert found.exit_code == 11 and "DNC entries that do not block" not in found.output, found.output
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    clean = runner.invoke(app, ["compliance", "--duckdb", str(warehouse), "--since", tomorrow])
    assert clean.exit_code == 0, clean.output
    assert "no breach and no ineffective DNC entry" in clean.output
