"""Reverse ETL: push contacts and DNC numbers from a warehouse table to AntBot, exactly once.

`run_push` reads the input, plans against what the API holds now, shows the plan, stops if started
campaigns would dial new contacts (unless confirmed), applies the plan and records everything in
the dataset (`push_ledger`, `push_rejects`, `push_runs`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from antbot_source.api.pages import object_id, relation_id
from antbot_source.destination.locks import Notify
from antbot_source.errors import PUSH_FAILED, PUSH_NEEDS_CONFIRMATION, PUSH_REJECTED
from antbot_source.push.apply import Applier
from antbot_source.push.ledger import PushLedger
from antbot_source.push.plan import Client, Plan, build_plan, require_columns
from antbot_source.push.read import Destination, open_input
from antbot_source.push.render import show_dialling, show_plan, show_summary
from antbot_source.push.targets import create_targets, missing_target_names
from antbot_source.push.validate import Kind, NumberFormat, parse_phone
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB

__all__ = ["PushOptions", "PushResult", "demo_dry_run", "run_push"]

log = logging.getLogger(__name__)


@dataclass
class PushOptions:
    """Everything `antbot push contacts|dnc` takes, with the command's defaults."""

    kind: Kind
    table: str | None = None
    query: str | None = None
    destination: Destination = "duckdb"
    duckdb_path: Path | str = DEFAULT_DUCKDB
    dataset: str = DEFAULT_DATASET
    postgres_dsn: str | None = None
    target: Any = None  # --phonebook / --dnc-list: id or name for every row
    dry_run: bool = False
    update: bool = False
    batch_size: int = 500
    concurrency: int = 4
    yes: bool = False
    number_format: NumberFormat | None = None  # None: the account's dominant form
    create_targets: bool = False  # --create-phonebook / --create-dnc-list: create a target no name matches
    allow_dnc: bool = False  # contacts: push numbers on a DNC list of the account too
    fix_forms: bool = False  # dnc: add the forms the contacts use to entries that miss them
    wait_s: float = 60.0  # how long to wait for a load or a reader holding the DuckDB file


@dataclass
class PushResult:
    """What a push did."""

    exit_code: int
    run_id: str
    plan: Plan
    counts: Counter[str] = field(default_factory=Counter)


def exit_code_for(counts: Counter[str], rejected: int) -> int:
    """0 when every valid row was sent or present; PUSH_FAILED beats PUSH_REJECTED."""
    if counts.get("failed", 0) or counts.get("unknown", 0):
        return PUSH_FAILED
    return PUSH_REJECTED if rejected else 0


def run_push(client: Client, opts: PushOptions, console: Console | None = None,
             notify: Notify = log.warning) -> PushResult:
    """Plan and (unless a dry run, or stopped for confirmation) apply one push."""
    console = console or Console()
    wh, sql = open_input(opts, notify)
    try:
        columns, rows = wh.read_input(sql)
        require_columns(opts.kind, columns, opts.target)
        ledger = PushLedger(wh, opts.kind)
        new_targets = {}
        if opts.create_targets:
            missing = missing_target_names(client, opts.kind, rows, opts.target)
            new_targets = create_targets(client, opts.kind, missing, opts.dry_run, console.print)
        plan = build_plan(client, opts.kind, rows, target=opts.target, number_format=opts.number_format,
                          update=opts.update, open_keys=ledger.open_keys(), new_targets=new_targets,
                          allow_dnc=opts.allow_dnc, fix_forms=opts.fix_forms)
        ledger.start_run(opts.table or opts.query or "", opts.dry_run)
        ledger.rejects(plan.rejects)
        show_plan(plan, console)
        show_dialling(plan, console, confirmed=opts.yes or opts.dry_run)
        counts: Counter[str] = Counter(input_rows=len(rows), rejected=len(plan.rejects))
        if opts.dry_run:
            code = exit_code_for(counts, len(plan.rejects))
            console.print("[bold]Dry run:[/] nothing was sent.")
        elif plan.dialling and not opts.yes:
            code = PUSH_NEEDS_CONFIRMATION
        else:
            counts.update(_apply(client, plan, ledger, opts, console))
            code = exit_code_for(counts, len(plan.rejects))
            show_summary(counts, len(plan.rejects), ledger.run_id, console)
        ledger.finish_run(counts, code)
        return PushResult(code, ledger.run_id, plan, counts)
    finally:
        wh.close()


def _apply(client: Client, plan: Plan, ledger: PushLedger, opts: PushOptions, console: Console) -> Counter[str]:
    total = len(plan.create) + len(plan.update)
    with Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=total == 0) as progress:
        bar = progress.add_task("send", total=total)
        applier = Applier(client, plan, ledger, opts.batch_size, opts.concurrency,
                          on_progress=lambda n: progress.advance(bar, n))
        return applier.run()


DEMO_DNC_TABLE = "demo_dnc_numbers"


def demo_dry_run(client: Client, duckdb_path: Path | str, dataset: str = DEFAULT_DATASET,
                 console: Console | None = None) -> PushResult:
    """Create a small DNC table in the demo database and show the plan of pushing it (nothing is sent)."""
    import duckdb

    lists = next(iter(client.iter_pages("dnc-list/", {})), [])
    target = object_id(lists[0]) if lists else None
    numbers = ["0912345678", "+84 912 345 679", "0912-345-678", "12345"]  # mixed forms, a duplicate, a typo
    stored = next((str(r["phone_number"]) for page in client.iter_pages("dnc-contact/", {}) for r in page
                   if relation_id(r.get("dnc")) == target and parse_phone(r.get("phone_number"))), None)
    if stored and (held := parse_phone(stored)):  # one number the list holds, in the other form: present
        numbers.insert(1, held.key if stored.startswith("0") else held.national)
    with duckdb.connect(str(duckdb_path)) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        conn.execute(f'CREATE OR REPLACE TABLE "{dataset}".{DEMO_DNC_TABLE} (phone_number VARCHAR)')
        conn.executemany(f'INSERT INTO "{dataset}".{DEMO_DNC_TABLE} VALUES (?)', [(n,) for n in numbers])
    opts = PushOptions("dnc", table=DEMO_DNC_TABLE, duckdb_path=duckdb_path, dataset=dataset,
                       target=target, dry_run=True)
    return run_push(client, opts, console)
