"""The push ledger and requests when every number is held by another phonebook (issue 26).

For each N, N fresh numbers are pushed into one phonebook of a sandbox account, then the same table
into a second phonebook: `bulkcontact/` stops at the first number of every call it gets. Reported
for that second push: ledger rows (and per number), write requests, seconds, and the CPU seconds of
the pushing process (the sandbox, a child process, works apart: its share grows with its tables).

    .venv/bin/python benchmarks/bench_push_ledger.py [--sizes 300,1000,20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from rich.console import Console
from support import connect, held_elsewhere, ledger_rows

from antbot_source.push import run_push
from antbot_source.sandbox import run_sandbox


def measure(n: int) -> tuple[int, int, int, float, float]:
    """(created, ledger rows, write requests, seconds, CPU seconds of this process) of pushing n numbers
    all held elsewhere."""
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(seed=7, cdrs=200) as sb:
        db = str(Path(tmp) / "push.duckdb")
        client = connect(sb)
        opts = held_elsewhere(client, n, db)
        started, cpu = time.perf_counter(), time.process_time()
        result = run_push(client, opts, Console(quiet=True))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        client.close()
        return result.counts["created"], ledger_rows(result.run_id, db), result.counts["requests"], seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,1000,20000", help="numbers per push, comma-separated")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print(f"{'numbers':>8} {'created':>8} {'ledger rows':>12} {'rows/number':>12} {'write requests':>15} "
          f"{'seconds':>8} {'push CPU s':>11}")
    for n in sizes:
        created, rows, requests, seconds, cpu = measure(n)
        print(f"{n:>8,} {created:>8,} {rows:>12,} {rows / n:>12.2f} {requests:>15,} {seconds:>8.1f} {cpu:>11.1f}",
              flush=True)


if __name__ == "__main__":
    main()
