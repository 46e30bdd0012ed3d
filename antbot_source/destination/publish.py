"""A published read-only copy of a DuckDB destination, for dashboards and BI tools.

DuckDB lets one process write a file or any number read it: a dashboard that keeps the load's file
open makes every scheduled load wait. After each successful load the whole database is copied (by
the load, which holds the file) into a new file beside the published one, which then replaces it in
one rename: a reader that holds the published file open keeps reading the copy it opened (its inode
stays until it closes), never sees a half-written file and never blocks a load; it sees the new rows
when it opens the file again.
"""

from __future__ import annotations

import os
from pathlib import Path

import dlt

from antbot_source.errors import ConfigError

PUBLISH_ALIAS = "antbot_publish"


def check_publish_path(path: Path | str, source: Path, dataset: str) -> Path:
    """The published file's path, checked before the load: a directory that exists, not the load's own file."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"--publish {path} is a directory")
    if not path.parent.is_dir():
        raise ConfigError(f"--publish {path}: directory {path.parent} does not exist")
    if path.suffix != ".duckdb":
        raise ConfigError(f"--publish {path}: a DuckDB file name ending in .duckdb")
    if path.resolve() == Path(source).resolve():
        raise ConfigError(f"--publish {path} is the file the load writes: publish to another file")
    if path.stem == dataset:
        raise ConfigError(f"--publish {path}: the file and the dataset {dataset!r} share a name, which makes DuckDB "
                          "reject every reference to the dataset: rename the file")
    return path


def publish_copy(pipeline: dlt.Pipeline, path: Path) -> Path:
    """Copy the DuckDB destination of `pipeline` (the load holds it) to `path`, replacing it atomically."""
    path = Path(path).resolve()
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        with pipeline.sql_client() as client:
            catalog = client.execute_sql("SELECT current_database()")[0][0]
            client.execute_sql(f"ATTACH '{_quoted(partial)}' AS {PUBLISH_ALIAS}")
            try:
                client.execute_sql(f'COPY FROM DATABASE "{catalog}" TO {PUBLISH_ALIAS}')
            finally:
                client.execute_sql(f"DETACH {PUBLISH_ALIAS}")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
