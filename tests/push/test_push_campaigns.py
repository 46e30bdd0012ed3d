"""`antbot push campaigns` against the sandbox: every column created and updated, start/pause/end behind the
guard, each reject reason, kills at three points with both duplicate-name habits, and unchanged reruns."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from datetime import datetime, timedelta, timezone

import duckdb
import pytest
from support import DB, PUSH, connect, fresh_numbers, new_phonebook, use_sandbox, write_table
from typer.testing import CliRunner

from antbot_source.compliance.rules import calling_rules
from antbot_source.config import AntBotSettings
from antbot_source.errors import PUSH_NEEDS_CONFIRMATION, PUSH_REJECTED
from antbot_source.push.campaign_apply import CampaignApplier
from antbot_source.push.campaign_plan import build_campaign_plan
from antbot_source.push.campaigns import CampaignPushOptions, run_campaign_push
from antbot_source.push.ledger import PushLedger
from antbot_source.push.read import Warehouse
from antbot_source.sandbox import Habits
from pipelines.push_cmd import push_app

VN = timezone(timedelta(hours=7))
START = datetime(2030, 1, 6, 8, 0, tzinfo=VN)


def writes(sb) -> Counter[str]:
    """Write requests the sandbox received since the last reset, by endpoint."""
    return Counter({k: v for k, v in sb.stats()["requests"].items() if not k.startswith("GET") and "get-token" not in k})


def phonebook_with(client, name: str, active: int, inactive: int = 0, start: int = 0) -> int:
    book = new_phonebook(client, name)
    numbers = fresh_numbers(active + inactive, start)
    contacts = [{"contact": n, "status": 1 if i < active else 0} for i, n in enumerate(numbers)]
    client.request("POST", "bulkcontact/", json={"phonebook": book, "contacts": contacts})
    return book


def campaign_row(name: str, book: int | str, sb, **changes) -> dict:
    """A complete desired campaign on the sandbox's first survey template and gateway."""
    row = {"name": name, "phonebook": str(book), "survey": str(sb.rows("survey_templates")[0]["id"]),
           "gateway": str(sb.rows("gateways")[0]["id"]), "frequency": 10, "starting_date": START,
           "expiration_date": START + timedelta(days=30), "daily_start_time": "08:30", "daily_stop_time": "16:30",
           "callerid": None, "description": None, "status": None}
    return {**row, **changes}


def campaigns_named(sb, name: str) -> list[dict]:
    return [c for c in sb.rows("campaigns") if c["name"] == name]


def push(client, table: str = "desired", **opts) -> object:
    return run_campaign_push(client, CampaignPushOptions(table=table, duckdb_path=DB, **opts))


def test_every_column_is_created_then_updated_and_an_unchanged_rerun_sends_nothing(sandbox):
    client = connect(sandbox)
    books = [phonebook_with(client, f"cols-{i}", 2, start=10 * i) for i in range(3)]
    templates, gateways = sandbox.rows("survey_templates"), sandbox.rows("gateways")
    write_table("desired", [campaign_row("Renewals", f"{books[0]},cols-1", sandbox, callerid="02873001000",
                                         description="renewals of the month")])
    created = push(client)
    assert created.exit_code == 0 and created.counts["created"] == 1
    camp = campaigns_named(sandbox, "Renewals")[0]
    assert camp["status"] == 2  # created unstarted
    assert sorted(camp["phonebook"]) == books[:2] and camp["object_id"] == templates[0]["id"]
    assert camp["aleg_gateway"] == gateways[0]["id"] and camp["frequency"] == 10
    assert datetime.fromisoformat(camp["startingdate"]) == START
    assert datetime.fromisoformat(camp["expirationdate"]) == START + timedelta(days=30)
    assert (camp["daily_start_time"], camp["daily_stop_time"]) == ("08:30:00", "16:30:00")
    assert (camp["callerid"], camp["description"]) == ("02873001000", "renewals of the month")
    with duckdb.connect(DB) as conn:  # recorded like contacts: the run, and intent before the outcome
        run = conn.execute("SELECT kind, created, exit_code FROM antbot_push.push_runs WHERE run_id = ?",
                           [created.run_id]).fetchall()
        steps = conn.execute("SELECT key, target, action, status FROM antbot_push.push_ledger WHERE run_id = ? "
                             "ORDER BY seq", [created.run_id]).fetchall()
    assert run == [("campaigns", 1, 0)]
    assert steps == [("campaign:Renewals", None, "create", "sending"), ("campaign:Renewals", camp["id"], "create",
                                                                        "created")]

    later = START + timedelta(days=7)
    write_table("desired", [{
        "name": "Renewals", "phonebook": [str(books[2])], "survey": templates[1]["name"], "gateway": gateways[1]["name"],
        "frequency": 5, "starting_date": later, "expiration_date": later + timedelta(days=14),
        "daily_start_time": "09:00:00", "daily_stop_time": "16:00", "callerid": "02873009999", "description": "v2",
        "status": None}])
    sandbox.reset_stats()
    updated = push(client)
    assert updated.exit_code == 0 and updated.counts["updated"] == 1
    assert set(updated.plan.changes[0].changes) == {
        "phonebook", "object_id", "aleg_gateway", "frequency", "startingdate", "expirationdate", "daily_start_time",
        "daily_stop_time", "callerid", "description"}
    assert writes(sandbox) == Counter({"PUT /rest-api/campaigns/{id}/": 1})
    camp = campaigns_named(sandbox, "Renewals")[0]
    assert camp["phonebook"] == [books[2]] and camp["object_id"] == templates[1]["id"]
    assert camp["aleg_gateway"] == gateways[1]["id"] and camp["frequency"] == 5
    assert datetime.fromisoformat(camp["startingdate"]) == later
    assert datetime.fromisoformat(camp["expirationdate"]) == later + timedelta(days=14)
    assert (camp["daily_start_time"], camp["daily_stop_time"]) == ("09:00:00", "16:00:00")
    assert (camp["callerid"], camp["description"], camp["status"]) == ("02873009999", "v2", 2)

    sandbox.reset_stats()
    again = push(client)
    assert again.exit_code == 0 and again.plan.unchanged == ["Renewals"] and writes(sandbox) == Counter()


def test_start_is_guarded_then_pause_and_end_and_a_started_campaign_is_not_updated_back(sandbox, monkeypatch):
    use_sandbox(monkeypatch, sandbox)
    client = connect(sandbox)
    book = phonebook_with(client, "weekly", active=3, inactive=2)
    template = sandbox.rows("survey_templates")[0]["id"]
    write_table("desired", [campaign_row("Weekly", "weekly", sandbox, status="started")])
    args = ["campaigns", "--table", "desired", "--duckdb", DB]
    runner = CliRunner()
    sandbox.reset_stats()

    stopped = runner.invoke(push_app, args)
    assert stopped.exit_code == PUSH_NEEDS_CONFIRMATION, stopped.output
    assert "dials 3 active contacts" in stopped.output and "--yes" in stopped.output, stopped.output
    assert writes(sandbox) == Counter() and not campaigns_named(sandbox, "Weekly")

    started = runner.invoke(push_app, [*args, "--yes"])
    assert started.exit_code == 0, started.output
    camp = campaigns_named(sandbox, "Weekly")[0]
    assert camp["status"] == 1 and camp["object_id"] != template  # the first start copied the template
    enrolled = [s for s in sandbox.rows("subscribers") if s["campaign"] == camp["id"]]
    assert len(enrolled) == 3 and {s["status"] for s in enrolled} == {1}

    sandbox.reset_stats()
    rerun = runner.invoke(push_app, args)  # started already, survey copied: nothing to do, no guard
    assert rerun.exit_code == 0 and writes(sandbox) == Counter(), rerun.output

    for status, read in (("paused", 3), ("ended", 4)):
        write_table("desired", [{"name": "Weekly", "status": status}])  # a NULL column leaves its setting
        moved = runner.invoke(push_app, args)  # fewer calls: no confirmation needed
        assert moved.exit_code == 0, moved.output
        camp = campaigns_named(sandbox, "Weekly")[0]
        assert camp["status"] == read and camp["phonebook"] == [book] and camp["frequency"] == 10

    write_table("desired", [{"name": "Weekly", "status": "started"}])
    refused = push(client, yes=True)
    assert refused.exit_code == PUSH_REJECTED and "cannot be started again" in refused.plan.rejects[0].reason


def test_each_reject_reason_is_recorded_and_the_rest_applied(sandbox):
    client = connect(sandbox)
    phonebook_with(client, "rejects", 1)
    outside = campaign_row("Late", "rejects", sandbox, daily_start_time="07:00", daily_stop_time="18:00")
    write_table("desired", [outside])
    assert push(client, allow_outside_hours=True).exit_code == 0  # the flag lets it through
    rows = [
        campaign_row("Good", "rejects", sandbox),
        campaign_row("No book", "no such phonebook", sandbox),
        campaign_row("No survey", "rejects", sandbox, survey="no such survey"),
        campaign_row("No gateway", "rejects", sandbox, gateway="no such gateway"),
        campaign_row("Good", "rejects", sandbox, frequency=3),
        {**{k: None for k in campaign_row("x", 0, sandbox)}, "name": "Half", "frequency": 5},
        campaign_row("Backwards", "rejects", sandbox, expiration_date=START - timedelta(days=1)),
        campaign_row("Evening", "rejects", sandbox, daily_stop_time="20:00"),
        {**{k: None for k in outside}, "name": "Late", "status": "started"},  # a start in its window: refused
    ]
    write_table("desired", rows)
    result = push(client, yes=True)
    assert result.exit_code == PUSH_REJECTED
    reasons = {r.row_no: r.reason for r in result.plan.rejects}
    assert reasons == {
        2: "unknown phonebook 'no such phonebook'",
        3: "unknown survey 'no such survey'",
        4: "unknown gateway 'no such gateway'",
        5: "duplicate of input row 1 (same name 'Good')",
        6: "missing required columns for a new campaign: phonebook, survey, gateway, starting_date, "
           "expiration_date, daily_start_time, daily_stop_time",
        7: f"expiration_date {(START - timedelta(days=1)).isoformat()} is before starting_date {START.isoformat()}",
        8: "daily window 08:30:00-20:00:00 is outside the calling hours 08:00-17:00 (Asia/Ho_Chi_Minh; "
           "--allow-outside-hours to push it anyway)",
        9: "daily window 07:00:00-18:00:00 is outside the calling hours 08:00-17:00 (Asia/Ho_Chi_Minh; "
           "--allow-outside-hours to push it anyway)",
    }
    assert len(campaigns_named(sandbox, "Good")) == 1 and result.counts["created"] == 1
    with duckdb.connect(DB) as conn:
        recorded = conn.execute("SELECT row_no, reason FROM antbot_push.push_rejects WHERE kind = 'campaigns' "
                                "AND run_id = ?", [result.run_id]).fetchall()
    assert dict(recorded) == reasons
    # a pause is never refused for the window: it only reduces calls
    late = campaigns_named(sandbox, "Late")[0]
    client.request("POST", f"campaigns/{late['id']}/status/", json={"status": 1})
    write_table("desired", [{"name": "Late", "status": "paused"}])
    assert push(client).exit_code == 0 and campaigns_named(sandbox, "Late")[0]["status"] == 3


def test_a_create_refused_because_the_name_exists_is_adopted_not_repeated(start_sandbox):
    sb = start_sandbox(seed=3, cdrs=100, habits=Habits(campaign_names_unique=True))
    client = connect(sb)
    phonebook_with(client, "race", 1)
    row = campaign_row("Raced", "race", sb)
    write_table("desired", [row])
    plan = build_campaign_plan(client, [row], calling_rules(AntBotSettings()))
    # someone creates it between the plan and the apply: the server refuses the second one (400)
    client.request("POST", "campaigns/", json=plan.changes[0].body)
    wh = Warehouse.open("duckdb", "antbot", DB)
    try:
        ledger = PushLedger(wh, "campaigns")  # type: ignore[arg-type]
        ledger.start_run("test", dry_run=False)  # as a push does: the records' tables exist before its writes
        counts = CampaignApplier(client, plan, ledger).run()
    finally:
        wh.close()
    assert counts["created"] == 1 and counts["failed"] == 0
    assert len(campaigns_named(sb, "Raced")) == 1 and plan.changes[0].campaign_id == campaigns_named(sb, "Raced")[0]["id"]


def _kill_at(sb, args: list[str], writes_seen: int) -> None:
    proc = subprocess.Popen([*PUSH, *args], env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        sb.wait_for_writes(writes_seen, timeout=60)
    finally:
        proc.kill()
        output = proc.communicate()[0].decode(errors="replace")
    assert proc.returncode == -9, output


KILLS = {  # point: (hang after this many answered writes, the hung write applied)
    "after the first create": (0, True),
    "between a create and its status change": (1, False),
    "half-way": (3, True),
}


@pytest.mark.parametrize("unique_names", [False, True], ids=["duplicate-names-accepted", "duplicate-names-refused"])
@pytest.mark.parametrize("point", list(KILLS))
def test_a_killed_push_rerun_leaves_each_campaign_once_and_started(start_sandbox, monkeypatch, point, unique_names):
    hang_after, applies = KILLS[point]
    sb = start_sandbox(seed=4, cdrs=100, habits=Habits(campaign_names_unique=unique_names))
    use_sandbox(monkeypatch, sb)
    client = connect(sb)
    names = ["Kill A", "Kill B", "Kill C"]
    books = {n: phonebook_with(client, f"book {n}", active=i + 1, start=10 * i) for i, n in enumerate(names)}
    write_table("desired", [campaign_row(n, books[n], sb, status="started") for n in names])
    before = sb.stats()["writes"]  # the phonebooks' bulk calls, all answered: the counts are the server's since start
    sb.set_habits(hang_writes_after=before + hang_after, hang_applies_write=applies)
    sb.reset_stats()
    _kill_at(sb, ["campaigns", "--table", "desired", "--duckdb", DB, "--yes"], before + hang_after + 1)
    sb.set_habits(hang_writes_after=None)
    existing_after_kill = {n for n in names if campaigns_named(sb, n)}
    sb.reset_stats()

    result = push(client, yes=True)
    print(f"\nkill {point} (names unique: {unique_names}): {len(existing_after_kill)} campaigns existed, the rerun "
          f"looked up {result.plan.reopened} unconfirmed, created {result.counts['created']}, "
          f"started {result.counts['started']}")
    assert result.exit_code == 0
    assert result.plan.reopened == 1  # the write the kill left unconfirmed
    assert writes(sb)["POST /rest-api/campaigns/"] == len(names) - len(existing_after_kill)
    for i, name in enumerate(names):
        camps = campaigns_named(sb, name)
        assert len(camps) == 1 and camps[0]["status"] == 1, camps
        enrolled = [s for s in sb.rows("subscribers") if s["campaign"] == camps[0]["id"]]
        assert len(enrolled) == i + 1  # each active contact once
    sb.reset_stats()
    assert push(client, yes=True).exit_code == 0 and writes(sb) == Counter()
