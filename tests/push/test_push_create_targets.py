"""`--create-phonebook` / `--create-dnc-list`: a target no name matches is created once, also across a kill."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter

from support import DB, PUSH, connect, fresh_numbers, use_sandbox, write_table
from typer.testing import CliRunner

from antbot_source.push import PushOptions, run_push
from antbot_source.push.validate import number_key
from antbot_source.sandbox import Habits
from pipelines.push_cmd import push_app


def named(sb, table: str, name: str) -> list[dict]:
    return [r for r in sb.rows(table) if r["name"] == name]


def test_a_missing_phonebook_is_refused_planned_on_dry_run_then_created_once(sandbox, monkeypatch):
    use_sandbox(monkeypatch, sandbox)
    runner = CliRunner()
    write_table("weekly", [{"contact": n} for n in fresh_numbers(5)])
    args = ["contacts", "--table", "weekly", "--duckdb", DB, "--phonebook", "Renewals W49"]

    refused = runner.invoke(push_app, args)
    # without the flag an unknown --phonebook is a bad option: one line, exit 2, nothing sent
    assert refused.exit_code == 2 and "unknown phonebook 'Renewals W49'" in refused.output
    dry = runner.invoke(push_app, [*args, "--create-phonebook", "--dry-run"])
    assert dry.exit_code == 0 and "'Renewals W49' does not exist" in dry.output, dry.output
    assert re.search(r"│ to create +│ 5 ", dry.output) and "(to create)" in dry.output, dry.output
    assert not named(sandbox, "phonebooks", "Renewals W49")

    for _ in range(2):
        sandbox.reset_stats()
        sent = runner.invoke(push_app, [*args, "--create-phonebook"])
        assert sent.exit_code == 0, sent.output
    assert "POST /rest-api/phonebook/" not in sandbox.stats()["requests"]  # the rerun found it by name
    (book,) = named(sandbox, "phonebooks", "Renewals W49")
    held = Counter(number_key(c["contact"]) for c in sandbox.rows("contacts") if c["phonebook"] == book["id"])
    assert held == Counter(number_key(n) for n in fresh_numbers(5))


def test_phonebooks_named_in_a_column_and_a_dnc_list_are_created(sandbox):
    client = connect(sandbox)
    numbers = fresh_numbers(4)
    write_table("rows", [{"contact": n, "phonebook": f"book {i % 2}"} for i, n in enumerate(numbers)])
    result = run_push(client, PushOptions("contacts", table="rows", duckdb_path=DB, create_targets=True))
    assert result.exit_code == 0 and result.counts["created"] == 4
    assert [len(named(sandbox, "phonebooks", f"book {i}")) for i in (0, 1)] == [1, 1]
    write_table("opt_outs", [{"phone_number": n} for n in numbers])
    for _ in range(2):
        result = run_push(client, PushOptions("dnc", table="opt_outs", duckdb_path=DB, target="Opt-outs",
                                              create_targets=True))
        assert result.exit_code == 0
    (dnc,) = named(sandbox, "dnc_lists", "Opt-outs")
    assert len([d for d in sandbox.rows("dnc_contacts") if d["dnc"] == dnc["id"]]) == 4


def test_a_push_killed_after_creating_the_phonebook_reruns_into_the_same_one(start_sandbox, monkeypatch):
    sb = start_sandbox(seed=5, cdrs=100, habits=Habits(hang_writes_after=0, hang_applies_write=True))
    use_sandbox(monkeypatch, sb)
    numbers = fresh_numbers(60)
    write_table("weekly", [{"contact": n} for n in numbers])
    args = ["contacts", "--table", "weekly", "--duckdb", DB, "--phonebook", "Killed W1", "--create-phonebook",
            "--batch-size", "20", "--concurrency", "1"]
    proc = subprocess.Popen([*PUSH, *args], env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        sb.wait_for_writes(1, timeout=60)  # the phonebook exists, the first bulk call is applied and hangs
    finally:
        proc.kill()
        output = proc.communicate()[0].decode(errors="replace")
    assert proc.returncode == -9, output
    sb.set_habits(hang_writes_after=None)
    rerun = CliRunner().invoke(push_app, args)
    assert rerun.exit_code == 0, rerun.output
    (book,) = named(sb, "phonebooks", "Killed W1")
    held = Counter(number_key(c["contact"]) for c in sb.rows("contacts") if c["phonebook"] == book["id"])
    assert held == Counter(number_key(n) for n in numbers)
