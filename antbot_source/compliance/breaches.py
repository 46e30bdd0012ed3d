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
    """The summary from the compliance views of the pipeline's dataset (each view read once)."""
    where, args = ("WHERE day_local >= %s", (since,)) if since else ("", ())
    with pipeline.sql_client() as client:
        ds = client.fully_qualified_dataset_name()
        broken = client.execute_sql(
            f"WITH b AS MATERIALIZED (SELECT campaign_id, phone_e164, rule FROM {ds}.compliance_breaches {where}) "
            "SELECT campaign_id, CAST(NULL AS VARCHAR), rule, COUNT(*) FROM b GROUP BY campaign_id, rule "
            "UNION ALL SELECT * FROM (SELECT CAST(NULL AS BIGINT), phone_e164, "
            "STRING_AGG(DISTINCT rule, ', ' ORDER BY rule), "
            f"COUNT(*) FROM b GROUP BY phone_e164 ORDER BY COUNT(*) DESC, phone_e164 LIMIT {int(worst)}) AS w",
            *args) or []
        numbers = [row[1] for row in broken if row[1] is not None]
        in_numbers = ", ".join(["%s"] * len(numbers)) or "NULL"
        calls = client.execute_sql(
            f"WITH c AS MATERIALIZED (SELECT campaign_id, campaign_name, phone_e164 FROM {ds}.compliance_calls "
            f"{where}) SELECT campaign_id, campaign_name, CAST(NULL AS VARCHAR), COUNT(*) FROM c "
            "GROUP BY campaign_id, campaign_name "
            "UNION ALL SELECT CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), phone_e164, COUNT(*) FROM c "
            f"WHERE phone_e164 IN ({in_numbers}) "
            "GROUP BY phone_e164", *args, *numbers) or []
        ineffective = client.execute_sql(
            f"SELECT dnc_list_id, dnc_list_name, phone_number, unblocked_forms FROM {ds}.dnc_ineffective "
            "ORDER BY dnc_list_id, phone_number, dnc_contact_id")
    names = {row[0]: row[1] for row in calls if row[2] is None}
    counted = {row[0]: row[3] for row in calls if row[2] is None}
    called = {row[2]: row[3] for row in calls if row[2] is not None}
    breaches = sorted(((cid, names.get(cid), rule, n, counted.get(cid, 0))
                       for cid, number, rule, n in broken if number is None), key=lambda r: (-r[3], r[0], r[2]))
    worst_numbers = sorted(((number, n, called.get(number, 0), rules) for _, number, rules, n in broken
                            if number is not None), key=lambda r: (-r[1], r[0]))
    return ComplianceSummary(since, breaches, list(ineffective or []), worst_numbers)


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
