"""`antbot health`: the health of the last load runs per table, and an exit code a scheduler can alert on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from antbot_source.health.show import RECENT_RUNS, last_run_warnings, recent_health
from antbot_source.pipeline import DEFAULT_WAIT_S, dataset_pipeline
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB
from pipelines.analytics_cmd import DatasetOption, DestinationOption, DuckdbOption, WaitOption
from pipelines.failures import HEALTH_WARNING, notice, reported

# (heading, column, format) of the table printed
SHOWN: tuple[tuple[str, str, str], ...] = (
    ("rows", "rows_loaded", "{:,}"), ("requests", "requests", "{:,}"), ("retries", "retries", "{:,}"),
    ("throttled s", "throttled_s", "{:.1f}"), ("late rows", "late_rows", "{:,}"),
    ("max late s", "max_lateness_s", "{:,.0f}"), ("p95 late s", "p95_lateness_s", "{:,.0f}"),
    ("healed", "healed_rows", "{:,}"),
)


def _cell(value: Any, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def health_table(rows: list[dict[str, Any]]) -> Table:
    """The rows of recent_health as a rich table: one line per run and table, warnings flagged."""
    table = Table(title="load health (oldest run first)")
    for heading in ("run started (UTC)", "table", *(h for h, _, _ in SHOWN), "warnings"):
        table.add_column(heading, justify="left" if heading in ("run started (UTC)", "table", "warnings") else "right")
    for row in rows:
        table.add_row(f"{row['started_at']:%Y-%m-%d %H:%M:%S}", row["table_name"],
                      *(_cell(row[column], fmt) for _, column, fmt in SHOWN),
                      str(len(row["warnings"].splitlines())) if row["warnings"] else "")
    return table


def health(
    destination: DestinationOption = "duckdb",
    duckdb: DuckdbOption = Path(DEFAULT_DUCKDB),
    dataset: DatasetOption = DEFAULT_DATASET,
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many of the last runs to show.")] = RECENT_RUNS,
    wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """Show the last load runs' health per table (rows, requests, retries, late and healed CDRs); exit 10
    when the last run recorded a warning."""
    with reported("health"), dataset_pipeline(destination=destination, duckdb_path=duckdb, dataset=dataset,
                                              read_only=True, wait_s=wait, notify=notice) as pipeline:
        rows = recent_health(pipeline, runs)
    Console(width=200).print(health_table(rows))
    warnings = last_run_warnings(rows)
    for line in warnings:
        notice(f"warning: {line}")
    if warnings:
        raise typer.Exit(HEALTH_WARNING)
