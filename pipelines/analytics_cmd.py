"""`antbot views` and `antbot report`: the analytics views and the one-file HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from rich.console import Console

from antbot_source.analytics.kpi_table import campaign_kpis_table
from antbot_source.analytics.views import create_views, missing_tables
from antbot_source.destination.access import DEFAULT_WAIT_S, dataset_pipeline
from antbot_source.errors import ConfigError, require_extra
from pipelines.failures import notice, reported
from pipelines.options import DatasetOption, DestinationOption, DuckdbOption, WaitOption


def views(
    destination: DestinationOption = None,
    duckdb: DuckdbOption = None,
    dataset: DatasetOption = None,
    wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """(Re)create the analytics views (KPIs, lookups) in a loaded dataset.

    Example: antbot views --duckdb antbot_demo.duckdb

    Exit codes: 0 created; 2 no such file or dataset, or nothing loaded yet; 9 a load holds the DuckDB file.
    """
    with reported("views"), dataset_pipeline(destination=destination, duckdb_path=duckdb, dataset=dataset,
                                             wait_s=wait, notify=notice) as pipeline:
        missing = missing_tables(pipeline)
        if missing:
            raise ConfigError(f"dataset {dataset} has no table {', '.join(missing)}: load it first")
        names = create_views(pipeline)
        kpis = campaign_kpis_table(pipeline)
    console = Console()
    console.print(f"created {len(names)} analytics views in dataset [bold]{dataset}[/]")
    console.print(kpis)


def _writable(out: Path) -> None:
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: directory {out.parent} does not exist")


def report(
    destination: DestinationOption = None,
    duckdb: DuckdbOption = None,
    dataset: DatasetOption = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """Write a self-contained HTML report (KPIs and charts) of a loaded dataset.

    Example: antbot report --duckdb antbot_demo.duckdb --out report.html

    Exit codes: 0 written; 2 no such file or dataset, no views yet, or --out not writable; 9 a load holds
    the DuckDB file.
    """
    with reported("report"):
        require_extra("report", "matplotlib", "pandas")
        _writable(out)
        # imported here: it brings matplotlib and pandas, which no other command needs
        from antbot_source.analytics.report import write_report

        with dataset_pipeline(destination=destination, duckdb_path=duckdb, dataset=dataset, read_only=True,
                              wait_s=wait, notify=notice) as pipeline:
            try:
                path = write_report(pipeline, out)
            except DatabaseUndefinedRelation:
                raise ConfigError(f"analytics views missing in dataset {dataset}: run `antbot views` first") from None
            except OSError as exc:
                raise ConfigError(f"--out {out}: {exc.strerror or exc}") from None
    Console().print(f"report written to [bold]{path}[/]")
