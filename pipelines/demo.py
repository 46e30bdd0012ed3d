"""`antbot demo`: start the sandbox, load everything into ./antbot_demo.duckdb, print what arrived."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import dlt
import typer
from rich.console import Console
from rich.table import Table

from antbot_source.analytics.kpi_table import campaign_kpis_table
from antbot_source.analytics.views import create_views
from antbot_source.config import AntBotSettings
from antbot_source.destination.locks import check_duckdb_file, open_duckdb
from antbot_source.destination.target import build_pipeline
from antbot_source.errors import ConfigError, require_extra
from antbot_source.pipeline import run_load
from antbot_source.push import demo_dry_run
from pipelines.failures import notice, reported
from pipelines.load import RichCollector, summary_table

DEMO_DUCKDB = "antbot_demo.duckdb"
DEMO_PIPELINE = "antbot_demo"


@dataclass(frozen=True)
class Headlines:
    """The demo's headline numbers: A-leg calls, answer rate over them, mean talk time of answered ones."""

    calls: int
    answer_rate: float
    avg_talk_s: float


def table_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per data table at the destination."""
    with pipeline.sql_client() as client:
        return {
            name: client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(name)}")[0][0]
            for name in sorted(pipeline.default_schema.data_table_names())
        }


def headlines(pipeline: dlt.Pipeline) -> Headlines:
    """The headline row of the `cdr_kpis` view: A-leg attempts, ASR, ACD (mean billsec when answered)."""
    with pipeline.sql_client() as client:
        calls, asr, acd = client.execute_sql(
            f"SELECT attempts, asr, acd_seconds FROM {client.make_qualified_table_name('cdr_kpis')}"
        )[0]
    return Headlines(int(calls), float(asr or 0.0), float(acd or 0.0))


def demo(
    cdrs: Annotated[int, typer.Option(help="CDRs in the sandbox world")] = 20_000,
    seed: Annotated[int, typer.Option(help="seed of the sandbox world")] = 7,
    duckdb: Annotated[Path, typer.Option("--duckdb", help="DuckDB file to write")] = Path(DEMO_DUCKDB),
) -> None:
    """Start the local AntBot sandbox, load every table into a DuckDB file and show the numbers.

    Example: antbot demo --cdrs 5000

    Exit codes: 0 done; 2 a bad option, or the sandbox extra is missing.
    """
    with reported("demo"):
        require_extra("sandbox", "starlette", "uvicorn", "numpy")
        from antbot_source.sandbox.world import check_world

        check_world(seed, cdrs)
        check_duckdb_file(duckdb, must_exist=False)
        try:
            duckdb.unlink(missing_ok=True)
        except OSError as exc:
            raise ConfigError(f"DuckDB file {duckdb}: {exc.strerror}") from None
        open_duckdb(duckdb, wait_s=0, notify=notice).close()  # a file the demo can write, before the sandbox starts
        _demo(cdrs, seed, duckdb)


def _demo(cdrs: int, seed: int, duckdb: Path) -> None:
    from antbot_source.sandbox import run_sandbox

    console = Console()
    # a fresh world each time: the pipeline's state lives only as long as the demo
    with run_sandbox(seed=seed, cdrs=cdrs) as sb, tempfile.TemporaryDirectory(prefix="antbot-demo-") as state_dir:
        console.print(f"sandbox at {sb.base_url} ({cdrs:,} CDRs); loading into {duckdb}")
        account = sb.accounts[0]
        pipeline = build_pipeline(duckdb_path=duckdb, pipeline_name=DEMO_PIPELINE,
                                  progress=RichCollector(), pipelines_dir=state_dir)
        summary = run_load(pipeline, base_url=sb.base_url, username=account.username, password=account.password)
        console.print(summary_table(summary))

        counts = Table(title=f"tables in {duckdb} (dataset {pipeline.dataset_name})")
        counts.add_column("table")
        counts.add_column("rows", justify="right")
        for name, n in table_counts(pipeline).items():
            counts.add_row(name, f"{n:,}")
        console.print(counts)
        create_views(pipeline)
        numbers = headlines(pipeline)
        console.print(f"calls (A-legs): {numbers.calls:,}   answer rate: {numbers.answer_rate:.1%}   "
                      f"average talk time: {numbers.avg_talk_s:.1f} s")
        console.print(campaign_kpis_table(pipeline))

        # the sandbox is still up: end with the plan of pushing a small DNC table (nothing is sent)
        console.rule("antbot push dnc --dry-run (a small table of opt-outs, created in the demo file)")
        settings = AntBotSettings(base_url=sb.base_url, username=account.username, password=account.password)
        with settings.account().connect() as client:
            demo_dry_run(client, duckdb, console=console)
    console.rule("next")
    for command, what in next_commands(duckdb):
        console.print(f"{command}\n    {what}", soft_wrap=True, highlight=False)


def next_commands(duckdb: Path) -> list[tuple[str, str]]:
    """What to try after the demo, on the file it wrote (each runs as printed: tests/commands/test_demo.py)."""
    return [
        (f"antbot report --duckdb {duckdb} --out report.html", "the HTML report of the demo data"),
        (f"antbot health --duckdb {duckdb}", "how the demo's load went, per table"),
        (f"antbot views --duckdb {duckdb}", "the analytics views again (the demo made them)"),
        ((f"python -c \"import duckdb; print(duckdb.connect('{duckdb}', read_only=True)"
          f".sql('SELECT * FROM antbot.cdr_campaign_kpis'))\""), "the KPIs per campaign, in SQL"),
    ]
