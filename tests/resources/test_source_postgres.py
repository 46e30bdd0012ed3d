"""The same load into PostgreSQL gives the same tables as into DuckDB."""

from __future__ import annotations

import pytest
from support import assert_equals_truth, load_account, snapshot

from antbot_source.destination.target import build_pipeline
from antbot_source.pipeline import loader_file_format


@pytest.mark.postgres
def test_postgres_load_equals_duckdb_load(sandbox, postgres_schema):
    dsn, schema = postgres_schema
    on_duckdb, _ = load_account(sandbox)
    on_postgres, summary = load_account(
        sandbox, pipeline=build_pipeline(destination="postgres", credentials=dsn, dataset=schema,
                                         pipeline_name="antbot_pg"),
    )
    truth = sandbox.truth("demo")
    assert loader_file_format(on_postgres) == "parquet", "Arrow tables go to PostgreSQL as parquet, by ADBC"
    jobs = [job for info in summary.load_infos for package in info.load_packages
            for job in package.jobs["completed_jobs"]]
    formats = {job.job_file_info.file_format for job in jobs if job.job_file_info.table_name == "contacts"}
    assert "parquet" in formats and not formats & {"csv", "insert_values"}, formats  # (the merge is a sql job)
    assert_equals_truth(on_postgres, truth)
    assert_equals_truth(on_duckdb, truth)
    assert snapshot(on_postgres) == snapshot(on_duckdb)
