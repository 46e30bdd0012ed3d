"""Per-campaign KPIs from the `cdr_campaign_kpis` view, as a rich table for the terminal."""

from __future__ import annotations

import dlt
from rich.table import Table

from antbot_source.analytics.formats import campaign_label, fmt_count, fmt_percent, fmt_seconds


def campaign_kpis_table(pipeline: dlt.Pipeline) -> Table:
    """Attempts, answered, ASR, NER, ACD and machine share per campaign, as the views give them."""
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "SELECT campaign_id, campaign_name, call_kind, attempts, answered, asr, ner, acd_seconds, machine_share "
            f"FROM {client.fully_qualified_dataset_name()}.cdr_campaign_kpis ORDER BY campaign_id NULLS LAST"
        )
    table = Table(title="KPIs per campaign (A-legs; views cdr_campaign_kpis)")
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("campaign", ratio=1)
    for heading in ("attempts", "answered", "ASR", "NER", "ACD", "machine"):
        table.add_column(heading, justify="right", no_wrap=True)
    for cid, name, kind, attempts, answered, asr, ner, acd, machine in rows or []:
        table.add_row(
            "" if cid is None else str(cid),
            campaign_label(cid, name, kind),
            fmt_count(attempts),
            fmt_count(answered),
            fmt_percent(asr),
            fmt_percent(ner),
            fmt_seconds(acd),
            fmt_percent(machine),
        )
    return table
