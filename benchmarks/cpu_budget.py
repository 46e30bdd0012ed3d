"""Where the CPU of a CDR load goes, and how fast `antbot load` could be on this machine at best.

    .venv/bin/python benchmarks/cpu_budget.py --cdrs 1000000

Against one sandbox, one at a time, it measures the work every load of the CDRs must do, in CPU
seconds: the server answering the pages (it shares the machine with the load), receiving them over
HTTP, turning the JSON into typed Arrow tables (`parse_page`, the fastest of the decoders tried),
inserting the rows into a DuckDB file, and starting Python with dlt (wall time of a child process).
The bare walk that `bench_load.py` compares with is measured the same way.

The floor adds the phases that cannot overlap in a dlt pipeline: start-up, then fetching and
decoding with every core busy, then DuckDB's insert with every core busy (a lower bound that lets
even those overlap is printed too). Whatever else a load does (dlt writing parquet, walker
processes starting, planning, state) comes on top; the last line says how much time the 0.6x
target leaves for it.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import duckdb
import psutil
import pyarrow as pa
import typer
from bare_walk import walk
from rich.console import Console
from rich.table import Table

from antbot_source.api.client import ClientConfig
from antbot_source.config import AntBotSettings
from antbot_source.destination.target import DUCKDB_LOAD_SETTINGS
from antbot_source.resources.cdr.typed_pages import parse_page
from antbot_source.sandbox import run_sandbox

ROOT = Path(__file__).resolve().parent.parent


def _server_cpu(server: psutil.Process) -> float:
    return sum(server.cpu_times()[:2])


def _fetch_and_decode(config: ClientConfig, page_size: int) -> tuple[float, float, list[pa.Table]]:
    """CPU seconds spent receiving and decoding every CDR page (following `next`), and the tables.

    The garbage collector is off meanwhile: a floor counts the decoder's own work only.
    """
    gc.disable()
    http = decode = 0.0
    tables = []
    with config.connect() as client:
        url: str | None = "cdr/"
        params: dict[str, str] | None = {"page_size": str(page_size)}
        while url:
            t0 = time.process_time()
            body = client.get_bytes(url, params=params)
            t1 = time.process_time()
            page = parse_page(body)
            decode += time.process_time() - t1
            http += t1 - t0
            tables.append(page.table)
            url, params = page.next, None
    gc.enable()
    return http, decode, tables


def _duckdb_insert(rows: pa.Table) -> tuple[float, float]:
    """(wall, CPU) seconds of inserting `rows` into a new DuckDB file with the load's settings."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(f"{tmp}/budget.duckdb", config=DUCKDB_LOAD_SETTINGS)
        con.register("arrow_rows", rows)
        con.execute("CREATE TABLE cdr AS SELECT * FROM arrow_rows LIMIT 0")
        wall, cpu = time.perf_counter(), time.process_time()  # process time counts DuckDB's threads
        con.execute("INSERT INTO cdr SELECT * FROM arrow_rows")
        con.close()
        return time.perf_counter() - wall, time.process_time() - cpu


def _start_up(imports: str) -> float:
    """Wall seconds of a new Python process importing `imports` (a module list)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {imports}"], cwd=ROOT, check=True,
                   env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"})
    return time.perf_counter() - started


def main(
    cdrs: Annotated[int, typer.Option(help="CDRs of the main account.")] = 1_000_000,
    page_size: Annotated[int, typer.Option(help="Rows per page.")] = 1_000,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Measure the unavoidable work of a CDR load and print the floor of its wall time."""
    cores = psutil.cpu_count()
    with run_sandbox(seed=seed, cdrs=cdrs) as sb:
        acc = sb.accounts[0]
        server = psutil.Process(sb.pid)
        cpu0, client0, wall0 = _server_cpu(server), time.process_time(), time.perf_counter()
        rows = walk(sb.base_url, acc.username, acc.password, page_size)
        bare_wall, bare_client = time.perf_counter() - wall0, time.process_time() - client0
        bare_server = _server_cpu(server) - cpu0
        cpu0 = _server_cpu(server)
        http, decode, tables = _fetch_and_decode(AntBotSettings(
            base_url=sb.base_url, username=acc.username, password=acc.password, page_size=page_size).client(), page_size)
        serve = _server_cpu(server) - cpu0
    table = pa.concat_tables(tables)
    del tables
    insert_wall, insert_cpu = _duckdb_insert(table)
    start_up = _start_up("antbot_source.pipeline")
    bare_wall += _start_up("httpx, orjson")  # the bare walk of bench_load.py starts a process too

    floor = start_up + (serve + http + decode) / cores + insert_cpu / cores
    out = Table(title=f"CPU budget of loading {table.num_rows:,} CDRs ({rows:,} walked bare), {cores} CPUs")
    out.add_column("work")
    out.add_column("CPU s", justify="right")
    out.add_column("wall s", justify="right")
    out.add_row("bare walk: client (httpx + orjson), wall with start-up", f"{bare_client:.2f}", f"{bare_wall:.2f}")
    out.add_row("bare walk: server", f"{bare_server:.2f}", "")
    out.add_row("load: server answering the pages", f"{serve:.2f}", "")
    out.add_row("load: HTTP receive (AntBotClient)", f"{http:.2f}", "")
    out.add_row("load: JSON -> typed Arrow (parse_page)", f"{decode:.2f}", "")
    out.add_row("load: DuckDB insert (Arrow in memory -> file)", f"{insert_cpu:.2f}", f"{insert_wall:.2f}")
    out.add_row("load: Python start-up + imports", "", f"{start_up:.2f}")
    console = Console()
    console.print(out)
    console.print(f"floor of a load: {start_up:.2f} + ({serve:.2f} + {http:.2f} + {decode:.2f}) / {cores} "
                  f"+ {insert_cpu:.2f} / {cores} = {floor:.2f} s; best ratio to the bare walk "
                  f"{bare_wall / floor:.2f}x")
    every_core = (start_up + serve + http + decode + insert_cpu) / cores
    console.print(f"even with every phase overlapped (all of it spread over the cores): {every_core:.2f} s, "
                  f"{bare_wall / every_core:.2f}x")
    budget = bare_wall / 0.6
    console.print(f"0.6x of the bare walk allows {budget:.2f} s: {budget - floor:.2f} s for everything else")


if __name__ == "__main__":
    typer.run(main)
