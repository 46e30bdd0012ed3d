"""Applying an appointment plan, and the push as a whole (`run_appointments`).

Each appointment is its event, then its alarm on it. Appointments go side by side on threads (at
most `concurrency` in flight, each thread a run of them in turn), and every request waits for the
account's request budget in the client (`SOURCES__ANTBOT__MAX_REQUESTS_PER_SECOND`, and the
throttle's rate once learned). A run of appointments is written to the ledger as `sending` before
its first request leaves; a create the API may have applied without answering is never resent
blindly but settled by reading the calendars back, and a killed push's next run plans against
what the calendars hold, completing an event left without its alarm.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pendulum
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from antbot_source.api.pages import object_id
from antbot_source.destination.locks import Notify
from antbot_source.errors import PUSH_NEEDS_CONFIRMATION, ApiError, UnreachableError
from antbot_source.push import PushOptions, exit_code_for
from antbot_source.push import ledger as L
from antbot_source.push.apply import MAX_ROUNDS
from antbot_source.push.appointments import (
    DEFAULT_LENGTH,
    DEFAULT_NOTICE_BEFORE,
    DEFAULT_TITLE,
    KIND,
    Appointment,
    AppointmentPlan,
    Change,
    build_appointment_plan,
    compare,
    read_held,
)
from antbot_source.push.ledger import PushLedger
from antbot_source.push.plan import Client
from antbot_source.push.read import open_input
from antbot_source.push.render import SAMPLE, show_rejects, show_summary

log = logging.getLogger(__name__)

CREATE, COMPLETE, UPDATE = "event+alarm", "alarm", "update"
CHUNKS_PER_THREAD = 4  # runs of appointments per thread at least: the last ones finish together


@dataclass
class AppointmentOptions(PushOptions):
    """What `antbot push appointments` takes (`target`: --calendar for every row)."""

    kind: str = KIND  # type: ignore[assignment]
    notice_before: timedelta = DEFAULT_NOTICE_BEFORE


@dataclass
class AppointmentResult:
    """What an appointments push did."""

    exit_code: int
    run_id: str
    plan: AppointmentPlan
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class Step:
    """The writes one appointment needs: its event and alarm, its alarm alone, or PUTs."""

    action: str
    item: Appointment
    event_id: int | None = None
    change: Change | None = None


@dataclass
class Outcome:
    step: Step
    status: str
    http_status: int | None = None
    error: str | None = None
    requests: int = 0


def _refused(exc: Exception) -> bool:
    """An answer that certainly did not apply the write (a validation error), not a missing answer."""
    status = getattr(exc, "status_code", None)
    return isinstance(exc, ApiError) and status is not None and 400 <= status < 500 and status not in (408, 429)


def run_step(client: Client, step: Step) -> Outcome:
    """Send one appointment's writes; a create with no answer is `unknown` (settled by looking)."""
    out = Outcome(step, L.UPDATED if step.action == UPDATE else L.CREATED)
    try:
        if step.change is not None:
            for path, body in step.change.puts():
                out.requests += 1
                client.request("PUT", path, json=body)
            return out
        event_id = step.event_id
        if event_id is None:
            out.requests += 1
            body = client.request("POST", "event/", json=step.item.event_body(), safe_retry=False)
            event_id = object_id(body) if isinstance(body, dict) else None
            if event_id is None:
                out.status, out.error = L.UNKNOWN, "the event was created but its answer names no id"
                return out
        out.requests += 1
        client.request("POST", "alarm/", json=step.item.alarm_body(event_id), safe_retry=False)
    except (ApiError, UnreachableError) as exc:
        out.status = L.FAILED if step.change is not None or _refused(exc) else L.UNKNOWN
        out.http_status, out.error = getattr(exc, "status_code", None), str(exc)
    return out


def _run_chunk(client: Client, steps: list[Step]) -> list[Outcome]:
    return [run_step(client, step) for step in steps]


@dataclass
class AppointmentApplier:
    """Runs a plan's writes side by side and keeps the ledger and the counts per outcome."""

    client: Client
    plan: AppointmentPlan
    ledger: PushLedger
    batch_size: int = 500
    concurrency: int = 8
    on_progress: Callable[[int], None] | None = None
    counts: Counter[str] = field(default_factory=Counter)

    def run(self) -> Counter[str]:
        """Apply the plan; returns counts per outcome (created, updated, present, failed, unknown, requests)."""
        plan = self.plan
        self.ledger.record(plan.present, "none", L.PRESENT)
        self.counts[L.PRESENT] += len(plan.present)
        steps = [*(Step(CREATE, a) for a in plan.create), *(Step(COMPLETE, a, e) for a, e in plan.complete),
                 *(Step(UPDATE, c.item, change=c) for c in plan.update)]
        for attempt in range(1, MAX_ROUNDS + 1):
            steps = self._settle(self._run_steps(steps, attempt)) if steps else []
        if steps:
            left = [s.item for s in steps]
            self.ledger.record(left, "look", L.FAILED, error=f"still missing after {MAX_ROUNDS} attempts")
            self.counts[L.FAILED] += len(left)
        return self.counts

    def _run_steps(self, steps: list[Step], attempt: int) -> list[Step]:
        """Run the steps in chunks on `concurrency` threads; returns those whose effect is unknown."""
        size = max(1, min(self.batch_size, math.ceil(len(steps) / (self.concurrency * CHUNKS_PER_THREAD))))
        queue = [steps[i : i + size] for i in range(0, len(steps), size)][::-1]
        unknown: list[Step] = []
        running: dict[Future[list[Outcome]], list[Step]] = {}
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="antbot-push") as pool:
            while queue or running:
                while queue and len(running) < self.concurrency:
                    chunk = queue.pop()
                    # the intent is committed before the chunk's first request leaves
                    for action in (CREATE, COMPLETE, UPDATE):
                        self.ledger.record([s.item for s in chunk if s.action == action], action, L.SENDING,
                                           attempts=attempt)
                    running[pool.submit(_run_chunk, self.client, chunk)] = chunk
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    running.pop(fut)
                    unknown.extend(self._record(fut.result(), attempt))
        return unknown

    def _record(self, outcomes: list[Outcome], attempt: int) -> list[Step]:
        for out in outcomes:
            self.counts["requests"] += out.requests
            if out.status in (L.CREATED, L.UPDATED):
                self.counts[out.status] += 1
        by_status: dict[tuple[str, str], list[Appointment]] = {}
        for out in outcomes:
            if out.http_status is None and out.error is None:
                by_status.setdefault((out.step.action, out.status), []).append(out.step.item)
        for (action, status), items in by_status.items():
            self.ledger.record(items, action, status, attempts=attempt)
        for out in outcomes:
            if out.error is not None:
                self.ledger.record([out.step.item], out.step.action, out.status, out.http_status, out.error, attempt)
                self.counts[L.FAILED] += out.status == L.FAILED
        if self.on_progress:
            self.on_progress(sum(out.status != L.UNKNOWN for out in outcomes))
        return [out.step for out in outcomes if out.status == L.UNKNOWN]

    def _settle(self, steps: list[Step]) -> list[Step]:
        """Look at the calendars for creates whose fate is unknown; returns the steps still missing."""
        if not steps:
            return []
        items = [s.item for s in steps]
        held = read_held(self.client, {it.target for it in items})
        found = AppointmentPlan(self.plan.number_format, self.plan.format_source, len(items))
        compare(items, held, found)
        self.ledger.record(found.present, "look", L.PRESENT)
        self.counts[L.PRESENT] += len(found.present)
        return [*(Step(CREATE, a) for a in found.create), *(Step(COMPLETE, a, e) for a, e in found.complete)]


# --- the push ------------------------------------------------------------------------------------


def run_appointments(client: Client, opts: AppointmentOptions, console: Console | None = None,
                     notify: Notify = log.warning) -> AppointmentResult:
    """Plan and (unless a dry run, or stopped for confirmation) apply one appointments push."""
    console = console or Console()
    wh, sql = open_input(opts, notify)
    try:
        _, rows = wh.read_input(sql)
        ledger = PushLedger(wh, KIND)  # type: ignore[arg-type]
        plan, _ = build_appointment_plan(client, rows, calendar=opts.target, notice_before=opts.notice_before,
                                         number_format=opts.number_format, update=opts.update,
                                         open_keys=ledger.open_keys())
        ledger.start_run(opts.table or opts.query or "", opts.dry_run)
        ledger.rejects(plan.rejects)
        show_appointment_plan(plan, opts.notice_before, console)
        counts: Counter[str] = Counter(input_rows=len(rows), rejected=len(plan.rejects))
        calls = plan.reminders()
        if opts.dry_run:
            code = exit_code_for(counts, len(plan.rejects))
            console.print("[bold]Dry run:[/] nothing was sent.")
        elif calls and not opts.yes:
            code = PUSH_NEEDS_CONFIRMATION
            console.print(f"[bold]Stopped before sending:[/] {len(calls)} reminder calls would be booked or moved. "
                          "Rerun with --yes to push.")
        else:
            counts.update(_apply(client, plan, ledger, opts, console))
            code = exit_code_for(counts, len(plan.rejects))
            show_summary(counts, len(plan.rejects), ledger.run_id, console)
        ledger.finish_run(counts, code)
        return AppointmentResult(code, ledger.run_id, plan, counts)
    finally:
        wh.close()


def _apply(client: Client, plan: AppointmentPlan, ledger: PushLedger, opts: AppointmentOptions,
           console: Console) -> Counter[str]:
    total = len(plan.create) + len(plan.complete) + len(plan.update)
    with Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=total == 0) as progress:
        bar = progress.add_task("send", total=total)
        applier = AppointmentApplier(client, plan, ledger, opts.batch_size, opts.concurrency,
                                     on_progress=lambda n: progress.advance(bar, n))
        return applier.run()


# --- what the plan shows -------------------------------------------------------------------------


def _items(plan: AppointmentPlan) -> Iterable[Appointment]:
    yield from plan.create
    yield from (a for a, _ in plan.complete)
    yield from plan.present


def show_appointment_plan(plan: AppointmentPlan, notice_before: timedelta, console: Console) -> None:
    """Counts per part of the plan, the defaults taken, a sample, and when the reminder calls go out."""
    console.print(f"[bold]Plan[/]: push {plan.input_rows} input rows as appointments (an event and its reminder "
                  f"call each); numbers written [bold]{plan.number_format}[/] ({plan.format_source})")
    counts = Table("part", "rows")
    counts.add_row("[green]to create[/] (event and reminder call)", str(len(plan.create)))
    counts.add_row("[green]to complete[/] (event there, reminder call missing)", str(len(plan.complete)))
    counts.add_row("already present", str(len(plan.present)))
    counts.add_row("[cyan]to update[/] (--update)", str(len(plan.update)))
    counts.add_row("[red]rejected[/]", str(len(plan.rejects)))
    console.print(counts)
    valid = list(_items(plan))
    before = pendulum.duration(seconds=notice_before.total_seconds()).in_words()
    defaults = [(f"end = start + {int(DEFAULT_LENGTH.total_seconds() // 60)} min", "end"),
                (f"reminder call {before} before start (--notice-before)", "notice_at"),
                (f"title {DEFAULT_TITLE!r}", "title")]
    taken = [f"{label}: {n} rows" for label, col in defaults if (n := sum(col not in a.given for a in valid))]
    if taken:
        console.print("Defaults taken: " + "; ".join(taken) + ".")
    sample = Table("row", "calendar", "number", "start", "reminder at", "title", title=f"to send (first {SAMPLE})")
    for item in [*plan.create, *(a for a, _ in plan.complete)][:SAMPLE]:
        sample.add_row(str(item.row_no), str(item.target), item.number, item.start.isoformat(),
                       item.notice_at.isoformat(), item.title)
    if sample.row_count:
        console.print(sample)
    if plan.update:
        changes = Table("row", "number", "event changes", "alarm changes", title=f"to update (first {SAMPLE})")
        for c in plan.update[:SAMPLE]:
            changes.add_row(str(c.item.row_no), c.item.number, str(c.event_changes), str(c.alarm_changes))
        console.print(changes)
    show_rejects(plan.rejects, console)
    show_reminders(plan.reminders(), console)
    if plan.elsewhere:
        console.print(f"[yellow]{plan.elsewhere} appointments of the table's numbers are booked in the same "
                      "calendars at a start the table does not name (moved appointments?). A push never "
                      "deletes: their reminder calls still go out.[/]")
    if plan.reopened_present or plan.reopened_resend:
        console.print(f"An earlier push left {plan.reopened_present + plan.reopened_resend} appointments "
                      f"unconfirmed; looked them up: {plan.reopened_present} present, "
                      f"{plan.reopened_resend} to send again.")


def show_reminders(calls: list[datetime], console: Console) -> None:
    """How many reminder calls go out, the first and the last, and how many each day."""
    if not calls:
        console.print("No reminder call will be booked or moved.")
        return
    console.print(f"[bold red]{len(calls)} reminder calls[/] will go out: the first at {calls[0].isoformat()}, "
                  f"the last at {calls[-1].isoformat()}.")
    per_day = Table("day", "reminder calls", title="Reminder calls per day")
    for day, n in sorted(Counter(c.date() for c in calls).items()):
        per_day.add_row(day.isoformat(), str(n))
    console.print(per_day)
