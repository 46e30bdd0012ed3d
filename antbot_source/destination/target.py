"""Where a load's data goes: the destination, the DuckDB file, the pipeline's name and working dir, as
every command resolves them (an option, else dlt's settings, else the default), and the dlt pipeline
built on them."""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import get_dlt_pipelines_dir
from dlt.common.runtime.collector import Collector
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from antbot_source.errors import ConfigError
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB, DEFAULT_PIPELINE

# a pipeline's name names its working dir and lock file: a plain name, never a path out of the pipelines dir
PIPELINE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

# DuckDB takes most of the machine's memory by default; a load stays well within this and spills beyond it.
# Rows loaded in any order: DuckDB then inserts a parquet file on every thread (1M CDRs: 2.1 s, not 4.3 s);
# no table of ours relies on insertion order, every view and query orders explicitly.
DUCKDB_LOAD_SETTINGS = {"memory_limit": "128MB", "preserve_insertion_order": False}


def configured_destination(destination: str | None = None) -> str:
    """`destination`, else dlt's own `destination_type` setting (DESTINATION_TYPE, or `destination_type`
    in .dlt/config.toml), else duckdb."""
    return destination or dlt.config.get("destination_type") or "duckdb"


def configured_dataset(dataset: str | None = None) -> str:
    """`dataset`, else dlt's own `dataset_name` setting (DATASET_NAME, or `dataset_name` in
    .dlt/config.toml), else antbot."""
    return dataset or dlt.config.get("dataset_name") or DEFAULT_DATASET


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
    dataset: str | None = None,
    pipeline_name: str | None = None,
    credentials: Any = None,
    progress: Collector | str | None = None,
    pipelines_dir: str | Path | None = None,
) -> dlt.Pipeline:
    """The dlt pipeline of a load (its working dir lives under `pipelines_dir`, else DLT_DATA_DIR as dlt
    decides); `destination`, the DuckDB file and the dataset as `configured_destination`, `duckdb_file` and
    `configured_dataset` pick them."""
    pipeline_name = pipeline_name or pipeline_name_for(destination, duckdb_path, credentials)
    destination = configured_destination(destination)
    dataset = configured_dataset(dataset)
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


@contextmanager
def capabilities_resolved_once(pipeline: dlt.Pipeline) -> Iterator[None]:
    """Within the block, the pipeline's destination resolves its configuration for its capabilities once
    per naming convention, not at each of the dozens of lookups dlt makes in a run (about 20 ms each, a
    fifth of the CPU of a run that finds nothing new). A load's configuration does not change while it
    runs; each caller gets a copy, as dlt's own lookups return a new one."""
    destination = pipeline.destination
    resolve = destination.capabilities
    resolved: dict[Any, Any] = {}

    def capabilities(config: Any = None, naming: Any = None) -> Any:
        if config is not None:
            return resolve(config, naming)
        key = (type(naming), getattr(naming, "max_length", None))
        if key not in resolved:
            resolved[key] = resolve(None, naming)
        return copy.deepcopy(resolved[key])

    destination.capabilities = capabilities  # type: ignore[method-assign]
    try:
        yield
    finally:
        del destination.capabilities


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
