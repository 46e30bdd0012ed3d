"""Time of the analytics views, the KPI views beside the compliance views, over a sandbox account.

    .venv/bin/python benchmarks/bench_views.py --cdrs 1000000

Loads every table of the sandbox's account into a DuckDB file with the real loader, creates the
views, then reads each view in full (`SELECT COUNT(*)`), `--repeat` times (median reported), and
runs the queries of `antbot compliance`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

KPI_VIEWS = ("cdr_enriched", "cdr_kpis", "cdr_campaign_kpis", "cdr_campaign_daily", "cdr_hourly_profile",
             "cdr_hangup_causes", "campaign_progress")
COMPLIANCE_VIEWS = ("compliance_calls", "compliance_breaches", "dnc_ineffective", "compliance_daily")


def main(cdrs: Annotated[int, typer.Option(help="CDRs in the sandbox account.")] = 1_000_000,
         repeat: Annotated[int, typer.Option(help="Reads of each view.")] = 3) -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    with tempfile.TemporaryDirectory(prefix="bench-views-") as tmp:
        os.environ["DLT_DATA_DIR"] = str(Path(tmp) / "dlt")
        import duckdb

        from antbot_source.analytics.views import create_views
        from antbot_source.compliance.breaches import read_summary
        from antbot_source.destination.target import build_pipeline
        from antbot_source.pipeline import run_load
        from antbot_source.sandbox import run_sandbox

        path = Path(tmp) / "warehouse.duckdb"
        pipeline = build_pipeline(duckdb_path=path, dataset="antbot")
        with run_sandbox(seed=7, cdrs=cdrs) as sb:
            started = time.perf_counter()
            account = sb.accounts[0]
            run_load(pipeline, base_url=sb.base_url, username=account.username, password=account.password)
            load_s = time.perf_counter() - started
        started = time.perf_counter()
        create_views(pipeline)
        create_s = time.perf_counter() - started
        started = time.perf_counter()
        summary = read_summary(pipeline, None)
        command_s = time.perf_counter() - started
        table = Table(title=f"Views over {cdrs:,} CDRs (DuckDB, median of {repeat} full reads)")
        for heading in ("view", "rows", "seconds"):
            table.add_column(heading, justify="left" if heading == "view" else "right")
        totals = {}
        with duckdb.connect(str(path), read_only=True) as con:
            for group, views in (("KPI views", KPI_VIEWS), ("compliance views", COMPLIANCE_VIEWS)):
                totals[group] = 0.0
                for view in views:
                    times = []
                    for _ in range(repeat):
                        started = time.perf_counter()
                        (rows,) = con.sql(f"SELECT COUNT(*) FROM antbot.{view}").fetchall()[0]
                        times.append(time.perf_counter() - started)
                    seconds = statistics.median(times)
                    totals[group] += seconds
                    table.add_row(view, f"{rows:,}", f"{seconds:.2f}")
                table.add_row(f"[bold]{group}, together[/]", "", f"[bold]{totals[group]:.2f}[/]")
        console = Console()
        console.print(f"load of every table: {load_s:.1f} s; creating every view: {create_s:.2f} s; "
                      f"the queries of `antbot compliance`: {command_s:.2f} s "
                      f"({summary.total_breaches:,} breaches, {len(summary.ineffective):,} ineffective DNC entries)")
        console.print(table)


if __name__ == "__main__":
    typer.run(main)
