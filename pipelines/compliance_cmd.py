"""`antbot compliance`: the calls that broke the calling rules, and the DNC entries that do not block.

Exit 11 when any breach (in the period) or ineffective DNC entry is found, 0 when clean; the others as
every command gives them (pipelines.failures).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from antbot_source.analytics.views import SOURCE_TABLES, create_views, missing_tables
from antbot_source.compliance.breaches import read_summary, summary_tables
from antbot_source.compliance.rule_views import source_tables
from antbot_source.compliance.rules import calling_rules
from antbot_source.destination.access import DEFAULT_WAIT_S, dataset_pipeline
from antbot_source.errors import ConfigError
from pipelines.failures import COMPLIANCE_FOUND, notice, reported
from pipelines.options import DatasetOption, DestinationOption, DuckdbOption, WaitOption


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since: not a day (YYYY-MM-DD): {text!r}") from None


def compliance(
    destination: DestinationOption = None,
    duckdb: DuckdbOption = None,
    dataset: DatasetOption = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only calls from this local day on (YYYY-MM-DD); default: every loaded call.")] = None,
    wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """Calls that broke the calling rules (hours, 24-hour frequency, DNC) and DNC entries that do not
    block.

    Example: antbot compliance --duckdb antbot_demo.duckdb --since 2026-12-01

    Exit codes: 0 clean; 11 a breach or an ineffective DNC entry; 2 no such file or dataset, or a bad
    option; 9 a load holds the DuckDB file.
    """
    with reported("compliance"):
        day = _day(since)
        rules = calling_rules()
        with dataset_pipeline(destination=destination, duckdb_path=duckdb, dataset=dataset,
                              wait_s=wait, notify=notice) as pipeline:
            missing = missing_tables(pipeline, SOURCE_TABLES + source_tables(rules))
            if missing:
                raise ConfigError(f"dataset {dataset} has no table {', '.join(missing)}: load it first")
            create_views(pipeline, rules)  # the views apply the rules configured now
            summary = read_summary(pipeline, day)
    console = Console()
    hours = f"{rules.first_hour:%H:%M}-{rules.last_hour:%H:%M} {rules.timezone}"
    console.print(f"calling rules: {hours}, at most {rules.max_calls_per_24h} call(s) per number in 24 hours, "
                  f"DNC lists{f' and table {rules.dnc_table}' if rules.dnc_table else ''}"
                  f"{'; exempt: ' + ', '.join(rules.exempt_campaigns) if rules.exempt_campaigns else ''}")
    for table in summary_tables(summary):
        console.print(table)
    if not summary.found:
        console.print("no breach and no ineffective DNC entry")
        return
    console.print(f"{summary.total_breaches:,} breaches, {len(summary.ineffective):,} ineffective DNC entries")
    raise typer.Exit(COMPLIANCE_FOUND)
