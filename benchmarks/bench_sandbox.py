"""Sandbox speed: seed time, a bare httpx walk over every CDR in pages of 1,000, and the server's peak memory.

    .venv/bin/python benchmarks/bench_sandbox.py --cdrs 1000000
"""

from __future__ import annotations

import statistics
import time
from typing import Annotated

import psutil
import typer
from bare_walk import walk
from peak_memory import peak_rss_mb
from rich.console import Console
from rich.table import Table

from antbot_source.sandbox import run_sandbox


def main(
    cdrs: Annotated[int, typer.Option(help="CDRs of the main account.")] = 1_000_000,
    page_size: Annotated[int, typer.Option(help="Rows per page of the walk.")] = 1_000,
    seed: Annotated[int, typer.Option()] = 7,
    walks: Annotated[int, typer.Option(help="Walks over every CDR; the median is reported.")] = 3,
) -> None:
    """Measure the sandbox: seed time, walk rate, peak memory."""
    started = time.perf_counter()
    with run_sandbox(seed=seed, cdrs=cdrs) as sb:
        seeded = time.perf_counter() - started
        acc = sb.accounts[0]
        server = psutil.Process(sb.pid)
        server_cpu0, client_cpu0 = sum(server.cpu_times()[:2]), time.process_time()
        seconds = []
        for _ in range(walks):
            t0 = time.perf_counter()
            rows = walk(sb.base_url, acc.username, acc.password, page_size)
            seconds.append(time.perf_counter() - t0)
        walked = statistics.median(seconds)
        server_cpu = sum(server.cpu_times()[:2]) - server_cpu0
        client_cpu = time.process_time() - client_cpu0
        peak = peak_rss_mb(sb.pid)
    pages = walks * rows / page_size
    table = Table(title=f"AntBot sandbox, {cdrs:,} CDRs, {psutil.cpu_count()} CPUs")
    for col in ("measure", "value", "target"):
        table.add_column(col)
    table.add_row("seed + start (s)", f"{seeded:.1f}", "< 60")
    table.add_row(f"walk, pages of {page_size:,}, median of {walks} (rows/s)", f"{rows / walked:,.0f}", ">= 100,000")
    table.add_row("slowest / fastest walk (rows/s)", f"{rows / max(seconds):,.0f} / {rows / min(seconds):,.0f}", "")
    table.add_row("rows walked", f"{rows:,}", f"{cdrs:,}")
    # CPU per page does not depend on what else the machine runs; the walk rate does
    table.add_row("server CPU per page (ms)", f"{server_cpu / pages * 1000:.2f}", "")
    table.add_row("client CPU per page (ms)", f"{client_cpu / pages * 1000:.2f}", "")
    table.add_row("load average (1 min)", f"{psutil.getloadavg()[0]:.1f}", "")
    table.add_row("server peak RSS (MB)", f"{peak:,.0f}", "< 1,536")
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)
