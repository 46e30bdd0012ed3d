"""`antbot push campaigns`: the desired campaigns of a warehouse table, planned, shown, confirmed and applied.

Starting a campaign dials its phonebooks' active contacts within minutes: a plan with a start stops
with exit 8 unless confirmed (`--yes`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from antbot_source.compliance.rules import calling_rules
from antbot_source.destination.locks import Notify
from antbot_source.errors import PUSH_NEEDS_CONFIRMATION
from antbot_source.push import campaign_status as S
from antbot_source.push import exit_code_for
from antbot_source.push.campaign_apply import CampaignApplier
from antbot_source.push.campaign_plan import API_FIELDS, CampaignPlan, build_campaign_plan
from antbot_source.push.ledger import PushLedger
from antbot_source.push.plan import Client
from antbot_source.push.read import Destination, open_input
from antbot_source.push.render import show_rejects
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB

__all__ = ["CampaignPushOptions", "CampaignPushResult", "run_campaign_push"]

log = logging.getLogger(__name__)
KIND = "campaigns"
SAMPLE = 20


@dataclass
class CampaignPushOptions:
    """Everything `antbot push campaigns` takes, with the command's defaults."""

    table: str | None = None
    query: str | None = None
    destination: Destination = "duckdb"
    duckdb_path: Path | str = DEFAULT_DUCKDB
    dataset: str = DEFAULT_DATASET
    postgres_dsn: str | None = None
    dry_run: bool = False
    yes: bool = False
    allow_outside_hours: bool = False
    wait_s: float = 60.0


@dataclass
class CampaignPushResult:
    """What a campaign push did."""

    exit_code: int
    run_id: str
    plan: CampaignPlan
    counts: Counter[str] = field(default_factory=Counter)


def run_campaign_push(client: Client, opts: CampaignPushOptions, console: Console | None = None,
                      notify: Notify = log.warning) -> CampaignPushResult:
    """Plan and (unless a dry run, or stopped for confirmation) apply one campaign push."""
    console = console or Console()
    rules = calling_rules()
    wh, sql = open_input(opts, notify)
    try:
        _, rows = wh.read_input(sql)
        ledger = PushLedger(wh, KIND)  # type: ignore[arg-type]
        plan = build_campaign_plan(client, rows, rules, allow_outside_hours=opts.allow_outside_hours,
                                   open_keys=ledger.open_keys())
        ledger.start_run(opts.table or opts.query or "", opts.dry_run)
        ledger.rejects(plan.rejects)
        show_campaign_plan(plan, console, confirmed=opts.yes or opts.dry_run, timezone=rules.timezone)
        counts: Counter[str] = Counter(input_rows=len(rows), rejected=len(plan.rejects))
        if opts.dry_run:
            code = exit_code_for(counts, len(plan.rejects))
            console.print("[bold]Dry run:[/] nothing was sent.")
        elif plan.starts and not opts.yes:
            code = PUSH_NEEDS_CONFIRMATION
        else:
            counts.update(CampaignApplier(client, plan, ledger).run())
            code = exit_code_for(counts, len(plan.rejects))
            show_campaign_summary(counts, len(plan.rejects), ledger.run_id, console)
        ledger.finish_run(counts, code)
        return CampaignPushResult(code, ledger.run_id, plan, counts)
    finally:
        wh.close()


COLUMN_OF = {api: column for column, api in API_FIELDS.items()}


def _shown(value: Any, timezone: str) -> str:
    """A value as the plan shows it: timestamps in the calling rules' time zone (Vietnam time by default)."""
    if value is None:
        return ""
    if isinstance(value, str) and "T" in value:
        try:
            return datetime.fromisoformat(value).astimezone(ZoneInfo(timezone)).isoformat()
        except ValueError:
            return value
    return str(value)


def show_campaign_plan(plan: CampaignPlan, console: Console, confirmed: bool, timezone: str) -> None:
    """Counts per part of the plan, each campaign's changes column by column, and the contacts a start dials."""
    console.print(f"[bold]Plan[/]: push {plan.input_rows} input rows as campaigns")
    counts = Table("part", "campaigns")
    counts.add_row("[green]to create[/]", str(len(plan.creates)))
    counts.add_row("[cyan]to update[/]", str(len(plan.updates)))
    for status in S.ACTIONS:
        counts.add_row(f"to {S.VERBS[status]}", str(len(plan.actions(status))))
    counts.add_row("unchanged", str(len(plan.unchanged)))
    counts.add_row("[red]rejected[/]", str(len(plan.rejects)))
    console.print(counts)
    if plan.changes:
        detail = Table("row", "campaign", "id", "action", "column", "now", "wanted",
                       title=f"changes (first {SAMPLE} campaigns)")
        for change in islice(plan.changes, SAMPLE):
            action = "create" if change.create else ("update" if change.body else "")
            if change.status:
                was = "" if change.create else f" (now {S.read_label(change.current_status)})"
                action = f"{action}, {S.VERBS[change.status]}{was}".strip(", ")
            fields = change.changes or {k: (None, v) for k, v in change.body.items() if k != "name"}
            first = True
            for api, (now, wanted) in (fields or {"": (None, None)}).items():
                detail.add_row(str(change.row_no) if first else "", change.name if first else "",
                               _shown(change.campaign_id, timezone) if first else "", action if first else "",
                               COLUMN_OF.get(api, api), _shown(now, timezone), _shown(wanted, timezone))
                first = False
        console.print(detail)
    show_rejects(plan.rejects, console, SAMPLE)
    if plan.reopened:
        console.print(f"An earlier push left {plan.reopened} campaigns unconfirmed: looked them up by name.")
    if plan.starts:
        dialled = sum(c.dialled for c in plan.starts)
        console.print(f"[bold red]Starting {len(plan.starts)} campaign(s) dials {dialled} active contacts "
                      "of their phonebooks within minutes.[/]")
        if not confirmed:
            console.print("[bold]Stopped before sending.[/] Rerun with --yes to apply the plan.")


def show_campaign_summary(counts: Counter[str], rejected: int, run_id: str, console: Console) -> None:
    """The outcome of a campaign push."""
    table = Table("outcome", "campaigns", title="Push summary")
    for name in ("created", "updated", *S.ACTIONS, "present", "failed"):
        table.add_row("unchanged" if name == "present" else name, str(counts.get(name, 0)))
    table.add_row("rejected", str(rejected))
    table.add_row("write requests sent", str(counts.get("requests", 0)))
    console.print(table)
    console.print(f"run {run_id}: each campaign's writes are in push_ledger, the rejects in push_rejects.")
