"""The options every command shares, declared once: where the data is (found as `antbot load` finds it:
the option, else dlt's settings, else the default) and how long to wait for a run holding it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB

DestinationOption = Annotated[str | None, typer.Option(
    "--destination", help="dlt destination name (duckdb, postgres, bigquery, ...) [default: DESTINATION_TYPE, else "
    "duckdb]", show_default=False)]
DuckdbOption = Annotated[Path | None, typer.Option(
    "--duckdb", help=f"DuckDB file [default: DESTINATION__DUCKDB__CREDENTIALS, else {DEFAULT_DUCKDB}]",
    show_default=False)]
DatasetOption = Annotated[str | None, typer.Option(
    "--dataset", help=f"dataset (schema) of the data [default: DATASET_NAME, else {DEFAULT_DATASET}]",
    show_default=False)]
WaitOption = Annotated[float, typer.Option(
    "--wait", min=0, help="seconds to wait for another run or a reader holding the pipeline or the DuckDB file "
    "(then exit 9)")]
