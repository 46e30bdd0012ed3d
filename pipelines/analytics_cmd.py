"""`antbot views` and `antbot report`: the analytics views and the one-file HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import dlt
import typer
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from rich.console import Console

from antbot_source.analytics.summary import campaign_kpis_table
from antbot_source.analytics.views import create_views, missing_tables
from antbot_source.pipeline import build_pipeline
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB

DestinationOption = Annotated[
    str, typer.Option("--destination", help="dlt destination name (duckdb, postgres, ...).")
]
DuckdbOption = Annotated[Path, typer.Option("--duckdb", help="DuckDB file, for the duckdb destination.")]
DatasetOption = Annotated[str, typer.Option("--dataset", help="Dataset (schema) the data was loaded into.")]


def analytics_pipeline(destination: str, duckdb: Path, dataset: str) -> dlt.Pipeline:
    """A pipeline object pointing at the loaded dataset (credentials come from dlt's config)."""
    return build_pipeline(destination=destination, duckdb_path=duckdb, dataset=dataset)


def views(
    destination: DestinationOption = "duckdb",
    duckdb: DuckdbOption = Path(DEFAULT_DUCKDB),
    dataset: DatasetOption = DEFAULT_DATASET,
) -> None:
    """(Re)create the analytics views (KPIs, lookups) in a loaded dataset."""
    pipeline = analytics_pipeline(destination, duckdb, dataset)
    missing = missing_tables(pipeline)
    if missing:
        Console(stderr=True).print(
            f"[red]dataset {dataset} has no table {', '.join(missing)}[/]: load it first"
        )
        raise typer.Exit(2)
    names = create_views(pipeline)
    console = Console()
    console.print(f"created {len(names)} analytics views in dataset [bold]{dataset}[/]")
    console.print(campaign_kpis_table(pipeline))


def report(
    destination: DestinationOption = "duckdb",
    duckdb: DuckdbOption = Path(DEFAULT_DUCKDB),
    dataset: DatasetOption = DEFAULT_DATASET,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
) -> None:
    """Write a self-contained HTML report (KPIs and charts) of a loaded dataset."""
    # imported here: it brings matplotlib and pandas, which no other command needs
    from antbot_source.analytics.report import write_report

    try:
        path = write_report(analytics_pipeline(destination, duckdb, dataset), out)
    except DatabaseUndefinedRelation as exc:
        Console(stderr=True).print(
            f"[red]analytics views missing in dataset {dataset}[/]: run `antbot views` first"
        )
        raise typer.Exit(2) from exc
    Console().print(f"report written to [bold]{path}[/]")
