"""What `antbot compliance` shows: breaches per rule and campaign, the ineffective DNC entries and the
numbers with the most breaches, read from the compliance views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import dlt
from rich.table import Table

from antbot_source.analytics.formats import campaign_label, fmt_count

WORST_NUMBERS = 10
SHOWN_DNC_ENTRIES = 20  # the rest are in the view dnc_ineffective


@dataclass
class ComplianceSummary:
    """The breaches of the counted calls from `since` (a local day; None: all), and the DNC entries that
    do not block every form of their number (whatever the period: they are the lists as they are now)."""

    since: date | None
    breaches: list[tuple[Any, ...]]  # campaign_id, campaign_name, rule, breaches, counted calls
    ineffective: list[tuple[Any, ...]]  # dnc_list_id, dnc_list_name, phone_number, unblocked_forms
    worst: list[tuple[Any, ...]]  # phone_e164, breaches, calls, rules

    @property
    def total_breaches(self) -> int:
        return sum(int(row[3]) for row in self.breaches)

    @property
    def found(self) -> bool:
        """Whether anything broke the rules: a breach in the period or an ineffective DNC entry."""
        return bool(self.breaches or self.ineffective)


def read_summary(pipeline: dlt.Pipeline, since: date | None, worst: int = WORST_NUMBERS) -> ComplianceSummary:
    """The summary from the compliance views of the pipeline's dataset."""
    where, args = ("WHERE day_local >= %s", (since,)) if since else ("", ())
    with pipeline.sql_client() as client:
        ds = client.fully_qualified_dataset_name()
        breaches = client.execute_sql(
            f"WITH b AS (SELECT campaign_id, rule, COUNT(*) AS n FROM {ds}.compliance_breaches {where} "
            "GROUP BY campaign_id, rule), "
            f"c AS (SELECT campaign_id, campaign_name, COUNT(*) AS calls FROM {ds}.compliance_calls {where} "
            "GROUP BY campaign_id, campaign_name) "
            "SELECT c.campaign_id, c.campaign_name, b.rule, b.n, c.calls FROM b JOIN c ON c.campaign_id = b.campaign_id "
            "ORDER BY b.n DESC, c.campaign_id, b.rule", *args, *args)
        ineffective = client.execute_sql(
            f"SELECT dnc_list_id, dnc_list_name, phone_number, unblocked_forms FROM {ds}.dnc_ineffective "
            "ORDER BY dnc_list_id, phone_number, dnc_contact_id")
        numbers = client.execute_sql(
            f"WITH b AS (SELECT phone_e164, COUNT(*) AS n FROM {ds}.compliance_breaches {where} GROUP BY phone_e164), "
            f"r AS (SELECT DISTINCT phone_e164, rule FROM {ds}.compliance_breaches {where}), "
            f"c AS (SELECT phone_e164, COUNT(*) AS calls FROM {ds}.compliance_calls {where} GROUP BY phone_e164) "
            "SELECT b.phone_e164, b.n, c.calls, "
            "(SELECT STRING_AGG(r.rule, ', ' ORDER BY r.rule) FROM r WHERE r.phone_e164 = b.phone_e164) "
            "FROM b JOIN c ON c.phone_e164 = b.phone_e164 "
            f"ORDER BY b.n DESC, b.phone_e164 LIMIT {int(worst)}", *args, *args, *args)
    return ComplianceSummary(since, list(breaches or []), list(ineffective or []), list(numbers or []))


def summary_tables(summary: ComplianceSummary) -> list[Table]:
    """The summary as rich tables for the terminal (none for an empty part)."""
    period = f" since {summary.since.isoformat()}" if summary.since else ""
    tables = []
    if summary.breaches:
        table = Table(title=f"Breaches per rule and campaign{period} (view compliance_breaches)")
        for heading, justify in (("campaign", "left"), ("rule", "left"), ("breaches", "right"),
                                 ("counted calls", "right")):
            table.add_column(heading, justify=justify)  # type: ignore[arg-type]
        for cid, name, rule, n, calls in summary.breaches:
            table.add_row(campaign_label(cid, name), rule, fmt_count(n), fmt_count(calls))
        tables.append(table)
    if summary.ineffective:
        shown = summary.ineffective[:SHOWN_DNC_ENTRIES]
        table = Table(title=f"DNC entries that do not block ({len(shown)} of {len(summary.ineffective)}; "
                            "view dnc_ineffective)")
        for heading in ("DNC list", "entry as stored", "contacts' forms it misses"):
            table.add_column(heading)
        for list_id, list_name, number, forms in shown:
            table.add_row(f"{list_name} ({list_id})" if list_name else str(list_id), number, forms)
        tables.append(table)
    if summary.worst:
        table = Table(title=f"Numbers with the most breaches{period}")
        for heading, justify in (("number", "left"), ("breaches", "right"), ("counted calls", "right"),
                                 ("rules", "left")):
            table.add_column(heading, justify=justify)  # type: ignore[arg-type]
        for number, n, calls, rules in summary.worst:
            table.add_row(number, fmt_count(n), fmt_count(calls), rules)
        tables.append(table)
    return tables
