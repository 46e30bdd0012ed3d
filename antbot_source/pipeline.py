"""The library entry point of a load: build the pipeline, guard it, run it to the end of the CDR backlog.

`load()` is what the `antbot load` command, the demo, the notebook and orchestrators call: one run
at a time per pipeline and per destination (`destination.access`), a connection check of the API before
anything else, a pending package of an interrupted run finished first, then runs until the CDR backlog
is read, the analytics views, and the data dictionary as comments. `run_load` is its core, for callers
that hold the guards themselves (tests, benchmarks) on a pipeline of `destination.target.build_pipeline`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.runtime.collector import Collector
from dlt.common.typing import TLoaderFileFormat
from dlt.extract.source import DltSource

from antbot_source.analytics.views import create_views, drop_views
from antbot_source.api.client import AccountSession, check_connection
from antbot_source.config import antbot_settings
from antbot_source.destination.access import DEFAULT_WAIT_S, exclusive_pipeline
from antbot_source.destination.comments import comment_dataset
from antbot_source.destination.held import HeldRows
from antbot_source.destination.locks import Notify
from antbot_source.destination.publish import check_publish_path, publish_copy
from antbot_source.destination.target import (
    capabilities_resolved_once,
    checked_pipelines_dir,
    configured_dataset,
    configured_destination,
    duckdb_file,
    pipeline_name_for,
)
from antbot_source.errors import ConfigError
from antbot_source.health.record import TABLE as HEALTH_TABLE
from antbot_source.health.record import (
    health_resource,
    run_health,
    save_unwritten,
    unwritten_rows,
    write_health,
)
from antbot_source.health.tally import RunTally
from antbot_source.resources.cdr.resource import cdr_backlog_pending
from antbot_source.resources.source import antbot
from antbot_source.settings import TABLE_NAMES, endpoint

log = logging.getLogger(__name__)

DELETE_COMPLETED_JOBS = "load.delete_completed_jobs"
# a safety stop for the catch-up loop: each run reads up to `cdr_run_rows` CDRs
MAX_RUNS = 10_000
# the endpoint the connection check before a load reads one row of
CHECK_PATH = endpoint("campaigns").path


@dataclass
class LoadSummary:
    """What a load did: rows written per table (over every run), the runs and the load ids."""

    rows: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    load_ids: list[str] = field(default_factory=list)
    # dlt's LoadInfo of each run (`pipeline.last_trace` describes the run that wrote the last load_health rows)
    load_infos: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    # packages an interrupted run left behind, finished first by this load, and their rows per table
    resumed_packages: int = 0
    resumed_rows: dict[str, int] = field(default_factory=dict)
    # the read-only copy published after the load (`load(publish=...)`)
    published: Path | None = None
    # rows the destination holds after the load minus before, per table read (`load()` counts them)
    new_rows: dict[str, int] = field(default_factory=dict)

    def add_run(self, pipeline: dlt.Pipeline, normalized_before: dict[str, int] | None = None) -> dict[str, int]:
        """Count the rows of the run the pipeline just finished, and return them; `normalized_before`:
        rows of packages normalized before the run (dlt's trace of this run does not count them)."""
        trace = pipeline.last_trace
        normalize = trace.last_normalize_info if trace else None
        run: Counter[str] = Counter(normalized_before or {})
        if normalize is not None:
            run.update({t: n for t, n in normalize.row_counts.items() if not t.startswith("_dlt") and t != HEALTH_TABLE})
        self.rows = dict(Counter(self.rows) + run)
        load = trace.last_load_info if trace else None
        if load is not None:
            self.load_ids.extend(load.loads_ids)
            self.load_infos.append(load)
        self.runs += 1
        return dict(run)


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
    """The `antbot` source (configuration from SOURCES__ANTBOT__* / .dlt, overridden by `source_args`,
    which may name the `held` rows and the `tally` of the run too), restricted to `resources` when given."""
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


def iter_runs(
    pipeline: dlt.Pipeline,
    make_source: Callable[[Sequence[str] | None, RunTally], DltSource],
    resources: Sequence[str] | None = None,
    *,
    full_refresh: bool = False,
    max_runs: int = MAX_RUNS,
) -> Iterator[tuple[Any, RunTally]]:
    """Run the pipeline until the CDR backlog is caught up, yielding each run's LoadInfo and its tally
    (fresh for each run, given to `make_source` with the resources to load).

    A package left pending by a killed run is finished first. The next run loads every selected
    resource; while `cdr_backlog_pending` says the CDR read stopped with windows left, further runs
    load `cdr` only. Each run commits its windows, so a killed backfill resumes where it stopped.
    A table whose endpoint row names another in `after` (subscribers: the calls the CDRs name) is
    loaded in a last run, when both are selected.
    """
    if pipeline.has_pending_data:
        yield pipeline.run(), RunTally()  # finishes the package a killed run left; extracts nothing new
    file_format = loader_file_format(pipeline)
    refresh = "drop_resources" if full_refresh else None
    selected = resources
    names = list(selected or TABLE_NAMES)
    # tables that read another's rows at the destination go last (their endpoint row's `after`)
    last = [name for name in names if (after := endpoint(name).after) is not None and after in names]
    selected = [name for name in names if name not in last] if last else selected
    for _ in range(max_runs):
        tally = RunTally()
        yield pipeline.run(make_source(selected, tally), loader_file_format=file_format, refresh=refresh), tally
        refresh = None
        if "cdr" not in (selected or TABLE_NAMES) or not cdr_backlog_pending(pipeline):
            break
        selected = ["cdr"]
    if last:
        tally = RunTally()
        yield pipeline.run(make_source(last, tally), loader_file_format=file_format,
                           refresh="drop_resources" if full_refresh else None), tally


def run_load(
    pipeline: dlt.Pipeline,
    resources: Sequence[str] | None = None,
    *,
    full_refresh: bool = False,
    account: AccountSession | None = None,
    **source_args: Any,
) -> LoadSummary:
    """Load the selected resources (all by default) into `pipeline`; `source_args` go to `antbot()`, and
    every run reads with `account`, the load's session (default: a new one of the settings).

    Files of loaded packages are deleted once loaded (`[load] delete_completed_jobs`, unless configured
    otherwise): dlt keeps them by default, which is a copy of every row ever loaded.
    """
    started = time.perf_counter()
    summary = LoadSummary()
    if dlt.config.get(DELETE_COMPLETED_JOBS) is None:
        dlt.config[DELETE_COMPLETED_JOBS] = True
    if full_refresh:
        drop_views(pipeline)  # they depend on the tables the refresh drops

    held = HeldRows(pipeline)
    session = account or antbot_settings(**source_args).account()
    # load_health rows of finished runs (health/record.py): each run's package carries those of the run
    # before it, beginning with any a killed load left unwritten
    unwritten = unwritten_rows(pipeline)

    def make_source(selected: Sequence[str] | None, tally: RunTally) -> DltSource:
        source = build_source(selected, account=session, held=held, tally=tally, **source_args)
        if unwritten and not full_refresh:  # a refresh would drop the load_health table with the run's tables
            source.resources.add(health_resource(unwritten.copy()))
            unwritten.clear()
        return source

    resuming = pipeline.has_pending_data
    if resuming:
        summary.resumed_packages = len(pipeline.list_extracted_load_packages()) + len(
            pipeline.list_normalized_load_packages())
    pending = pending_rows(pipeline) if resuming else None
    with capabilities_resolved_once(pipeline):
        for info, tally in iter_runs(pipeline, make_source, resources, full_refresh=full_refresh):
            rows = summary.add_run(pipeline, pending)
            unwritten.extend(run_health(info, tally, rows, resumed=resuming))
            save_unwritten(pipeline, unwritten)
            if resuming:
                summary.resumed_rows, resuming, pending = rows, False, None
        write_health(pipeline, unwritten)
    save_unwritten(pipeline, [])
    summary.seconds = time.perf_counter() - started
    return summary


def pending_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per table of the packages an interrupted run left normalized but not (fully) loaded, read
    from their parquet files' footers (files of another format are not counted)."""
    import pyarrow.parquet as pq

    counts: Counter[str] = Counter()
    for load_id in pipeline.list_normalized_load_packages():
        for jobs in pipeline.get_load_package_info(load_id).jobs.values():
            for job in jobs:
                table = job.job_file_info.table_name
                if job.file_path.endswith(".parquet") and not table.startswith("_dlt"):
                    counts[table] += pq.read_metadata(job.file_path).num_rows
    return dict(counts)


def drop_staging(pipeline: dlt.Pipeline) -> None:
    """Drop dlt's staging dataset (`antbot_staging`) once the load is done: it holds the merge's copies
    of the last rows read, and beside the data it is one schema of 15 tables too many in a BI tool. The
    next merge creates it again (a schema and a table per merged table, a few ms each)."""
    with pipeline.sql_client() as client, client.with_staging_dataset():
        if client.has_dataset():
            client.drop_dataset()


def table_row_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per loaded table of the dataset (one query; {} before the first load)."""
    with pipeline.sql_client() as client:
        present = {row[0] for row in client.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", client.dataset_name) or []}
        tables = [t for t in TABLE_NAMES if t in present]
        if not tables:
            return {}
        counts = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {client.make_qualified_table_name(t)}" for t in tables)
        return {name: int(n) for name, n in client.execute_sql(counts)}


def load(
    *,
    destination: str | None = None,
    duckdb_path: str | Path | None = None,
    dataset: str | None = None,
    pipeline_name: str | None = None,
    credentials: Any = None,
    pipelines_dir: str | Path | None = None,
    resources: str | Sequence[str] | None = None,
    full_refresh: bool = False,
    wait_s: float = DEFAULT_WAIT_S,
    progress: Collector | str | None = None,
    notify: Notify = log.warning,
    views: bool = True,
    publish: str | Path | None = None,
    **source_args: Any,
) -> LoadSummary:
    """Everything `antbot load` does, for a scheduler, a notebook or a script: one run at a time, the
    connection check, an interrupted package finished, the CDR backlog read to its end
    in bounded runs, parquet wherever the destination takes it, the analytics views, the data
    dictionary as comments on the tables and views (DuckDB, PostgreSQL).

    The destination, as dlt users configure it:
    - `destination`: a dlt destination name; default dlt's `destination_type` setting
      (DESTINATION_TYPE), else duckdb. Its credentials come from dlt's config
      (DESTINATION__POSTGRES__CREDENTIALS, `[destination.postgres] credentials`, ...) unless given
      as `credentials`.
    - `duckdb_path`: the DuckDB file; default DESTINATION__DUCKDB__CREDENTIALS, else
      antbot_data.duckdb in the working dir.
    - `dataset`: the dataset (schema) at the destination; default dlt's `dataset_name` setting
      (DATASET_NAME), else `antbot`.
    - `pipeline_name`, `pipelines_dir`: dlt's pipeline (default: the DuckDB file's stem, `antbot_data`,
      where dlt's tools look for it; `antbot` on other destinations) and where its working dir lives
      (default DLT_DATA_DIR as dlt decides). Its state is also kept at the destination, and taken back from
      there when the working dir is gone.

    What is loaded, and how:
    - `resources`: table names, a list or `a,b` (default all). `full_refresh`: drop the loaded
      tables and their state first. `views`: create the analytics views after the load.
    - `source_args`: arguments of `antbot()` (`since`, `until`, `start_date`, ...); the AntBot
      settings not given come from SOURCES__ANTBOT__* or `[sources.antbot]`.
    - `publish`: after the load, a copy of the DuckDB file at this path for dashboards, replaced in one
      rename (default SOURCES__ANTBOT__PUBLISH; none). `destination/publish.py` says why.
    - `wait_s`: how long to wait for another run or a DuckDB reader to let go (then BusyError,
      exit 9). `progress`: dlt's progress collector. `notify`: where one-line notices go (waiting,
      taking over a stale lock).

    Returns the LoadSummary (rows per table over every run, runs, load ids). Raises AntBotError
    subclasses (each with its exit code) and dlt's errors.
    """
    selected = parse_resources(resources)
    dataset = configured_dataset(dataset)
    # configuration errors before anything is locked, written or sent
    checked_pipelines_dir(pipelines_dir, pipeline_name or pipeline_name_for(destination, duckdb_path, credentials))
    build_source(selected, **source_args)
    settings = antbot_settings(**source_args)
    publish = publish or settings.publish
    if publish:
        if configured_destination(destination) != "duckdb":
            raise ConfigError("--publish makes a copy of a DuckDB destination: on a warehouse, give dashboards a "
                              "read-only role instead")
        publish = check_publish_path(publish, duckdb_file(duckdb_path, credentials), dataset)
    # one session of the account for the whole load: the connection check's token serves every run
    account = settings.account()
    check_connection(account, CHECK_PATH)
    with exclusive_pipeline(destination=destination, duckdb_path=duckdb_path, dataset=dataset,
                            pipeline_name=pipeline_name, credentials=credentials, progress=progress,
                            pipelines_dir=pipelines_dir, wait_s=wait_s, notify=notify) as pipeline:
        held_before = table_row_counts(pipeline)
        summary = run_load(pipeline, selected, full_refresh=full_refresh, account=account, **source_args)
        drop_staging(pipeline)
        held_after = table_row_counts(pipeline)
        summary.new_rows = {t: held_after.get(t, 0) - held_before.get(t, 0) for t in summary.rows if t in held_after}
        if not (views and create_views(pipeline)):  # creating the views comments the dataset too
            comment_dataset(pipeline)
        if publish:
            summary.published = publish_copy(pipeline, publish)
    return summary
