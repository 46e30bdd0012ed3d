"""A push killed with SIGKILL at several points, then run again, leaves exactly the desired rows: no duplicate, none missing."""

from __future__ import annotations

import os
import subprocess
from collections import Counter

import pytest
from support import DB, PUSH, connect, fresh_numbers, new_dnc_list, new_phonebook, use_sandbox, write_table

from antbot_source.push import PushOptions, run_push
from antbot_source.push.validate import number_key
from antbot_source.sandbox import Habits

# the command as a user runs it, in its own process so that it can be killed


def start_push(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([*PUSH, *args], env=os.environ.copy(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def kill_at(sb, proc: subprocess.Popen, writes: int) -> None:
    """Kill -9 the push once the sandbox has received `writes` create requests (the last one hangs)."""
    try:
        sb.wait_for_writes(writes, timeout=60)
    finally:
        proc.kill()
        output = proc.communicate()[0].decode(errors="replace")
    assert proc.returncode == -9, output  # killed, not finished on its own


@pytest.mark.parametrize(("kind", "hang_after", "applies", "batch", "concurrency"), [
    ("contacts", 0, True, 50, 1),   # the first bulk call is applied, never answered
    ("contacts", 2, False, 50, 1),  # the third bulk call is lost
    ("contacts", 1, True, 40, 3),   # with calls in flight side by side
    ("dnc", 5, True, 4, 1),         # a single DNC POST applied, never answered, mid-batch
    ("dnc", 9, False, 4, 2),
])
def test_kill_then_rerun_leaves_exactly_the_desired_rows(start_sandbox, monkeypatch, kind, hang_after, applies,
                                                         batch, concurrency):
    sb = start_sandbox(seed=5, cdrs=200, habits=Habits(hang_writes_after=hang_after, hang_applies_write=applies))
    use_sandbox(monkeypatch, sb)
    client = connect(sb)
    wanted = fresh_numbers(200 if kind == "contacts" else 24)
    if kind == "contacts":
        target = new_phonebook(client, "push-kill")
        write_table("rows", [{"contact": n} for n in wanted])
    else:
        target = new_dnc_list(client, "push-kill")
        write_table("rows", [{"phone_number": n} for n in wanted])
    args = [kind, "--table", "rows", "--duckdb", DB, "--batch-size", str(batch), "--concurrency", str(concurrency),
            "--number-format", "national", "--phonebook" if kind == "contacts" else "--dnc-list", str(target)]

    kill_at(sb, start_push(args), hang_after + 1)
    sb.set_habits(hang_writes_after=None)
    sb.reset_stats()
    result = run_push(client, PushOptions(kind, table="rows", duckdb_path=DB, target=target, batch_size=batch,
                                          number_format="national"))

    print(f"\nkill {kind} after {hang_after} answered creates (hung one applied: {applies}): rerun looked up "
          f"{result.plan.reopened_present} present + {result.plan.reopened_resend} missing of the unconfirmed rows, "
          f"created {result.counts['created']}, found {result.counts['present']} present")
    assert result.exit_code == 0
    table, target_field, number_field = (("contacts", "phonebook", "contact") if kind == "contacts"
                                         else ("dnc_contacts", "dnc", "phone_number"))
    held = Counter(number_key(r[number_field]) for r in sb.rows(table) if r[target_field] == target)
    assert held == Counter(number_key(n) for n in wanted)  # every row exactly once
    # the rerun found what the killed run left unconfirmed, and settled it by looking
    assert result.plan.reopened_present + result.plan.reopened_resend >= 1
    assert result.counts["created"] == len(wanted) - result.counts["present"]


def test_two_kills_in_a_row_then_a_rerun(start_sandbox, monkeypatch):
    sb = start_sandbox(seed=6, cdrs=200, habits=Habits(hang_writes_after=1, hang_applies_write=True))
    use_sandbox(monkeypatch, sb)
    client = connect(sb)
    book = new_phonebook(client, "push-kill-twice")
    wanted = fresh_numbers(150)
    write_table("rows", [{"contact": n} for n in wanted])
    args = ["contacts", "--table", "rows", "--duckdb", DB, "--batch-size", "30", "--concurrency", "1",
            "--phonebook", str(book), "--yes"]
    kill_at(sb, start_push(args), 2)  # one bulk call answered, the second applied and hung
    sb.set_habits(hang_writes_after=2)  # counts answered creates: the second run gets one more answer
    kill_at(sb, start_push(args), 4)
    sb.set_habits(hang_writes_after=None)
    result = run_push(client, PushOptions("contacts", table="rows", duckdb_path=DB, target=book, batch_size=30))
    assert result.exit_code == 0
    held = Counter(number_key(r["contact"]) for r in sb.rows("contacts") if r["phonebook"] == book)
    assert held == Counter(number_key(n) for n in wanted)
