"""`antbot push` against the sandbox: plan, rerun, bulk duplicates, rejects, safety stop, PostgreSQL input."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from support import DB, connect, fresh_numbers, new_phonebook, use_sandbox, write_table
from typer.testing import CliRunner

from antbot_source.errors import PUSH_NEEDS_CONFIRMATION, PUSH_REJECTED
from antbot_source.push import PushOptions, run_push
from antbot_source.push.validate import number_key
from pipelines.push_cmd import push_app


def numbers_in(sb, table: str, target_field: str, target: int, number_field: str) -> list[str]:
    """What the sandbox holds for one phonebook / DNC list (its own truth, not our reader)."""
    return [r[number_field] for r in sb.rows(table) if r[target_field] == target]


def writes(sb) -> Counter[str]:
    """Write requests the sandbox received since the last reset, by endpoint."""
    return Counter({k: v for k, v in sb.stats()["requests"].items()
                    if not k.startswith("GET") and "get-token" not in k})


def test_plan_compares_normalised_numbers_in_any_form_and_sends_nothing_on_dry_run(sandbox):
    client = connect(sandbox)
    book = next(c["phonebook"] for c in sandbox.rows("contacts"))
    held = numbers_in(sandbox, "contacts", "phonebook", book, "contact")[:4]
    # the held numbers written in the other form: present, not to create
    other_form = [f"+84{n[1:]}" if n.startswith("0") else "0" + n.lstrip("+")[2:] for n in held]
    new = fresh_numbers(3)
    rows = [{"contact": n, "phonebook": str(book)} for n in other_form]
    rows += [{"contact": new[0], "phonebook": str(book)}, {"contact": "+84" + new[1][1:], "phonebook": str(book)},
             {"contact": "84 " + new[2][1:], "phonebook": str(book)},
             {"contact": new[0].replace("0399", "0399 "), "phonebook": str(book)},  # duplicate of row 5
             {"contact": "555", "phonebook": str(book)}]
    write_table("call_list", rows)
    sandbox.reset_stats()
    result = run_push(client, PushOptions("contacts", table="call_list", duckdb_path=DB, dry_run=True))
    plan = result.plan
    assert sorted(i.phone.key for i in plan.present) == sorted(number_key(n) for n in held)
    assert [i.row_no for i in plan.create] == [5, 6, 7]
    assert {i.number for i in plan.create} == {n if plan.number_format == "national" else "+84" + n[1:]
                                               for n in new}
    assert {r.row_no: r.reason.split(" (")[0] for r in plan.rejects} == {
        8: "duplicate of input row 5", 9: "invalid phone number '555'"}
    assert result.exit_code == PUSH_REJECTED
    assert writes(sandbox) == Counter()


def test_a_push_creates_what_is_missing_and_an_unchanged_rerun_sends_no_create(sandbox):
    client = connect(sandbox)
    book = new_phonebook(client, "push-rerun")
    wanted = fresh_numbers(1_200)
    write_table("call_list", [{"contact": n, "first_name": f"n{i}"} for i, n in enumerate(wanted)])
    opts = PushOptions("contacts", table="call_list", duckdb_path=DB, target=book, batch_size=500,
                       number_format="national")
    sandbox.reset_stats()
    first = run_push(client, opts)
    assert first.exit_code == 0 and first.counts["created"] == 1_200
    assert writes(sandbox) == Counter({"POST /rest-api/bulkcontact/": 3})
    assert sorted(numbers_in(sandbox, "contacts", "phonebook", book, "contact")) == sorted(wanted)

    sandbox.reset_stats()
    again = run_push(client, opts)
    assert again.exit_code == 0 and again.counts["present"] == 1_200 and again.counts["created"] == 0
    assert writes(sandbox) == Counter()
    with duckdb.connect(DB) as conn:
        runs = conn.execute("SELECT created, present, exit_code FROM antbot_push.push_runs ORDER BY started_at").fetchall()
        last = conn.execute("""SELECT status, count(*) FROM (SELECT status, row_number() OVER
                               (PARTITION BY key ORDER BY seq DESC) rn FROM antbot_push.push_ledger) WHERE rn = 1
                               GROUP BY ALL""").fetchall()
    assert runs == [(1_200, 0, 0), (0, 1_200, 0)]
    assert last == [("present", 1_200)]


def test_the_push_records_live_in_a_dataset_of_their_own_with_their_descriptions(sandbox):
    client = connect(sandbox)
    write_table("call_list", [{"contact": n} for n in fresh_numbers(2)])
    run_push(client, PushOptions("contacts", table="call_list", duckdb_path=DB, dry_run=True,
                                 target=new_phonebook(client, "push-records")))
    with duckdb.connect(DB, read_only=True) as conn:
        schemas = dict(conn.execute("SELECT table_name, table_schema FROM information_schema.tables "
                                    "WHERE table_name LIKE 'push%'").fetchall())
        bare = conn.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'antbot_push' "
                            "AND (comment IS NULL OR comment = '')").fetchall()
        described = conn.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'antbot_push' "
                                 "AND table_name = 'push_runs'").fetchone()
    assert schemas == {"push_ledger": "antbot_push", "push_rejects": "antbot_push", "push_runs": "antbot_push"}
    assert not bare and described == ("One row per `antbot push` run.",)


def test_bulk_stops_at_a_number_held_by_another_phonebook_and_the_push_still_adds_every_row(sandbox):
    client = connect(sandbox)
    elsewhere = next(r["contact"] for r in sandbox.rows("contacts"))
    book = new_phonebook(client, "push-dup")
    wanted = [*fresh_numbers(3), elsewhere, *fresh_numbers(3, start=10)]
    write_table("call_list", [{"contact": n} for n in wanted])
    sandbox.reset_stats()
    result = run_push(client, PushOptions("contacts", table="call_list", duckdb_path=DB, target=book,
                                          number_format="national" if elsewhere.startswith("0") else "e164"))
    assert result.exit_code == 0 and result.counts["created"] == 7
    held = numbers_in(sandbox, "contacts", "phonebook", book, "contact")
    assert sorted(number_key(n) for n in held) == sorted(number_key(n) for n in wanted)  # each exactly once
    # first bulk call stops at the held number, it goes through contact/, the rest as a second bulk call
    assert writes(sandbox) == Counter({"POST /rest-api/bulkcontact/": 2, "POST /rest-api/contact/": 1})


def test_rejects_and_runs_are_recorded_with_reasons(sandbox):
    client = connect(sandbox)
    book = new_phonebook(client, "push-rejects")
    rows = [{"contact": "0399000001", "email": "ok@example.vn", "status": 1, "additional_vars": '{"tier": 2}'},
            {"contact": "0399000002", "email": "nope", "status": 1, "additional_vars": None},
            {"contact": "0399000003", "email": None, "status": 3, "additional_vars": None},
            {"contact": "0399", "email": None, "status": 1, "additional_vars": None}]
    write_table("call_list", rows)
    result = run_push(client, PushOptions("contacts", table="call_list", duckdb_path=DB, target=book))
    assert result.exit_code == PUSH_REJECTED and result.counts["created"] == 1
    created = [r for r in sandbox.rows("contacts") if r["phonebook"] == book]
    assert len(created) == 1 and json.loads(created[0]["additional_vars"]) == {"tier": 2}
    with duckdb.connect(DB) as conn:
        rejects = conn.execute("SELECT row_no, reason, row_data FROM antbot_push.push_rejects ORDER BY row_no").fetchall()
        runs = conn.execute("SELECT input_rows, rejected, created, exit_code FROM antbot_push.push_runs").fetchall()
    assert [(n, reason) for n, reason, _ in rejects] == [
        (2, "bad email 'nope'"), (3, "bad status 3 (1 active or 0 inactive)"), (4, "invalid phone number '0399'")]
    assert json.loads(rejects[0][2])["contact"] == "0399000002"
    assert runs == [(4, 3, 1, PUSH_REJECTED)]


def test_a_push_into_a_started_campaigns_phonebook_stops_without_yes(sandbox, monkeypatch):
    camp = next(c for c in sandbox.rows("campaigns") if c["status"] == 1 and c["phonebook"])
    book = camp["phonebook"][0]
    write_table("call_list", [{"contact": "0399000001", "phonebook": book},
                              {"contact": "0399000002", "phonebook": book, "status": 0}])
    use_sandbox(monkeypatch, sandbox)
    runner = CliRunner()
    held_before = sorted(numbers_in(sandbox, "contacts", "phonebook", book, "contact"))
    sandbox.reset_stats()
    stopped = runner.invoke(push_app, ["contacts", "--table", "call_list", "--duckdb", DB])
    assert stopped.exit_code == PUSH_NEEDS_CONFIRMATION, stopped.output
    # the started campaign is a row of the table shown (its id the first cell), and the way on is named
    assert re.search(rf"^│ {camp['id']} +│", stopped.output, re.MULTILINE), stopped.output
    assert "--yes" in stopped.output, stopped.output
    # the stop came after reading the campaigns, and before any write: nothing sent, nothing changed
    stats = sandbox.stats()
    assert stats["requests"].get("GET /rest-api/campaigns/", 0) >= 1, stats
    assert writes(sandbox) == Counter() and stats["writes"] == 0, stats
    held = sorted(numbers_in(sandbox, "contacts", "phonebook", book, "contact"))
    assert held == held_before
    assert not {"+84399000001", "+84399000002"} & {number_key(n) for n in held}  # in any form
    sent = runner.invoke(push_app, ["contacts", "--table", "call_list", "--duckdb", DB, "--yes"])
    assert sent.exit_code == 0, sent.output
    held = [number_key(n) for n in numbers_in(sandbox, "contacts", "phonebook", book, "contact")]
    assert held.count("+84399000001") == 1 and held.count("+84399000002") == 1


def test_dnc_numbers_are_pushed_in_the_accounts_form_once(sandbox, monkeypatch):
    client = connect(sandbox)
    dnc_list = int(next(iter(client.iter_pages("dnc-list/", {})))[0]["id"])
    write_table("opt_outs", [{"phone_number": "+84 399 000 001"}, {"phone_number": "0399000002"},
                             {"phone_number": "84399000002"}, {"phone_number": "99"}])
    use_sandbox(monkeypatch, sandbox)
    runner = CliRunner()
    args = ["dnc", "--table", "opt_outs", "--duckdb", DB, "--dnc-list", str(dnc_list)]
    first = runner.invoke(push_app, args)
    assert first.exit_code == PUSH_REJECTED, first.output
    result = run_push(client, PushOptions("dnc", table="opt_outs", duckdb_path=DB, target=dnc_list, dry_run=True))
    form = result.plan.number_format
    held = numbers_in(sandbox, "dnc_contacts", "dnc", dnc_list, "phone_number")
    expected = ["0399000001", "0399000002"] if form == "national" else ["+84399000001", "+84399000002"]
    assert sorted(n for n in held if "399000" in n) == expected
    sandbox.reset_stats()
    again = runner.invoke(push_app, args)
    assert again.exit_code == PUSH_REJECTED and writes(sandbox) == Counter()


@pytest.mark.postgres
def test_a_postgres_table_is_pushed_and_recorded_in_postgres(sandbox, postgres_schema):
    import psycopg2

    dsn, schema = postgres_schema
    client = connect(sandbox)
    book = new_phonebook(client, "push-pg")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
        cur.execute(f'CREATE TABLE "{schema}".call_list (contact text, first_name text, status int)')
        cur.execute(f'INSERT INTO "{schema}".call_list VALUES (%s, %s, 1), (%s, %s, 0), (%s, %s, 1)',
                    ("0399000001", "An", "0399000002", "Binh", "x", "Bad"))
    opts = PushOptions("contacts", query="SELECT * FROM call_list WHERE first_name <> 'Bad'",
                       destination="postgres", postgres_dsn=dsn, dataset=schema, target=book)
    result = run_push(client, opts)
    assert result.exit_code == 0 and result.counts["created"] == 2
    held = {number_key(r["contact"]): r["status"] for r in sandbox.rows("contacts") if r["phonebook"] == book}
    assert held == {"+84399000001": 1, "+84399000002": 0}
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT created, exit_code FROM "{schema}_push".push_runs')
        assert cur.fetchall() == [(2, 0)]
        cur.execute(f'SELECT count(*) FROM "{schema}_push".push_ledger WHERE status = %s', ("created",))
        assert cur.fetchone() == (2,)
    assert run_push(client, opts).counts["present"] == 2


def test_the_demo_dry_run_shows_a_plan_and_sends_nothing(sandbox, tmp_path: Path):
    from antbot_source.push import demo_dry_run

    client = connect(sandbox)
    sandbox.reset_stats()
    result = demo_dry_run(client, tmp_path / "demo.duckdb")
    plan = result.plan
    assert (len(plan.create), len(plan.present)) == (2, 1)  # one number the list holds, in another form
    assert [r.reason.split(" (")[0] for r in plan.rejects] == ["duplicate of input row 1",
                                                              "invalid phone number '12345'"]
    assert writes(sandbox) == Counter()


def test_a_cell_with_an_extension_several_numbers_or_text_is_rejected_and_never_created(sandbox):
    client = connect(sandbox)
    book = new_phonebook(client, "push-one-cell-one-number")
    cells = ["0399-700-043 ext 5", "0399700045;0399700046", "0399700047 or 0399700048", "0399700049abc",
             "0399.700.050"]
    write_table("call_list", [{"contact": c} for c in cells])
    sandbox.reset_stats()
    result = run_push(client, PushOptions("contacts", table="call_list", duckdb_path=DB, target=book,
                                          number_format="national"))
    assert result.exit_code == PUSH_REJECTED and result.counts["created"] == 1
    # only the one number was created; nothing made of the refused cells' digits, in any phonebook
    assert numbers_in(sandbox, "contacts", "phonebook", book, "contact") == ["0399700050"]
    digits = {re.sub(r"\D", "", c) for c in cells[:4]} | {"0399700043", "03997000435", "0399700045"}
    assert not digits & {re.sub(r"\D", "", r["contact"]) for r in sandbox.rows("contacts")}
    with duckdb.connect(DB) as conn:
        reasons = conn.execute("SELECT row_no, reason FROM antbot_push.push_rejects ORDER BY row_no").fetchall()
    assert [(n, reason.split(" '")[0]) for n, reason in reasons] == [
        (1, "phone number with an extension"), (2, "several phone numbers in one cell"),
        (3, "several phone numbers in one cell"), (4, "letters or other text around the phone number")]
