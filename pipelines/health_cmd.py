"""`antbot health`: the health of the last load runs per table, and an exit code a scheduler can alert on."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from antbot_source.destination.access import DEFAULT_WAIT_S, dataset_pipeline
from antbot_source.health.lateness import hours
from antbot_source.health.recent import RECENT_RUNS, last_load_age, last_run_warnings, recent_health
from pipelines.failures import HEALTH_WARNING, notice, reported
from pipelines.options import DatasetOption, DestinationOption, DuckdbOption, WaitOption

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
    destination: DestinationOption = None,
    duckdb: DuckdbOption = None,
    dataset: DatasetOption = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many of the last runs to show.")] = RECENT_RUNS,
    max_age: Annotated[float | None, typer.Option(
        "--max-age", min=0, metavar="HOURS", help="Exit 10 when the last load ran longer ago than this (a stopped "
        "scheduler).", show_default=False)] = None,
    wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """Show the last load runs' health per table (rows, requests, retries, late and healed CDRs).

    Example: antbot health --max-age 1

    Exit codes: 0 healthy; 10 the last run recorded a warning, or (--max-age) the last load is too old;
    2 no such dataset or no load yet; 9 a load holds the DuckDB file.
    """
    with reported("health"), dataset_pipeline(destination=destination, duckdb_path=duckdb, dataset=dataset,
                                              read_only=True, wait_s=wait, notify=notice) as pipeline:
        rows = recent_health(pipeline, runs)
    Console(width=200).print(health_table(rows))
    warnings = last_run_warnings(rows)
    age = last_load_age(rows)
    if max_age is not None and age is not None and age > timedelta(hours=max_age):
        warnings.append(f"the last load ran {hours(age)} ago, more than --max-age {max_age:g} h: is the scheduler "
                        "running?")
    for line in warnings:
        notice(f"warning: {line}")
    if warnings:
        raise typer.Exit(HEALTH_WARNING)
