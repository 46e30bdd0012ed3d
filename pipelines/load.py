"""`antbot load`: the command around `antbot_source.pipeline.load`: options, progress, the summary, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from dlt.common.runtime.collector import Collector
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from antbot_source.errors import ConfigError
from antbot_source.pipeline import DEFAULT_WAIT_S, LoadSummary
from antbot_source.pipeline import load as run_everything
from antbot_source.resources.source import to_utc
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB
from pipelines.failures import notice, reported

err_console = Console(stderr=True)


class RichCollector(Collector):
    """dlt progress (rows per table while extracting, files, jobs) as rich progress bars on a terminal's stderr."""

    def __init__(self, console: Console = err_console):
        self.console = console
        self.step = ""
        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}

    def update(self, name: str, inc: int = 1, total: int | None = None, inc_total: int | None = None,
               message: str | None = None, label: str | None = None) -> None:
        if self._progress is None or label:
            return
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(f"{self.step} {name}", total=total)
        task = self._tasks[name]
        if inc_total:
            current = self._progress.tasks[task].total or 0
            self._progress.update(task, total=current + inc_total)
        elif total is not None:
            self._progress.update(task, total=total)
        self._progress.update(task, advance=inc)

    def _start(self, step: str) -> None:
        if not self.console.is_terminal:  # bars in a log file or a pipe are noise (and leave blank lines)
            return
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=self.console, transient=True,
        )
        self._tasks = {}
        self._progress.start()

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None


def summary_table(summary: LoadSummary) -> Table:
    """Rows loaded per table, as a rich table."""
    table = Table(title=f"rows loaded ({summary.runs} run(s), {summary.seconds:.1f} s)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in sorted(summary.rows):
        table.add_row(name, f"{summary.rows[name]:,}")
    return table


def summary_notes(summary: LoadSummary) -> list[str]:
    """What the summary table does not show: a finished interrupted package, repaired rows."""
    notes = []
    if summary.resumed_packages:
        rows = ", ".join(f"{t} {n:,}" for t, n in sorted(summary.resumed_rows.items())) or "no rows"
        notes.append(f"finished {summary.resumed_packages} package(s) of an interrupted run first ({rows}; "
                     "counted above)")
    if summary.repaired_rows:
        notes.append(f"repaired cdr: deleted {summary.repaired_rows:,} rows an earlier run had loaded twice")
    if summary.published:
        notes.append(f"published a read-only copy at {summary.published}")
    return notes


def load(
    destination: Annotated[str | None, typer.Option(
        help="dlt destination name (duckdb, postgres, bigquery, ...) (default: DESTINATION_TYPE, else duckdb)",
        show_default=False)] = None,
    duckdb: Annotated[Path | None, typer.Option("--duckdb", help=(
        f"DuckDB file (duckdb destination) (default: DESTINATION__DUCKDB__CREDENTIALS, else {DEFAULT_DUCKDB})"),
        show_default=False)] = None,
    dataset: Annotated[str, typer.Option(help="dataset (schema) name at the destination")] = DEFAULT_DATASET,
    resources: Annotated[str | None, typer.Option(help="comma-separated tables to load (default: all)")] = None,
    since: Annotated[str | None, typer.Option(help="backfill CDRs from this timestamp (UTC if no offset)")] = None,
    until: Annotated[str | None, typer.Option(help="backfill CDRs up to this timestamp (UTC if no offset)")] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="drop the loaded tables and state first")] = False,
    publish: Annotated[Path | None, typer.Option(
        "--publish", metavar="PATH", help="after the load, replace PATH with a copy of the DuckDB file for dashboards "
        "to open (default: SOURCES__ANTBOT__PUBLISH)", show_default=False)] = None,
    reconcile: Annotated[bool, typer.Option(
        "--reconcile", help="read every table in full now, for edits (else every SOURCES__ANTBOT__RECONCILE_HOURS)")
    ] = False,
    pipeline_name: Annotated[str | None, typer.Option(
        help="dlt pipeline name (default: the DuckDB file's name without .duckdb, else antbot)",
        show_default=False)] = None,
    wait: Annotated[float, typer.Option(
        "--wait", min=0, help="seconds to wait for another run or a DuckDB reader to let go (then exit 9)")
    ] = DEFAULT_WAIT_S,
) -> None:
    """Load AntBot data (configured by SOURCES__ANTBOT__* or .dlt/) into DuckDB or any dlt destination."""
    with reported("load"):
        window: dict[str, Any] = {"since": to_utc(since, "--since"), "until": to_utc(until, "--until"),
                                  "reconcile": reconcile or None}
        if window["since"] and window["until"] and window["since"] >= window["until"]:
            raise ConfigError("--since must be before --until")
        summary = run_everything(
            destination=destination, duckdb_path=duckdb, dataset=dataset, pipeline_name=pipeline_name,
            resources=resources, full_refresh=full_refresh, wait_s=wait, progress=RichCollector(),
            notify=notice, publish=publish, **{k: v for k, v in window.items() if v is not None},
        )
    for line in summary_notes(summary):
        notice(line)
    Console().print(summary_table(summary))
