"""`antbot push appointments` against the sandbox: every column, reminder times, rejects, the guard,
kills and reruns (one event and one alarm per appointment), an unchanged rerun, --update, and the
worked example of docs/push.md with its join of the loaded alarms back to the pushed rows."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone

import duckdb
import pytest
from support import DB, ROOT, connect, fresh_numbers, load_account, use_sandbox, write_table
from test_push_kill import kill_at, start_push
from test_push_sandbox import writes
from typer.testing import CliRunner

from antbot_source.errors import PUSH_NEEDS_CONFIRMATION, PUSH_REJECTED
from antbot_source.push.appointments_apply import AppointmentOptions, run_appointments
from antbot_source.push.validate import number_key
from antbot_source.sandbox import Habits
from antbot_source.settings import DEFAULT_DUCKDB
from pipelines.push_cmd import push_app

VN = timezone(timedelta(hours=7))
# whole hours some days ahead: every default reminder time (a day before) is in the future
DAY = (datetime.now(VN) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)


def new_calendar(sb, client, name: str) -> tuple[int, int]:
    """A calendar of its own for a test (so its events are the test's), and its calendar user."""
    user = sb.rows("calendar_users")[0]["id"]
    return int(client.request("POST", "calendar/", json={"name": name, "user": user})["id"]), user


def booked(sb, calendar: int) -> list[tuple[dict, list[dict]]]:
    """The sandbox's own truth: each event of the calendar with its alarms."""
    alarms: dict[int, list[dict]] = {}
    for alarm in sb.rows("alarms"):
        alarms.setdefault(alarm["event"], []).append(alarm)
    return [(ev, alarms.get(ev["id"], [])) for ev in sb.rows("events") if ev["calendar"] == calendar]


def appointments_held(sb, calendar: int) -> Counter[tuple[str, datetime]]:
    """(E.164, start) of every alarm on the calendar's events, and ("no alarm", start) of each event without."""
    out: Counter[tuple[str, datetime]] = Counter()
    for ev, alarms in booked(sb, calendar):
        start = datetime.fromisoformat(ev["start"])
        out.update([(number_key(a["alarm_phonenumber"]), start) for a in alarms] or [("no alarm", start)])
    return out


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_every_column_default_and_explicit_reminders_and_an_unchanged_rerun(sandbox):
    client = connect(sandbox)
    cal, user = new_calendar(sandbox, client, "clinic-a")
    a, b, c = fresh_numbers(3)
    rows = [
        {"phone_number": "+84 " + a[1:4] + " " + a[4:], "start": DAY, "end": DAY + timedelta(minutes=45),
         "title": "Dental check", "description": "bring the x-ray", "calendar": "clinic-a",
         "notice_at": DAY - timedelta(hours=3), "transfer_to": "0912 345 678"},
        {"phone_number": b, "start": DAY, "end": None, "title": None, "description": None, "calendar": str(cal),
         "notice_at": None, "transfer_to": None},  # another person at the same time: another appointment
        {"phone_number": c, "start": DAY + timedelta(hours=2), "end": None, "title": None, "description": None,
         "calendar": "clinic-a", "notice_at": None, "transfer_to": None},
    ]
    write_table("appointments", rows)
    with duckdb.connect(DB) as conn:
        types = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'appointments'").fetchall())
    assert types["start"] == "TIMESTAMP WITH TIME ZONE"
    opts = AppointmentOptions(table="appointments", duckdb_path=DB, number_format="national", yes=True)
    sandbox.reset_stats()
    result = run_appointments(client, opts)
    assert result.exit_code == 0 and result.counts["created"] == 3
    assert writes(sandbox) == Counter({"POST /rest-api/event/": 3, "POST /rest-api/alarm/": 3})

    held = {alarms[0]["alarm_phonenumber"]: (ev, alarms) for ev, alarms in booked(sandbox, cal)}
    assert sorted(held) == [a, b, c] and all(len(alarms) == 1 for _, alarms in held.values())
    ev, [alarm] = held[a]
    assert (ev["title"], ev["description"], ev["creator"]) == ("Dental check", "bring the x-ray", user)
    assert (ts(ev["start"]), ts(ev["end"])) == (DAY, DAY + timedelta(minutes=45))
    assert ts(alarm["date_start_notice"]) == DAY - timedelta(hours=3)
    assert alarm["phonenumber_transfer"] == "0912345678"
    ev, [alarm] = held[b]  # the defaults: 30 minutes, a default title, the reminder a day before
    assert (ev["title"], ts(ev["start"]), ts(ev["end"])) == ("Appointment", DAY, DAY + timedelta(minutes=30))
    assert ts(alarm["date_start_notice"]) == DAY - timedelta(days=1) and alarm["phonenumber_transfer"] == ""
    assert ts(held[c][1][0]["date_start_notice"]) == DAY + timedelta(hours=2) - timedelta(days=1)

    sandbox.reset_stats()
    again = run_appointments(client, opts)
    assert again.exit_code == 0 and again.counts["present"] == 3 and again.counts["created"] == 0
    assert writes(sandbox) == Counter()
    assert appointments_held(sandbox, cal) == Counter(
        {(number_key(a), DAY): 1, (number_key(b), DAY): 1, (number_key(c), DAY + timedelta(hours=2)): 1})


def test_each_reject_reason_exit_6_and_the_rest_applied(sandbox):
    client = connect(sandbox)
    cal, _ = new_calendar(sandbox, client, "clinic-r")
    ok, dup, other = fresh_numbers(3)
    iso = DAY.isoformat()
    soon = (datetime.now(VN) + timedelta(hours=2)).replace(microsecond=0).isoformat()  # a day before: past
    rows = [
        {"phone_number": ok, "start": iso, "end": None, "calendar": str(cal), "notice_at": None},
        {"phone_number": "12345", "start": iso, "end": None, "calendar": str(cal), "notice_at": None},
        {"phone_number": "+84" + ok[1:], "start": iso, "end": None, "calendar": str(cal), "notice_at": None},
        {"phone_number": dup, "start": soon, "end": None, "calendar": str(cal), "notice_at": None},
        {"phone_number": dup, "start": iso, "end": None, "calendar": str(cal),
         "notice_at": (datetime.now(VN) - timedelta(minutes=5)).isoformat()},
        {"phone_number": other, "start": iso, "end": None, "calendar": "no-such-calendar", "notice_at": None},
        {"phone_number": other, "start": iso, "end": (DAY - timedelta(hours=1)).isoformat(), "calendar": str(cal),
         "notice_at": None},
        {"phone_number": other, "start": DAY.replace(tzinfo=None).isoformat(), "end": None, "calendar": str(cal),
         "notice_at": None},
        {"phone_number": other, "start": (DAY + timedelta(hours=1)).isoformat(), "end": None, "calendar": str(cal),
         "notice_at": None},
    ]
    write_table("appointments", rows)  # text columns: the naive start is refused, not guessed
    sandbox.reset_stats()
    result = run_appointments(client, AppointmentOptions(table="appointments", duckdb_path=DB, yes=True))
    reasons = {r.row_no: r.reason for r in result.plan.rejects}
    assert {n: re.sub(r" [\d'(+].*", "", text) for n, text in reasons.items()} == {
        2: "invalid phone number", 3: "repeat of input row", 4: "reminder time", 5: "reminder time",
        6: "unknown calendar", 7: "end", 8: "start"}
    assert reasons[3].startswith("repeat of input row 1 ") and "is past" in reasons[4] and "is past" in reasons[5] and "before start" in reasons[7]
    assert "has no time zone" in reasons[8]
    assert result.exit_code == PUSH_REJECTED and result.counts["created"] == 2
    assert appointments_held(sandbox, cal) == Counter({(number_key(ok), DAY): 1,
                                                      (number_key(other), DAY + timedelta(hours=1)): 1})
    with duckdb.connect(DB) as conn:
        logged = conn.execute("SELECT row_no, reason FROM antbot_push.push_rejects WHERE kind = 'appointments' "
                              "ORDER BY row_no").fetchall()
    assert dict(logged) == reasons


def test_the_guard_shows_when_the_reminder_calls_go_out_and_stops_without_yes(sandbox, monkeypatch):
    use_sandbox(monkeypatch, sandbox)
    client = connect(sandbox)
    cal, _ = new_calendar(sandbox, client, "clinic-g")
    numbers = fresh_numbers(5)
    starts = [DAY, DAY + timedelta(hours=1), DAY + timedelta(days=1), DAY + timedelta(days=1, hours=4),
              DAY + timedelta(days=2)]
    write_table("appointments", [{"phone_number": n, "start": s} for n, s in zip(numbers, starts, strict=True)])
    sandbox.reset_stats()
    args = ["appointments", "--table", "appointments", "--duckdb", DB, "--calendar", str(cal),
            "--notice-before", "PT2H"]
    monkeypatch.setenv("COLUMNS", "200")
    out = CliRunner().invoke(push_app, args)
    assert out.exit_code == PUSH_NEEDS_CONFIRMATION, out.output
    assert writes(sandbox) == Counter()
    calls = [s - timedelta(hours=2) for s in starts]
    first, last = re.search(r"5 reminder calls will go out: the first at (\S+), the last at (\S+)\.", out.output).groups()
    assert (ts(first), ts(last)) == (calls[0], calls[-1])
    per_day = Counter(c.astimezone(ts(first).tzinfo).date().isoformat() for c in calls)  # days as the plan shows them
    assert {d: int(n) for d, n in re.findall(r"(\d{4}-\d\d-\d\d) +│ (\d+)", out.output)} == per_day
    assert "reminder call 2 hours before start" in out.output

    done = CliRunner().invoke(push_app, [*args, "--yes"])
    assert done.exit_code == 0, done.output
    assert writes(sandbox) == Counter({"POST /rest-api/event/": 5, "POST /rest-api/alarm/": 5})
    assert all(ts(alarms[0]["date_start_notice"]) == ts(ev["start"]) - timedelta(hours=2)
               for ev, alarms in booked(sandbox, cal))


@pytest.mark.parametrize(("hang_after", "concurrency", "appointments"), [
    (0, 1, 6),    # the first event applied, its answer lost: killed before its alarm
    (30, 4, 30),  # half-way: 30 of 60 writes answered, then a hung one, side by side
])
def test_killed_push_reruns_exactly(start_sandbox, monkeypatch, hang_after, concurrency, appointments):
    sb = start_sandbox(seed=5, cdrs=200, habits=Habits(hang_writes_after=hang_after, hang_applies_write=True))
    use_sandbox(monkeypatch, sb)
    client = connect(sb)
    cal, _ = new_calendar(sb, client, "clinic-k")
    numbers = fresh_numbers(appointments)
    # two people at each time: the rerun must not mistake one's event for the other's
    starts = [DAY + timedelta(hours=i // 2) for i in range(appointments)]
    write_table("appointments", [{"phone_number": n, "start": s, "title": f"visit {i}"}
                                 for i, (n, s) in enumerate(zip(numbers, starts, strict=True))])
    args = ["appointments", "--table", "appointments", "--duckdb", DB, "--calendar", str(cal), "--yes",
            "--concurrency", str(concurrency), "--number-format", "national"]
    kill_at(sb, start_push(args), hang_after + 1)
    left = appointments_held(sb, cal)
    sb.set_habits(hang_writes_after=None)
    sb.reset_stats()
    result = run_appointments(client, AppointmentOptions(table="appointments", duckdb_path=DB, target=cal,
                                                         yes=True, number_format="national"))
    bare = sum(n for k, n in left.items() if k[0] == "no alarm")
    print(f"\nkilled after {hang_after} answered writes ({concurrency} in flight): left "
          f"{left.total() - bare} appointments and {bare} events without their alarm; the rerun completed "
          f"{len(result.plan.complete)}, created {len(result.plan.create)}, found {len(result.plan.present)} present")
    assert result.exit_code == 0
    assert bare >= 1 or hang_after > 0  # the first kill leaves the event without its alarm
    assert appointments_held(sb, cal) == Counter(
        (number_key(n), s) for n, s in zip(numbers, starts, strict=True))
    # each appointment's event holds its own row's content
    assert all(ev["title"] == f"visit {numbers.index(alarms[0]['alarm_phonenumber'])}"
               for ev, alarms in booked(sb, cal))
    assert len(result.plan.complete) == bare
    sent = writes(sb)
    assert sent["POST /rest-api/event/"] == len(result.plan.create)
    assert sent["POST /rest-api/alarm/"] == len(result.plan.create) + len(result.plan.complete)


def test_update_changes_end_title_and_reminder_and_a_moved_start_is_a_new_appointment(sandbox):
    client = connect(sandbox)
    cal, _ = new_calendar(sandbox, client, "clinic-u")
    a, b = fresh_numbers(2)
    rows = [{"phone_number": a, "start": DAY, "end": DAY + timedelta(hours=1), "title": "Check-up",
             "notice_at": DAY - timedelta(hours=5)},
            {"phone_number": b, "start": DAY, "end": DAY + timedelta(hours=1), "title": "Check-up",
             "notice_at": DAY - timedelta(hours=5)}]
    write_table("appointments", rows)
    opts = AppointmentOptions(table="appointments", duckdb_path=DB, target=cal, yes=True, number_format="national")
    assert run_appointments(client, opts).exit_code == 0

    rows[0].update(end=DAY + timedelta(hours=2), title="Long check-up", notice_at=DAY - timedelta(hours=2))
    write_table("appointments", rows)
    sandbox.reset_stats()
    unchanged = run_appointments(client, opts)  # without --update a change is only present
    assert unchanged.counts["present"] == 2 and writes(sandbox) == Counter()
    sandbox.reset_stats()
    updated = run_appointments(client, AppointmentOptions(**{**opts.__dict__, "update": True}))
    assert updated.exit_code == 0 and updated.counts["updated"] == 1
    assert writes(sandbox) == Counter({"PUT /rest-api/event/{id}/": 1, "PUT /rest-api/alarm/{id}/": 1})
    held = {alarms[0]["alarm_phonenumber"]: (ev, alarms[0]) for ev, alarms in booked(sandbox, cal)}
    ev, alarm = held[a]
    assert (ev["title"], ts(ev["end"]), ts(ev["start"])) == ("Long check-up", DAY + timedelta(hours=2), DAY)
    assert ts(alarm["date_start_notice"]) == DAY - timedelta(hours=2) and ev["creator"] is not None
    assert held[b][0]["title"] == "Check-up"
    sandbox.reset_stats()
    assert run_appointments(client, AppointmentOptions(**{**opts.__dict__, "update": True})).counts["updated"] == 0
    assert writes(sandbox) == Counter()

    rows[1].update(start=DAY + timedelta(hours=3), end=DAY + timedelta(hours=4))  # moved: a new appointment; the old one stays booked
    write_table("appointments", rows)
    moved = run_appointments(client, opts)
    assert moved.plan.elsewhere == 1 and moved.counts["created"] == 1
    assert appointments_held(sandbox, cal)[(number_key(b), DAY)] == 1


def test_the_readme_worked_example_and_its_join(sandbox, monkeypatch):
    section = (ROOT / "docs" / "push.md").read_text(encoding="utf-8").split("## Booking appointments")[1].split("\n## ")[0]
    script = re.search(r"python - <<'EOF'\n(.+?)\nEOF", section, re.DOTALL).group(1)
    subprocess.run([sys.executable, "-c", script], check=True)  # the table, as docs/push.md writes it
    use_sandbox(monkeypatch, sandbox)
    monkeypatch.setenv("COLUMNS", "200")
    stopped = CliRunner().invoke(push_app, ["appointments", "--table", "appointments"])
    assert stopped.exit_code == PUSH_NEEDS_CONFIRMATION and "3 reminder calls will go out" in stopped.output
    pushed = CliRunner().invoke(push_app, ["appointments", "--table", "appointments", "--yes"])
    assert pushed.exit_code == PUSH_REJECTED, pushed.output
    assert re.search(r"created +│ 3 ", pushed.output) and re.search(r"write requests sent +│ 6 ", pushed.output)
    load_account(sandbox, DEFAULT_DUCKDB, resources=["events", "alarms"])
    with duckdb.connect(DEFAULT_DUCKDB) as conn:
        joined = conn.execute(re.search(r"```sql\n(.+?)```", section, re.DOTALL).group(1)).fetchall()
    assert [(number, result) for _, number, _, _, _, result in joined] == [
        ("0912000001", "no answer yet"), ("0912000002", "no answer yet"), ("0912000003", "no answer yet")]


def test_requests_go_side_by_side_within_the_accounts_budget(start_sandbox, monkeypatch):
    # a far server (300 ms a request) with a throttle of 20 requests a second: at the cap of 10 a second
    # the push keeps several requests in flight and is never refused
    sb = start_sandbox(seed=5, cdrs=200, habits=Habits(latency_ms=300, throttle_requests=20, throttle_period_s=1))
    use_sandbox(monkeypatch, sb)
    monkeypatch.setenv("SOURCES__ANTBOT__MAX_REQUESTS_PER_SECOND", "10")
    monkeypatch.setenv("SOURCES__ANTBOT__MAX_CONCURRENCY", "4")
    client = connect(sb)
    cal, _ = new_calendar(sb, client, "clinic-v")
    numbers = fresh_numbers(30)
    write_table("appointments", [{"phone_number": n, "start": DAY + timedelta(minutes=10 * i)}
                                 for i, n in enumerate(numbers)])
    sb.skip_clock(1)
    sb.reset_stats()
    out = CliRunner().invoke(push_app, ["appointments", "--table", "appointments", "--duckdb", DB,
                                        "--calendar", str(cal), "--yes"])
    assert out.exit_code == 0, out.output
    stats = sb.stats()
    assert stats["throttled"] == 0 and stats["max_in_flight"] >= 2, stats
    assert 2 <= stats["max_in_flight"] <= 4
    assert appointments_held(sb, cal) == Counter((number_key(n), DAY + timedelta(minutes=10 * i))
                                                 for i, n in enumerate(numbers))


def test_writes_answered_5xx_are_settled_by_looking_not_resent_blindly(start_sandbox):
    # a fifth of the requests answered 502/503 (nothing applied; the sandbox's draws are seeded, so
    # with one request at a time this run is the same every time)
    sb = start_sandbox(seed=5, cdrs=200, habits=Habits(error_rate=0.2))
    client = connect(sb)
    cal, _ = new_calendar(sb, client, "clinic-e")
    numbers = fresh_numbers(12)
    write_table("appointments", [{"phone_number": n, "start": DAY + timedelta(minutes=15 * i)}
                                 for i, n in enumerate(numbers)])
    sb.reset_stats()
    result = run_appointments(client, AppointmentOptions(table="appointments", duckdb_path=DB, target=cal, yes=True,
                                                         concurrency=1, number_format="national"))
    assert result.exit_code == 0 and result.counts["created"] == 12
    assert appointments_held(sb, cal) == Counter((number_key(n), DAY + timedelta(minutes=15 * i))
                                                 for i, n in enumerate(numbers))
    with duckdb.connect(DB) as conn:
        settled = conn.execute("SELECT count(DISTINCT key) FROM antbot_push.push_ledger WHERE status = 'unknown'").fetchone()
    assert settled[0] >= 1 and sb.stats()["statuses"].get("502", 0) + sb.stats()["statuses"].get("503", 0) >= 1
