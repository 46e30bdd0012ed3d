"""Rich rendering of a push: the plan before, the campaigns that would dial, the summary after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice

from rich.console import Console
from rich.table import Table

from antbot_source.push.dnc_guard import FormItem
from antbot_source.push.plan import Plan
from antbot_source.push.validate import Item, Reject

SAMPLE = 5


def _item_row(item: Item) -> tuple[str, str, str, str]:
    extra = ", ".join(f"{k}={v}" for k, v in item.fields.items() if k in ("first_name", "last_name", "status"))
    return str(item.row_no), item.number, str(item.target) if item.target > 0 else "(to create)", extra


def show_plan(plan: Plan, console: Console) -> None:
    """Counts per part of the plan, and a sample of each part."""
    what = "contacts" if plan.kind == "contacts" else "DNC numbers"
    target = "phonebook" if plan.kind == "contacts" else "DNC list"
    console.print(f"[bold]Plan[/]: push {plan.input_rows} input rows as {what}; numbers written "
                  f"[bold]{plan.number_format}[/] ({plan.format_source})")
    counts = Table("part", "rows", title=None, show_header=True)
    counts.add_row("[green]to create[/]", str(len(plan.create)))
    counts.add_row("already present", str(len(plan.present)))
    if plan.kind == "contacts":
        counts.add_row("[cyan]to update[/] (--update)", str(len(plan.update)))
    counts.add_row("[red]rejected[/]", str(len(plan.rejects)))
    console.print(counts)
    for title, items in (("to create", plan.create), ("already present", plan.present)):
        if items:
            sample = Table("row", "number", target, "fields", title=f"{title} (first {SAMPLE})")
            for item in islice(items, SAMPLE):
                sample.add_row(*_item_row(item))
            console.print(sample)
    if plan.update:
        sample = Table("row", "number", "contact id", "changes", title=f"to update (first {SAMPLE})")
        for upd in islice(plan.update, SAMPLE):
            sample.add_row(str(upd.item.row_no), upd.item.number, str(upd.contact_id), str(upd.changes))
        console.print(sample)
    show_rejects(plan.rejects, console)
    if plan.other_form:
        console.print(f"[yellow]{len(plan.other_form)} DNC numbers are present only in another written form "
                      f"(e.g. {plan.other_form[0][1]!r} for {plan.other_form[0][0].number!r}). DNC matching is "
                      "exact: they may not block calls to contacts stored in the other form.[/]")
    if plan.unblocked:
        fixing = any(isinstance(item, FormItem) for item in plan.create)
        sample = Table("DNC list", "entry as stored", "contacts' forms it misses",
                       title=f"DNC entries that do not block every form (first {SAMPLE} of {len(plan.unblocked)})")
        for u in islice(plan.unblocked, SAMPLE):
            sample.add_row(str(u.target), u.entry, ", ".join(u.forms))
        console.print(sample)
        console.print("The missing forms are added (--fix-forms)." if fixing else
                      "[yellow]The dialer matches DNC numbers exactly: rerun with --fix-forms to add the missing "
                      "forms.[/]")
    if plan.reopened_present or plan.reopened_resend:
        console.print(f"An earlier push left {plan.reopened_present + plan.reopened_resend} rows unconfirmed; "
                      f"looked them up: {plan.reopened_present} present, {plan.reopened_resend} to send again.")


def show_rejects(rejects: Sequence[Reject], console: Console, shown: int = SAMPLE) -> None:
    """The first `shown` rejected rows of any push, with their reasons (all of them are in push_rejects)."""
    if rejects:
        sample = Table("row", "reason", title=f"rejected (first {shown}; all in push_rejects)")
        for rej in islice(rejects, shown):
            sample.add_row(str(rej.row_no), rej.reason)
        console.print(sample)


def show_dialling(plan: Plan, console: Console, confirmed: bool) -> None:
    """The started campaigns that will dial the new active contacts at once."""
    if not plan.dialling:
        return
    table = Table("campaign id", "name", "phonebooks", "new active contacts",
                  title="[bold red]Started campaigns that will dial the new contacts at once[/]")
    for camp in plan.dialling:
        table.add_row(str(camp["id"]), str(camp["name"]), ", ".join(map(str, camp["phonebooks"])),
                      str(camp["new_active"]))
    console.print(table)
    if not confirmed:
        console.print("[bold]Stopped before sending.[/] Pause those campaigns, or rerun with --yes to push anyway.")


def show_summary(counts: Mapping[str, int], rejected: int, run_id: str, console: Console) -> None:
    """The outcome of a push, per outcome."""
    table = Table("outcome", "rows", title="Push summary")
    for name, style in (("created", "green"), ("updated", "cyan"), ("present", ""), ("failed", "red")):
        table.add_row(f"[{style}]{name}[/]" if style else name, str(counts.get(name, 0)))
    table.add_row("[red]rejected[/]", str(rejected))
    table.add_row("write requests sent", str(counts.get("requests", 0)))
    console.print(table)
    console.print(f"run {run_id}: each row's outcome is in push_ledger, the rejects in push_rejects.")
