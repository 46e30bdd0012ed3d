"""Appointments pushed to a far, throttled AntBot: `antbot push appointments` of `--appointments` rows
(an event and an alarm each: two write requests) against a sandbox that answers every request 100 ms
late and lets each user through 250 requests per 5 s (DRF's UserRateThrottle).

    .venv/bin/python benchmarks/bench_push_appointments.py                        # 1,000 appointments
    .venv/bin/python benchmarks/bench_push_appointments.py --appointments 10000   # the full volume
    .venv/bin/python benchmarks/bench_push_appointments.py --max-requests-per-second 30   # a cap below it

The throttle caps any client at throttle_requests / throttle_period_s requests a second (50 here),
and SOURCES__ANTBOT__MAX_REQUESTS_PER_SECOND (`--max-requests-per-second`) lower still: the limit the
push's requests/s are compared with. Requests are counted at the server (the sandbox's stats), logins
and the plan's reads included, with the share answered 429. One request at a time would manage at
most 1 / latency = 10 a second: the push keeps `--concurrency` in flight under the account's budget.
Target: >= 0.8x the limit, every appointment booked exactly once.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import duckdb
import psutil
import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

from antbot_source.config import AntBotSettings
from antbot_source.push.appointments_apply import AppointmentOptions, run_appointments
from antbot_source.push.validate import number_key
from antbot_source.sandbox import Habits, run_sandbox

VN = timezone(timedelta(hours=7))


def appointments_table(path: Path, n: int) -> None:
    """`n` appointments over the working hours of the coming days, ten people per slot of 30 minutes."""
    first = (datetime.now(VN) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    slots = [first + timedelta(days=d, minutes=30 * s) for d in range(365) for s in range(20)]
    data = pa.Table.from_pylist([{"phone_number": f"0399{i:06d}", "start": slots[i // 10],  # noqa: F841
                                  "title": f"visit {i}"} for i in range(n)])
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS antbot")
        conn.execute("CREATE TABLE antbot.appointments AS SELECT * FROM data")


def main(
    appointments: Annotated[int, typer.Option(help="rows to push (10,000 for the full volume)")] = 1_000,
    latency_ms: Annotated[int, typer.Option(help="added to every request, as a far server's round trip")] = 100,
    throttle_requests: Annotated[int, typer.Option(help="requests per window and user")] = 250,
    throttle_period_s: Annotated[float, typer.Option(help="the throttle's window")] = 5.0,
    concurrency: Annotated[int, typer.Option(help="requests in flight at most")] = 8,
    max_requests_per_second: Annotated[float | None, typer.Option(
        help="SOURCES__ANTBOT__MAX_REQUESTS_PER_SECOND: the run's cap")] = None,
) -> None:
    console = Console(width=160)
    limit = min(throttle_requests / throttle_period_s, max_requests_per_second or float("inf"))
    habits = Habits(latency_ms=latency_ms, throttle_requests=throttle_requests, throttle_period_s=throttle_period_s)
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(seed=3, cdrs=200, habits=habits) as sb:
        db = Path(tmp) / "push.duckdb"
        appointments_table(db, appointments)
        acc = sb.accounts[0]
        settings = AntBotSettings(base_url=sb.base_url, username=acc.username, password=acc.password,
                                  max_requests_per_second=max_requests_per_second)
        with settings.account().connect() as client:
            user = sb.rows("calendar_users")[0]["id"]
            calendar = client.request("POST", "calendar/", json={"name": "bench", "user": user})["id"]
            sb.skip_clock(throttle_period_s)  # the setup's requests leave the throttle's window
            sb.reset_stats()
            server = psutil.Process(sb.pid)
            server_cpu, own_cpu = sum(server.cpu_times()[:2]), sum(psutil.Process().cpu_times()[:2])
            started = time.perf_counter()
            result = run_appointments(client, AppointmentOptions(
                table="appointments", duckdb_path=db, target=calendar, yes=True, concurrency=concurrency,
                number_format="national"), console=Console(quiet=True))
            seconds = time.perf_counter() - started
            cpu = (sum(psutil.Process().cpu_times()[:2]) - own_cpu, sum(server.cpu_times()[:2]) - server_cpu)
        stats = sb.stats()
        events = {e["id"] for e in sb.rows("events") if e["calendar"] == calendar}
        alarms = Counter(number_key(a["alarm_phonenumber"]) for a in sb.rows("alarms") if a["event"] in events)
    requests = sum(stats["requests"].values())
    writes = sum(n for k, n in stats["requests"].items() if k.startswith("POST /rest-api/") and "token" not in k)
    rate = requests / seconds
    table = Table(title=f"antbot push appointments: {appointments:,} appointments, {latency_ms} ms latency, throttle "
                        f"{throttle_requests} / {throttle_period_s:g} s per user"
                        + (f", cap {max_requests_per_second:g}/s" if max_requests_per_second else "")
                        + f", {concurrency} in flight, {psutil.cpu_count()} CPUs")
    for col in ("seconds", "requests", "writes", "req/s", "limit req/s", "x limit", "429 share", "max in flight",
                "appointments/s", "CPU s push+server"):
        table.add_column(col, justify="right")
    table.add_row(f"{seconds:.1f}", f"{requests:,}", f"{writes:,}", f"{rate:.1f}", f"{limit:.1f}",
                  f"{rate / limit:.2f}x", f"{stats['statuses'].get('429', 0) / max(requests, 1):.1%}",
                  str(stats["max_in_flight"]), f"{appointments / seconds:.1f}", f"{cpu[0]:.1f} + {cpu[1]:.1f}")
    console.print(table)
    exact = len(events) == appointments and alarms == Counter(number_key(f"0399{i:06d}") for i in range(appointments))
    console.print(f"exit code {result.exit_code}, created {result.counts['created']}; one event and one alarm per "
                  f"appointment: {'yes' if exact else '[red]no[/red]'}; >= 0.8x the limit: "
                  + ("yes" if rate / limit >= 0.8 else "[red]no[/red]"))


if __name__ == "__main__":
    typer.run(main)
