"""A pipeline held for one load (`exclusive_pipeline`), and a pipeline over a loaded dataset for the
commands that read it (`dataset_pipeline`): the locks of `locks.py` taken around `target.build_pipeline`."""

from __future__ import annotations

import inspect
import logging
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from antbot_source.destination.locks import Notify, exclusive, open_duckdb, postgres_advisory_lock
from antbot_source.destination.target import (
    DUCKDB_LOAD_SETTINGS,
    build_pipeline,
    check_dataset_name,
    checked_pipelines_dir,
    configured_dataset,
    configured_destination,
    duckdb_file,
    pipeline_name_for,
)

log = logging.getLogger(__name__)

# How long a load waits for another run or a reader to let go of the pipeline or the DuckDB file:
# long enough for an analyst's query or the tail of the previous scheduled run, short enough that a
# run on a 15-minute schedule never queues behind a backfill of hours (it exits 9; the next one goes).
DEFAULT_WAIT_S = 60.0


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
    args["dataset"] = configured_dataset(args["dataset"])
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
    dataset: str | None = None,
    read_only: bool = False,
    wait_s: float = DEFAULT_WAIT_S,
    notify: Notify = log.warning,
) -> Iterator[dlt.Pipeline]:
    """A pipeline over a loaded dataset, to query it or (re)create its views, with state of its own (a
    throwaway working dir: it never touches a load's). A DuckDB file must exist already, and a load
    holding it is waited for, at most `wait_s`."""
    dataset = configured_dataset(dataset)
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
