"""Helpers for the source tests: load a sandbox account, read back what the destination holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import orjson

from antbot_source import TABLE_NAMES
from antbot_source.pipeline import LoadSummary, build_pipeline, run_load
from antbot_source.settings import DEFAULT_DUCKDB


def load_account(sb: Any, duckdb_path: Path | str | None = None, *, account: int = 0,
                 pipeline: dlt.Pipeline | None = None, **source_args: Any) -> tuple[dlt.Pipeline, LoadSummary]:
    """Load every table of a sandbox account (credentials passed as arguments) and return the pipeline."""
    acc = sb.accounts[account]
    pipeline = pipeline or build_pipeline(duckdb_path=duckdb_path or DEFAULT_DUCKDB)
    summary = run_load(pipeline, base_url=sb.base_url, username=acc.username, password=acc.password,
                       **source_args)
    return pipeline, summary


def destination_keys(pipeline: dlt.Pipeline, tables: tuple[str, ...] = TABLE_NAMES) -> dict[str, dict[str, Any]]:
    """{table: {"count": rows, "ids": set of ids}} as the destination holds them."""
    out = {}
    with pipeline.sql_client() as client:
        for table in tables:
            rows = client.execute_sql(f"SELECT id FROM {client.make_qualified_table_name(table)}")
            out[table] = {"count": len(rows), "ids": {r[0] for r in rows}}
    return out


def assert_equals_truth(pipeline: dlt.Pipeline, truth: dict[str, dict[str, Any]]) -> None:
    """Every table of `truth` has exactly its count and key set at the destination, and no duplicates."""
    held = destination_keys(pipeline, tuple(truth))
    for table, expected in truth.items():
        got = held[table]
        assert got["count"] == len(got["ids"]), f"{table}: duplicate ids at the destination"
        assert got["ids"] == set(expected["ids"]), (
            f"{table}: missing {sorted(set(expected['ids']) - got['ids'])[:10]}, "
            f"extra {sorted(got['ids'] - set(expected['ids']))[:10]}"
        )
        assert got["count"] == expected["count"], table


def _comparable(value: Any) -> Any:
    """JSON as Python objects: DuckDB returns JSON columns as text, psycopg2 as parsed objects."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def snapshot(pipeline: dlt.Pipeline, tables: tuple[str, ...] = TABLE_NAMES) -> dict[str, list[tuple]]:
    """Every data column (not dlt's bookkeeping ones) of every row, ordered by id, per table."""
    out = {}
    with pipeline.sql_client() as client:
        for table in tables:
            name = client.make_qualified_table_name(table)
            with client.execute_query(f"SELECT * FROM {name} ORDER BY id") as cur:
                cols = [d[0] for d in cur.description]
                keep = [i for i, c in enumerate(cols) if not c.startswith("_dlt")]
                out[table] = [tuple(_comparable(row[i]) for i in keep) for row in cur.fetchall()]
    return out
