"""`antbot load`: the command around `antbot_source.pipeline.load`: options, progress, the summary, failures."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import orjson
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

from antbot_source.destination.access import DEFAULT_WAIT_S
from antbot_source.errors import ConfigError
from antbot_source.pipeline import LoadSummary
from antbot_source.pipeline import load as run_everything
from antbot_source.resources.source import to_utc
from pipelines.failures import notice, reported
from pipelines.options import DatasetOption, DestinationOption, DuckdbOption, WaitOption

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


class LogFormat(str, Enum):
    """How the summary is printed: a table on a terminal, time-stamped lines in a log (auto), or JSON lines."""

    auto = "auto"
    table = "table"
    plain = "plain"
    json = "json"


def summary_table(summary: LoadSummary) -> Table:
    """Rows read and net new rows per table, as a rich table."""
    table = Table(title=f"rows loaded ({summary.runs} run(s), {summary.seconds:.1f} s)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("new (net)", justify="right")
    for name in sorted(summary.rows):
        new = summary.new_rows.get(name)
        table.add_row(name, f"{summary.rows[name]:,}", "" if new is None else f"{new:+,}")
    return table


def summary_records(summary: LoadSummary) -> list[dict[str, Any]]:
    """The summary as records: one per table read (rows read, net new rows), then the load's totals."""
    records: list[dict[str, Any]] = [
        {"event": "table", "table": name, "rows_read": summary.rows[name], "rows_new": summary.new_rows.get(name)}
        for name in sorted(summary.rows)]
    records.append({"event": "done", "runs": summary.runs, "seconds": round(summary.seconds, 1),
                    "rows_read": sum(summary.rows.values()),
                    "rows_new": sum(n for n in summary.new_rows.values() if n is not None)})
    return records


def print_summary(summary: LoadSummary, fmt: LogFormat) -> None:
    """The summary in `fmt`: `auto` is a table on a terminal and time-stamped lines in a log or a pipe."""
    console = Console()
    if fmt is LogFormat.table or (fmt is LogFormat.auto and console.is_terminal):
        console.print(summary_table(summary))
        return
    for record in summary_records(summary):
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        if fmt is LogFormat.json:
            print(orjson.dumps({"time": stamp, "command": "antbot load", **record}).decode(), flush=True)
        elif record["event"] == "table":
            new = "" if record["rows_new"] is None else f", {record['rows_new']:+,} new (net)"
            print(f"{stamp} antbot load: {record['table']}: {record['rows_read']:,} rows read{new}", flush=True)
        else:
            print(f"{stamp} antbot load: done: {record['runs']} run(s), {record['seconds']} s, "
                  f"{record['rows_read']:,} rows read, {record['rows_new']:+,} new (net)", flush=True)


def summary_notes(summary: LoadSummary) -> list[str]:
    """What the summary table does not show: a finished interrupted package, repaired rows."""
    notes = []
    if summary.resumed_packages:
        rows = ", ".join(f"{t} {n:,}" for t, n in sorted(summary.resumed_rows.items())) or "no rows"
        notes.append(f"finished {summary.resumed_packages} package(s) of an interrupted run first ({rows}; "
                     "counted above)")
    if summary.published:
        notes.append(f"published a read-only copy at {summary.published}")
    return notes


def load(
    destination: DestinationOption = None,
    duckdb: DuckdbOption = None,
    dataset: DatasetOption = None,
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
    wait: WaitOption = DEFAULT_WAIT_S,
    log_format: Annotated[LogFormat, typer.Option(
        "--log-format", help="the summary: a table on a terminal and time-stamped lines in a log (auto), or JSON "
        "lines")] = LogFormat.auto,
) -> None:
    """Load AntBot data (configured by SOURCES__ANTBOT__* or .dlt/) into DuckDB or any dlt destination.

    Example: antbot load --resources cdr,campaigns --publish /srv/bi/antbot_bi.duckdb

    Exit codes: 0 loaded; 2 bad configuration; 3 bad credentials; 4 AntBot unreachable; 5 AntBot answered
    an error; 9 another run or a reader holds the pipeline or the file; 130/143 interrupted (run again).
    """
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
    print_summary(summary, log_format)
