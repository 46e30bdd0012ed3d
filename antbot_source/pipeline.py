"""The library entry point of a load: build the pipeline, guard it, run it to the end of the CDR backlog.

`load()` is what the `antbot load` command, the demo, the notebook and orchestrators call: one run
at a time per pipeline and per destination (`antbot_source.destination.locks`), a connection check of the API before
anything else, a pending package of an interrupted run finished first, tables loaded the old way
rebuilt, CDR ids that an earlier version doubled repaired, then runs until the CDR backlog is read,
the analytics views, and the data dictionary as comments. `build_pipeline` and `run_load` are its
parts, for callers that hold the guards themselves (tests, benchmarks).
"""

from __future__ import annotations

import inspect
import logging
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import get_dlt_pipelines_dir
from dlt.common.runtime.collector import Collector
from dlt.common.typing import TLoaderFileFormat
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.extract.source import DltSource

from antbot_source.analytics.views import create_views, drop_views
from antbot_source.api.client import check_connection
from antbot_source.api.config import client_config
from antbot_source.destination.comments import comment_dataset
from antbot_source.destination.locks import Notify, exclusive, open_duckdb, postgres_advisory_lock
from antbot_source.destination.publish import check_publish_path, publish_copy
from antbot_source.errors import ConfigError
from antbot_source.health.record import health_recorder
from antbot_source.resources.cdr.resource import cdr_backlog_pending
from antbot_source.resources.source import antbot
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB, DEFAULT_PIPELINE, TABLE_NAMES, endpoint

log = logging.getLogger(__name__)

DELETE_COMPLETED_JOBS = "load.delete_completed_jobs"
# a safety stop for the catch-up loop: each run reads up to `cdr_run_rows` CDRs
MAX_RUNS = 10_000
# How long a load waits for another run or a reader to let go of the pipeline or the DuckDB file:
# long enough for an analyst's query or the tail of the previous scheduled run, short enough that a
# run on a 15-minute schedule never queues behind a backfill of hours (it exits 9; the next one goes).
DEFAULT_WAIT_S = 60.0
# the endpoint the connection check before a load reads one row of
CHECK_PATH = endpoint("campaigns").path
# a pipeline's name names its working dir and lock file: a plain name, never a path out of the pipelines dir
PIPELINE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# the settings of the AntBot client among a source's arguments
CLIENT_SETTINGS = ("base_url", "username", "password", "access_token", "token_path", "page_size", "timeout",
                   "max_attempts", "max_requests_per_second")


@dataclass
class LoadSummary:
    """What a load did: rows written per table (over every run), the runs and the load ids."""

    rows: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    load_ids: list[str] = field(default_factory=list)
    # dlt's LoadInfo of each run (`pipeline.last_trace` describes the run that wrote load_health after it)
    load_infos: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    # packages an interrupted run left behind, finished first by this load, and their rows per table
    resumed_packages: int = 0
    resumed_rows: dict[str, int] = field(default_factory=dict)
    # CDR rows held twice at the destination (written by an earlier version) and deleted by this load
    repaired_rows: int = 0
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
            run.update({t: n for t, n in normalize.row_counts.items() if not t.startswith("_dlt")})
        self.rows = dict(Counter(self.rows) + run)
        load = trace.last_load_info if trace else None
        if load is not None:
            self.load_ids.extend(load.loads_ids)
            self.load_infos.append(load)
        self.runs += 1
        return dict(run)


# DuckDB takes most of the machine's memory by default; a load stays well within this and spills beyond it.
# Rows loaded in any order: DuckDB then inserts a parquet file on every thread (1M CDRs: 2.1 s, not 4.3 s);
# no table of ours relies on insertion order, every view and query orders explicitly.
DUCKDB_LOAD_SETTINGS = {"memory_limit": "128MB", "preserve_insertion_order": False}


def configured_destination(destination: str | None = None) -> str:
    """`destination`, else dlt's own `destination_type` setting (DESTINATION_TYPE, or `destination_type`
    in .dlt/config.toml), else duckdb."""
    return destination or dlt.config.get("destination_type") or "duckdb"


def duckdb_file(duckdb_path: str | Path | None = None, credentials: Any = None) -> Path:
    """The DuckDB file of a load: `credentials`, else `duckdb_path`, else dlt's own setting
    (DESTINATION__DUCKDB__CREDENTIALS, or `[destination.duckdb] credentials`: a path or duckdb:///path),
    else antbot_data.duckdb in the working dir."""
    value = credentials or duckdb_path or _configured_dsn("duckdb") or DEFAULT_DUCKDB
    return Path(DuckDbCredentials(str(value)).database)


def pipeline_name_for(destination: str | None = None, duckdb_path: str | Path | None = None,
                      credentials: Any = None) -> str:
    """The default pipeline name: on DuckDB the file's stem (`antbot_data`), which is where dlt's own
    tools look for a pipeline's DuckDB file (`dlt.attach("antbot_data").dataset()` in that directory,
    `dlt pipeline antbot_data info`), and one pipeline's state per file; elsewhere `antbot`."""
    if configured_destination(destination) == "duckdb" and not isinstance(credentials, DuckDbCredentials):
        return duckdb_file(duckdb_path, credentials).stem
    return DEFAULT_PIPELINE


def build_pipeline(
    *,
    destination: str | None = None,
    duckdb_path: str | Path | None = None,
    dataset: str = DEFAULT_DATASET,
    pipeline_name: str | None = None,
    credentials: Any = None,
    progress: Collector | str | None = None,
    pipelines_dir: str | Path | None = None,
) -> dlt.Pipeline:
    """The dlt pipeline of a load (its working dir lives under `pipelines_dir`, else DLT_DATA_DIR as dlt
    decides); `destination` and the DuckDB file as `configured_destination` and `duckdb_file` pick them."""
    pipeline_name = pipeline_name or pipeline_name_for(destination, duckdb_path, credentials)
    destination = configured_destination(destination)
    if destination == "duckdb":
        if isinstance(credentials, DuckDbCredentials):  # a connection `load()` opened, waiting for readers
            target: Any = dlt.destinations.duckdb(credentials=credentials)
        else:
            path = duckdb_file(duckdb_path, credentials)
            check_dataset_name(path, dataset)
            target = dlt.destinations.duckdb(
                credentials=DuckDbCredentials(str(path), global_config=DUCKDB_LOAD_SETTINGS))
    elif (dsn := credentials if credentials is not None else _configured_dsn(destination)) is not None:
        target = dlt.destination(destination, credentials=_with_empty_password(dsn))
    else:
        target = destination
    kwargs: dict[str, Any] = {"progress": progress} if progress is not None else {}
    if pipelines_dir is not None:
        kwargs["pipelines_dir"] = str(pipelines_dir)
    return dlt.pipeline(pipeline_name=pipeline_name, destination=target, dataset_name=dataset, **kwargs)


def checked_pipelines_dir(pipelines_dir: str | Path | None, pipeline_name: str) -> Path:
    """The directory a pipeline's working dir and lock file go in (`pipelines_dir`, else DLT_DATA_DIR's),
    created and writable, and a `pipeline_name` that stays inside it; else a ConfigError."""
    if not PIPELINE_NAME.fullmatch(pipeline_name):
        raise ConfigError(f"pipeline name (--pipeline-name): letters, digits, '_', '-' and '.', not {pipeline_name!r}")
    base = Path(pipelines_dir or get_dlt_pipelines_dir())
    try:
        base.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=base).close()
    except OSError as exc:
        raise ConfigError(f"cannot write the pipelines directory {base} (DLT_DATA_DIR): {exc.strerror}") from None
    return base


def check_dataset_name(duckdb_path: Path, dataset: str) -> None:
    """DuckDB names a file's catalog after its stem: a catalog and a dataset of one name are refused."""
    if duckdb_path.stem == dataset:
        raise ConfigError(
            f"the DuckDB file {duckdb_path.name} and the dataset {dataset!r} share a name, which makes "
            "DuckDB reject every reference to the dataset: rename one of them"
        )


def _configured_dsn(destination: str) -> str | None:
    """The destination's credentials in dlt's settings (DESTINATION__POSTGRES__CREDENTIALS, ...) when
    they are one string (a DSN, a DuckDB path), else None: dlt resolves the other forms itself."""
    value = dlt.secrets.get(f"destination.{destination}.credentials")
    return value if isinstance(value, str) else None


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
    A table whose endpoint row names another in `after` (subscribers: the calls the CDRs name) is
    loaded in a last run, when both are selected.
    """
    if pipeline.has_pending_data:
        yield pipeline.run()  # finishes the package a killed run left; extracts nothing new
    file_format = loader_file_format(pipeline)
    refresh = "drop_resources" if full_refresh else None
    selected = resources
    if rebuild:
        yield pipeline.run(make_source(rebuild), loader_file_format=file_format, refresh="drop_resources")
        selected = [name for name in resources or TABLE_NAMES if name not in rebuild]
        if not selected:
            return
    names = list(selected or TABLE_NAMES)
    # tables that read another's rows at the destination go last (their endpoint row's `after`)
    last = [name for name in names if (after := endpoint(name).after) is not None and after in names]
    selected = [name for name in names if name not in last] if last else selected
    for _ in range(max_runs):
        yield pipeline.run(make_source(selected), loader_file_format=file_format, refresh=refresh)
        refresh = None
        if "cdr" not in (selected or TABLE_NAMES) or not cdr_backlog_pending(pipeline):
            break
        selected = ["cdr"]
    if last:
        yield pipeline.run(make_source(last), loader_file_format=file_format,
                           refresh="drop_resources" if full_refresh else None)


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

    resuming = pipeline.has_pending_data
    if resuming:
        summary.resumed_packages = len(pipeline.list_extracted_load_packages()) + len(
            pipeline.list_normalized_load_packages())
    pending = pending_rows(pipeline) if resuming else None
    with health_recorder(pipeline) as health:
        for info in iter_runs(pipeline, make_source, resources, full_refresh=full_refresh, rebuild=rebuild):
            rows = summary.add_run(pipeline, pending)
            health.record(info, rows, resumed=resuming)
            if resuming:
                summary.resumed_rows, resuming, pending = rows, False, None
    if resources is None or "cdr" in resources:
        summary.repaired_rows = repair_doubled_rows(pipeline)
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


# one statement per SQL dialect that deletes all but one copy of each doubled key of a table
_DEDUPLICATE = {
    "duckdb": "DELETE FROM {t} WHERE rowid NOT IN (SELECT min(rowid) FROM {t} GROUP BY {k})",
    "postgres": "DELETE FROM {t} a USING {t} b WHERE a.{k} = b.{k} AND a.ctid > b.ctid",
}


def drop_staging(pipeline: dlt.Pipeline) -> None:
    """Drop dlt's staging dataset (`antbot_staging`) once the load is done: it holds the merge's copies
    of the last rows read, and beside the data it is one schema of 15 tables too many in a BI tool. The
    next merge creates it again (a schema and a table per merged table, a few ms each)."""
    with pipeline.sql_client() as client, client.with_staging_dataset():
        if client.has_dataset():
            client.drop_dataset()


def held_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per loaded table of the dataset (one query; {} before the first load)."""
    with pipeline.sql_client() as client:
        present = {row[0] for row in client.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", client.dataset_name) or []}
        tables = [t for t in TABLE_NAMES if t in present]
        if not tables:
            return {}
        counts = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {client.make_qualified_table_name(t)}" for t in tables)
        return {name: int(n) for name, n in client.execute_sql(counts)}


def repair_doubled_rows(pipeline: dlt.Pipeline, table: str = "cdr", key: str = "id") -> int:
    """Delete the second copies of rows an earlier version loaded twice (overlapping first loads
    appended the same CDRs); the copies are the same API rows, so any one may stay. Returns the
    rows deleted (0 when the table does not exist or the destination is not SQL we can repair)."""
    dialect = pipeline.destination.destination_name if pipeline.destination else None
    statement = _DEDUPLICATE.get(dialect or "")
    if statement is None:
        return 0
    with pipeline.sql_client() as client:
        name, column = client.make_qualified_table_name(table), client.escape_column_name(key)
        try:
            doubled = client.execute_sql(f"SELECT count(*) - count(DISTINCT {column}) FROM {name}")[0][0]
        except DatabaseUndefinedRelation:
            return 0
        if doubled:
            client.execute_sql(statement.format(t=name, k=column))
            log.warning("%s: deleted %d rows held twice at the destination", table, doubled)
    return int(doubled or 0)


@contextmanager
def exclusive_pipeline(
    *, wait_s: float = DEFAULT_WAIT_S, notify: Notify = log.warning, command: str = "antbot load",
    **pipeline_args: Any,
) -> Iterator[dlt.Pipeline]:
    """The pipeline of `build_pipeline(**pipeline_args)`, held for this process alone while the block runs.

    Taken in this order, each waiting at most `wait_s` for its holder: the pipeline's working dir
    (a file lock beside it), then the DuckDB file (a connection this process keeps open, so DuckDB's
    own lock keeps other writers out; readers are waited for) or, on PostgreSQL, an advisory lock on
    the dataset (runs from other machines). The pipeline is built after the locks, from the state
    the previous holder left.
    """
    bound = inspect.signature(build_pipeline).bind(**pipeline_args)
    bound.apply_defaults()
    args = bound.arguments
    args["pipeline_name"] = args["pipeline_name"] or pipeline_name_for(
        args["destination"], args["duckdb_path"], args["credentials"])
    name, dataset = args["pipeline_name"], args["dataset"]
    base = checked_pipelines_dir(args["pipelines_dir"], name)
    args["destination"] = configured_destination(args["destination"])
    with ExitStack() as stack:
        stack.enter_context(exclusive(base / f"{name}.lock", what=f"pipeline {name!r} ({base})",
                                      command=command, wait_s=wait_s, notify=notify))
        if args["destination"] == "duckdb":
            path = duckdb_file(args["duckdb_path"], args["credentials"])
            check_dataset_name(path, dataset)
            conn = open_duckdb(path, wait_s=wait_s, notify=notify)
            stack.callback(conn.close)
            args["credentials"] = DuckDbCredentials(conn, global_config=DUCKDB_LOAD_SETTINGS)
        pipeline = build_pipeline(**{**args, "pipelines_dir": base})
        if args["destination"] == "postgres":
            dsn = pipeline.destination_client().config.credentials.to_native_representation()  # type: ignore[attr-defined]
            stack.enter_context(postgres_advisory_lock(dsn, f"antbot-dlt:{dataset}", what=f"dataset {dataset!r}",
                                                       wait_s=wait_s, notify=notify))
        yield pipeline


@contextmanager
def dataset_pipeline(
    *,
    destination: str | None = None,
    duckdb_path: str | Path | None = None,
    dataset: str = DEFAULT_DATASET,
    read_only: bool = False,
    wait_s: float = DEFAULT_WAIT_S,
    notify: Notify = log.warning,
) -> Iterator[dlt.Pipeline]:
    """A pipeline over a loaded dataset, to query it or (re)create its views, with state of its own (a
    throwaway working dir: it never touches a load's). A DuckDB file must exist already, and a load
    holding it is waited for, at most `wait_s`."""
    with tempfile.TemporaryDirectory(prefix="antbot-dataset-") as state_dir, ExitStack() as stack:
        credentials = None
        destination = configured_destination(destination)
        if destination == "duckdb":
            path = duckdb_file(duckdb_path)
            check_dataset_name(path, dataset)
            conn = open_duckdb(path, wait_s=wait_s, notify=notify, read_only=read_only, must_exist=True)
            stack.callback(conn.close)
            credentials = DuckDbCredentials(conn)
        yield build_pipeline(destination=destination, dataset=dataset, pipeline_name="antbot_dataset",
                             credentials=credentials, pipelines_dir=state_dir)


def load(
    *,
    destination: str | None = None,
    duckdb_path: str | Path | None = None,
    dataset: str = DEFAULT_DATASET,
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
    connection check, an interrupted package finished, old-style tables rebuilt, the CDR backlog read to its end
    in bounded runs, parquet wherever the destination takes it, the analytics views, the data
    dictionary as comments on the tables and views (DuckDB, PostgreSQL).

    The destination, as dlt users configure it:
    - `destination`: a dlt destination name; default dlt's `destination_type` setting
      (DESTINATION_TYPE), else duckdb. Its credentials come from dlt's config
      (DESTINATION__POSTGRES__CREDENTIALS, `[destination.postgres] credentials`, ...) unless given
      as `credentials`.
    - `duckdb_path`: the DuckDB file; default DESTINATION__DUCKDB__CREDENTIALS, else
      antbot_data.duckdb in the working dir.
    - `dataset`: the dataset (schema) at the destination, `antbot` by default.
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
    # configuration errors before anything is locked, written or sent
    checked_pipelines_dir(pipelines_dir, pipeline_name or pipeline_name_for(destination, duckdb_path, credentials))
    build_source(selected, **source_args)
    publish = publish or dlt.config.get("sources.antbot.publish")
    if publish:
        if configured_destination(destination) != "duckdb":
            raise ConfigError("--publish makes a copy of a DuckDB destination: on a warehouse, give dashboards a "
                              "read-only role instead")
        publish = check_publish_path(publish, duckdb_file(duckdb_path, credentials), dataset)
    check_connection(client_config(**{k: v for k, v in source_args.items() if k in CLIENT_SETTINGS}), CHECK_PATH)
    with exclusive_pipeline(destination=destination, duckdb_path=duckdb_path, dataset=dataset,
                            pipeline_name=pipeline_name, credentials=credentials, progress=progress,
                            pipelines_dir=pipelines_dir, wait_s=wait_s, notify=notify) as pipeline:
        held_before = held_rows(pipeline)
        summary = run_load(pipeline, selected, full_refresh=full_refresh, **source_args)
        drop_staging(pipeline)
        held_after = held_rows(pipeline)
        summary.new_rows = {t: held_after.get(t, 0) - held_before.get(t, 0) for t in summary.rows if t in held_after}
        if not (views and create_views(pipeline)):  # creating the views comments the dataset too
            comment_dataset(pipeline)
        if publish:
            summary.published = publish_copy(pipeline, publish)
    return summary
