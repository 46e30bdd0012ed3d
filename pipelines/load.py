"""`antbot load`: build the pipeline, run it until the CDR backlog is caught up, print rows per table."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import dlt
import typer
from dlt.common.runtime.collector import Collector
from dlt.common.typing import TLoaderFileFormat
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.extract.source import DltSource
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

from antbot_source import TABLE_NAMES, antbot, to_utc
from antbot_source.analytics.views import create_views, drop_views
from antbot_source.cdr import cdr_backlog_pending
from antbot_source.errors import AntBotError, ConfigError
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB

DELETE_COMPLETED_JOBS = "load.delete_completed_jobs"
# a safety stop for the catch-up loop: each run reads up to `cdr_run_rows` CDRs
MAX_RUNS = 10_000

err_console = Console(stderr=True)


@dataclass
class LoadSummary:
    """What a load did: rows written per table (over every run), the runs and the load ids."""

    rows: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    load_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add_run(self, pipeline: dlt.Pipeline) -> None:
        """Count the rows of the run the pipeline just finished."""
        trace = pipeline.last_trace
        normalize = trace.last_normalize_info if trace else None
        counts = Counter(self.rows)
        if normalize is not None:
            counts.update({t: n for t, n in normalize.row_counts.items() if not t.startswith("_dlt")})
        self.rows = dict(counts)
        load = trace.last_load_info if trace else None
        if load is not None:
            self.load_ids.extend(load.loads_ids)
        self.runs += 1


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


# DuckDB takes most of the machine's memory by default; a load stays well within this and spills beyond it.
# Rows loaded in any order: DuckDB then inserts a parquet file on every thread (1M CDRs: 2.1 s, not 4.3 s);
# no table of ours relies on insertion order, every view and query orders explicitly.
DUCKDB_LOAD_SETTINGS = {"memory_limit": "128MB", "preserve_insertion_order": False}


def build_pipeline(
    *,
    destination: str = "duckdb",
    duckdb_path: str | Path = DEFAULT_DUCKDB,
    dataset: str = DEFAULT_DATASET,
    pipeline_name: str = "antbot",
    credentials: Any = None,
    progress: Collector | str | None = None,
    pipelines_dir: str | Path | None = None,
) -> dlt.Pipeline:
    """The dlt pipeline of a load (its working dir lives under `pipelines_dir`, else DLT_DATA_DIR as dlt decides)."""
    if destination == "duckdb":
        if Path(str(credentials or duckdb_path)).stem == dataset:
            raise ConfigError(
                f"the DuckDB file {Path(str(credentials or duckdb_path)).name} and the dataset {dataset!r} "
                "share a name, which makes DuckDB reject every reference to the dataset: rename one of them"
            )
        target: Any = dlt.destinations.duckdb(
            credentials=DuckDbCredentials(str(credentials or duckdb_path), global_config=DUCKDB_LOAD_SETTINGS)
        )
    elif credentials is not None:
        target = dlt.destination(destination, credentials=_with_empty_password(credentials))
    else:
        target = destination
    kwargs: dict[str, Any] = {"progress": progress} if progress is not None else {}
    if pipelines_dir is not None:
        kwargs["pipelines_dir"] = str(pipelines_dir)
    return dlt.pipeline(pipeline_name=pipeline_name, destination=target, dataset_name=dataset, **kwargs)


def _with_empty_password(credentials: Any) -> Any:
    """A `user@host` DSN as `user:@host`: dlt requires a password field even where the server trusts the user."""
    if isinstance(credentials, str) and "://" in credentials:
        scheme, _, rest = credentials.partition("://")
        userinfo, at, host = rest.rpartition("@")
        if at and userinfo and ":" not in userinfo:
            return f"{scheme}://{userinfo}:@{host}"
    return credentials


def parse_resources(value: str | Sequence[str] | None) -> list[str] | None:
    """`a,b` as a list of known table names (None: all of them)."""
    if not value:
        return None
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value) if n.strip()]
    unknown = [n for n in names if n not in TABLE_NAMES]
    if unknown:
        raise ConfigError(f"unknown resource(s) {', '.join(unknown)}; known: {', '.join(TABLE_NAMES)}")
    return names


def build_source(resources: Sequence[str] | None = None, **source_args: Any) -> DltSource:
    """The `antbot` source (configuration from SOURCES__ANTBOT__* / .dlt, overridden by `source_args`),
    restricted to `resources` when given."""
    source = antbot(**source_args)
    return source.with_resources(*resources) if resources else source


def loader_file_format(pipeline: dlt.Pipeline) -> TLoaderFileFormat:
    """Parquet wherever the destination takes it (DuckDB, MotherDuck, warehouses; PostgreSQL with its
    ADBC driver), else the destination's preferred format, named: left to choose for Arrow tables, dlt
    would send them to PostgreSQL as CSV, whose COPY turns empty strings into NULLs."""
    caps = pipeline.destination.capabilities()
    supported = caps.supported_loader_file_formats
    if caps.loader_file_format_selector is not None:  # it drops formats whose driver is missing
        _, supported = caps.loader_file_format_selector(
            caps.preferred_loader_file_format, supported, table_schema={"name": ""}
        )
    return "parquet" if "parquet" in supported else caps.preferred_loader_file_format


def tables_loaded_as_rows(pipeline: dlt.Pipeline, resources: Sequence[str] | None = None) -> list[str]:
    """Selected tables that antbot-dlt loaded as rows of dicts before it loaded Arrow tables: dlt gave
    them `_dlt_id` and `_dlt_load_id` columns that may not be null, and Arrow tables do not fill them.

    Never `cdr`: it was Arrow from the start, and its history is not re-read every run.
    """
    if pipeline.default_schema_name is None:
        return []
    schema = pipeline.default_schema
    return [name for name in resources or TABLE_NAMES
            if name != "cdr" and name in schema.tables and "_dlt_id" in schema.get_table_columns(name)]


def iter_runs(
    pipeline: dlt.Pipeline,
    make_source: Callable[[Sequence[str] | None], DltSource],
    resources: Sequence[str] | None = None,
    *,
    full_refresh: bool = False,
    rebuild: Sequence[str] = (),
    max_runs: int = MAX_RUNS,
) -> Iterator[Any]:
    """Run the pipeline until the CDR backlog is caught up, yielding each run's LoadInfo.

    A package left pending by a killed run is finished first, then the tables in `rebuild` are
    dropped and loaded anew in a run of their own. The next run loads every other selected
    resource; while `cdr_backlog_pending` says the CDR read stopped with windows left, further runs
    load `cdr` only. Each run commits its windows, so a killed backfill resumes where it stopped.
    """
    if pipeline.has_pending_data:
        yield pipeline.run()
    file_format = loader_file_format(pipeline)
    refresh = "drop_resources" if full_refresh else None
    selected = resources
    if rebuild:
        yield pipeline.run(make_source(rebuild), loader_file_format=file_format, refresh="drop_resources")
        selected = [name for name in resources or TABLE_NAMES if name not in rebuild]
        if not selected:
            return
    for _ in range(max_runs):
        yield pipeline.run(make_source(selected), loader_file_format=file_format, refresh=refresh)
        refresh = None
        if (resources is not None and "cdr" not in resources) or not cdr_backlog_pending(pipeline):
            return
        selected = ["cdr"]


def run_load(
    pipeline: dlt.Pipeline,
    resources: Sequence[str] | None = None,
    *,
    full_refresh: bool = False,
    **source_args: Any,
) -> LoadSummary:
    """Load the selected resources (all by default) into `pipeline`; `source_args` go to `antbot()`.

    Files of loaded packages are deleted once loaded (`[load] delete_completed_jobs`, unless configured
    otherwise): dlt keeps them by default, which is a copy of every row ever loaded.
    """
    started = time.perf_counter()
    summary = LoadSummary()
    build_source(resources, **source_args)  # configuration errors surface before anything runs
    if dlt.config.get(DELETE_COMPLETED_JOBS) is None:
        dlt.config[DELETE_COMPLETED_JOBS] = True
    # a new working dir: take the schemas back from the destination now, as the first run would,
    # to see which tables were loaded the old way
    if pipeline.default_schema_name is None:
        pipeline.sync_destination()
    # tables re-read whole every run: rebuilding those loaded the old way costs one run, and no data
    rebuild = [] if full_refresh else tables_loaded_as_rows(pipeline, resources)
    if full_refresh or rebuild:
        drop_views(pipeline)  # they depend on the tables the refresh drops

    def make_source(selected: Sequence[str] | None) -> DltSource:
        return build_source(selected, **source_args)

    for _ in iter_runs(pipeline, make_source, resources, full_refresh=full_refresh, rebuild=rebuild):
        summary.add_run(pipeline)
    summary.seconds = time.perf_counter() - started
    return summary


def antbot_error(exc: BaseException) -> AntBotError | None:
    """The AntBotError behind `exc` (dlt wraps what a resource raises), if there is one."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AntBotError):
            return current
        todo.extend([current.__cause__, current.__context__, getattr(current, "exception", None)])
    return None


def redact(text: str) -> str:
    """`text` without the configured password or access token."""
    for key in ("password", "access_token"):
        secret = dlt.secrets.get(f"sources.antbot.{key}")
        if secret:
            text = text.replace(str(secret), "***")
    return text


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (with its type when it is not one of ours)."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    return first if isinstance(exc, AntBotError) else f"{type(exc).__name__}: {first}"


def summary_table(summary: LoadSummary) -> Table:
    """Rows loaded per table, as a rich table."""
    table = Table(title=f"rows loaded ({summary.runs} run(s), {summary.seconds:.1f} s)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in sorted(summary.rows):
        table.add_row(name, f"{summary.rows[name]:,}")
    return table


def _moment(value: str | None, option: str) -> datetime | None:
    try:
        return to_utc(value)
    except ConfigError:
        raise ConfigError(f"{option}: not an ISO-8601 date or timestamp: {value!r}") from None


def load(
    destination: Annotated[str, typer.Option(help="dlt destination name (duckdb, postgres, bigquery, ...)")] = "duckdb",
    duckdb: Annotated[Path, typer.Option("--duckdb", help="DuckDB file (duckdb destination)")] = Path(DEFAULT_DUCKDB),
    dataset: Annotated[str, typer.Option(help="dataset (schema) name at the destination")] = DEFAULT_DATASET,
    resources: Annotated[str | None, typer.Option(help="comma-separated tables to load (default: all)")] = None,
    since: Annotated[str | None, typer.Option(help="backfill CDRs from this timestamp (UTC if no offset)")] = None,
    until: Annotated[str | None, typer.Option(help="backfill CDRs up to this timestamp (UTC if no offset)")] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="drop the loaded tables and state first")] = False,
    pipeline_name: Annotated[str, typer.Option(help="dlt pipeline name")] = "antbot",
) -> None:
    """Load AntBot data (configured by SOURCES__ANTBOT__* or .dlt/) into DuckDB or any dlt destination."""
    try:
        selected = parse_resources(resources)
        window = {"since": _moment(since, "--since"), "until": _moment(until, "--until")}
        if window["since"] and window["until"] and window["since"] >= window["until"]:
            raise ConfigError("--since must be before --until")
        pipeline = build_pipeline(destination=destination, duckdb_path=duckdb, dataset=dataset,
                                  pipeline_name=pipeline_name, progress=RichCollector())
        summary = run_load(pipeline, selected, full_refresh=full_refresh,
                           **{k: v for k, v in window.items() if v is not None})
        create_views(pipeline)
    except Exception as exc:  # noqa: BLE001 - one line for any failure, never a traceback with config in it
        known = antbot_error(exc)
        err_console.print(f"antbot load failed: {redact(one_line(known or exc))}",
                          markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(known.exit_code if known else 1) from None
    Console().print(summary_table(summary))
