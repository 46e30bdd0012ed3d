"""Load speed of `cdr`: a bare httpx walk (the limit), dlt's generic `rest_api` source (the peer) and
the `antbot load --resources cdr` command, each in its own process, against one sandbox.

    .venv/bin/python benchmarks/bench_load.py --cdrs 1000000

Each contender runs in a child process; its time is the child's wall time (start-up and imports
included), its memory the peak resident size of the child's process tree (polled, and the child's
own high-water mark), as PSS (shared pages counted once) and as RSS summed per process (shared
library pages counted in every process), and the main process's own peak RSS. The bare walk and
`antbot load` run in pairs (`--pairs`, default 3); the median of the pairs' ratios is reported.
Targets: antbot >= 0.6x the bare walk, >= 20x rest_api, <= 400 MB.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import psutil
import typer
from peak_memory import peak_rss_mb
from rich.console import Console
from rich.table import Table


def _report(rows: int) -> None:
    """The child's result line: rows and its own peak RSS (VmHWM: getrusage would report the parent's
    peak, which a child inherits across fork and exec)."""
    print(json.dumps({"rows": rows, "self_peak_mb": peak_rss_mb(os.getpid())}), flush=True)


def bare(base_url: str, username: str, password: str, page_size: str = "1000") -> None:
    """Child: follow `next` over every CDR with httpx, bodies parsed with orjson."""
    from bare_walk import walk

    _report(walk(base_url, username, password, int(page_size)))


def rest_api(base_url: str, username: str, password: str, workdir: str, max_rows: str, page_size: str = "1000") -> None:
    """Child: dlt's generic rest_api source, `cdr/` into DuckDB, the first `max_rows` rows."""
    import dlt
    import httpx
    from dlt.sources.rest_api import rest_api_source

    token = httpx.post(f"{base_url}/get-token/", json={"username": username, "password": password}).json()["access"]
    source = rest_api_source({
        "client": {
            "base_url": base_url + "/",
            "auth": {"type": "bearer", "token": token},
            "paginator": {"type": "json_link", "next_url_path": "next"},
        },
        "resources": [{
            "name": "cdr",
            "primary_key": "id",
            "write_disposition": "merge",
            "endpoint": {"path": "cdr/", "params": {"page_size": int(page_size)}, "data_selector": "results"},
        }],
    }).add_limit(max(1, int(max_rows) // int(page_size)))
    pipeline = dlt.pipeline("bench_rest_api", destination=dlt.destinations.duckdb(f"{workdir}/rest_api.duckdb"),
                            dataset_name="bench", pipelines_dir=f"{workdir}/dlt")
    pipeline.run(source)
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql("SELECT count(*) FROM cdr")[0][0]
    _report(rows)


def antbot(workdir: str) -> None:
    """Child: the `antbot load --resources cdr` command, run in this process (configured by SOURCES__ANTBOT__*)."""
    import duckdb

    from pipelines.cli import app

    Path(workdir).mkdir(parents=True, exist_ok=True)
    db = f"{workdir}/bench_antbot.duckdb"
    app(["load", "--resources", "cdr", "--duckdb", db, "--pipeline-name", "bench_antbot"], standalone_mode=False)
    with duckdb.connect(db, read_only=True) as con:
        _report(con.sql("SELECT count(*) FROM antbot.cdr").fetchall()[0][0])


def _memory(procs: list[psutil.Process], pss: bool) -> tuple[int, int]:
    """(RSS, PSS) summed over processes: RSS counts shared library pages once per process, PSS shares
    them out, so its sum is what the tree really holds. PSS only when `pss` (it costs ~5 ms of CPU per
    process to read, which the contender would feel if read on every poll)."""
    rss = pss_sum = 0
    for p in procs:
        try:
            if pss:
                info = p.memory_full_info()
                pss_sum += getattr(info, "pss", info.rss)
            else:
                info = p.memory_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
    return rss, pss_sum


def measure(args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run `bench_load.py <args>` in a child process: rows, wall seconds, peak MB of its process tree
    (RSS polled every 20 ms; PSS, and the list of the child's own children, every 250 ms: listing
    children scans /proc, ~3 ms of CPU)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, **(env or {})})
    proc, peak_rss, peak_pss, polls = psutil.Process(child.pid), 0, 0, 0
    procs = [proc]
    while child.poll() is None:
        slow_poll = polls % 12 == 0
        try:
            if slow_poll:
                procs = [proc, *proc.children(recursive=True)]
            rss, pss = _memory(procs, pss=slow_poll)
        except psutil.NoSuchProcess:
            break
        peak_rss, peak_pss, polls = max(peak_rss, rss), max(peak_pss, pss), polls + 1
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    out = child.stdout.read()
    child.stdout.close()
    if child.returncode != 0:
        raise RuntimeError(f"{args[0]} failed with exit code {child.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    return {"rows": result["rows"], "seconds": seconds, "rss_mb": max(peak_rss / 2**20, result["self_peak_mb"]),
            "pss_mb": max(peak_pss / 2**20, result["self_peak_mb"]), "main_mb": result["self_peak_mb"]}


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run of median duration, with the highest peak memory of all runs."""
    median = dict(sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2])
    for key in ("pss_mb", "rss_mb", "main_mb"):
        median[key] = max(r[key] for r in runs)
    return median


def main(
    cdrs: Annotated[int, typer.Option(help="CDRs of the main account.")] = 1_000_000,
    rest_api_rows: Annotated[int, typer.Option(help="rows the rest_api peer loads (it is slow)")] = 50_000,
    pairs: Annotated[int, typer.Option(help="bare walk + antbot load pairs; the median ratio is reported")] = 3,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Measure the three contenders and print rows/s, ratios and peak memory.

    The bare walk and `antbot load` run in pairs, one right after the other, and each pair gives a
    ratio: the machine's speed drifts over minutes, and a pair sees the same machine.
    """
    from antbot_source.sandbox import run_sandbox  # here, so that the contenders' processes do not import it

    with run_sandbox(seed=seed, cdrs=cdrs) as sb, tempfile.TemporaryDirectory() as workdir:
        acc = sb.accounts[0]
        held = sb.truth(acc.username)["cdr"]["count"]
        login = [sb.base_url, acc.username, acc.password]
        walks, loads = [], []
        for n in range(pairs):
            walks.append(measure(["bare", *login]))
            rundir = Path(workdir) / f"antbot{n}"
            loads.append(measure(["antbot", str(rundir)], env={
                "SOURCES__ANTBOT__BASE_URL": sb.base_url, "SOURCES__ANTBOT__USERNAME": acc.username,
                "SOURCES__ANTBOT__PASSWORD": acc.password, "DLT_DATA_DIR": str(rundir / "dlt"),
                "RUNTIME__DLTHUB_TELEMETRY": "false",
            }))
        peer = measure(["rest-api", *login, workdir, str(rest_api_rows)])
    bare_result, ours = _median_run(walks), _median_run(loads)
    ratios = sorted((b["seconds"] / b["rows"]) / (a["seconds"] / a["rows"]) for b, a in zip(walks, loads, strict=True))
    table = Table(title=f"Loading cdr: {cdrs:,} CDRs, {psutil.cpu_count()} CPUs (wall time of each process; "
                        f"median of {pairs} runs, highest memory)")
    for col in ("contender", "rows", "seconds", "rows/s", "peak PSS MB", "peak RSS-sum MB", "main process MB"):
        table.add_column(col, justify="right" if col != "contender" else "left")
    for name, r in (("bare httpx walk", bare_result), ("dlt rest_api -> duckdb", peer), ("antbot load cdr", ours)):
        table.add_row(name, f"{r['rows']:,}", f"{r['seconds']:.2f}", f"{r['rows'] / r['seconds']:,.0f}",
                      f"{r['pss_mb']:,.0f}", f"{r['rss_mb']:,.0f}", f"{r['main_mb']:,.0f}")
    console = Console()
    console.print(table)
    console.print(f"antbot / bare walk: {statistics.median(ratios):.2f}x, median of the pairs "
                  f"({', '.join(f'{r:.2f}' for r in ratios)}) (target >= 0.6)")
    peer_ratio = (ours["rows"] / ours["seconds"]) / (peer["rows"] / peer["seconds"])
    console.print(f"antbot / rest_api:  {peer_ratio:.1f}x (target >= 20)")
    console.print(f"antbot peak memory: {ours['pss_mb']:.0f} MB PSS, {ours['rss_mb']:.0f} MB RSS summed "
                  f"over its processes, {ours['main_mb']:.0f} MB the main process alone (target <= 400)")
    for load in loads:
        if load["rows"] != held:
            console.print(f"[red]antbot loaded {load['rows']:,} rows, the sandbox holds {held:,}[/red]")


CHILDREN = {"bare": bare, "rest-api": rest_api, "antbot": antbot}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in CHILDREN:
        CHILDREN[sys.argv[1]](*sys.argv[2:])
    else:
        typer.run(main)
