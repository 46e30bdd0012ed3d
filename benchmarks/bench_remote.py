"""Load speed against a far, throttled AntBot: a sequential httpx walk, dlt's generic `rest_api` source and
the `antbot load` command, each in its own process, against a sandbox that answers every request 100 ms
late, in pages of at most 100 rows, and lets each user through 250 requests per 5 s (DRF's UserRateThrottle).

    .venv/bin/python benchmarks/bench_remote.py                                # the throttled service
    .venv/bin/python benchmarks/bench_remote.py --latency-ms 30 --no-throttle   # what limits it without one

The throttle caps any client at throttle_requests / throttle_period_s requests a second, so at
250 / 5 * 100 = 5,000 rows/s: the limit every contender is compared with. Every request counts against
it, logins and counts included, so the requests each contender sent are counted at the server (the
sandbox's stats, reset before each contender), with the share answered 429. Between contenders the
server's clock skips a throttle window, so none starts in the window its predecessor used up.

1. CDRs (`--cdrs`): the walk, rest_api (only the first `--rest-api-rows`: it reads one page at a time)
   and `antbot load --resources cdr`.
2. The other tables of a larger account, in a second sandbox: `antbot load --resources
   contacts,subscribers,campaigns,phonebooks` and the walk of the same lists. The sandbox has no knob
   for contacts: an account gets clip(0.4 x its CDRs, 120, 400,000) of them (generate.py), so this
   account is seeded with `--contacts` / 0.4 CDRs, and the table shows the rows the world holds.

Time, memory and the child-process runner are bench_load.py's (wall time with start-up, peak PSS of the
process tree); CPU seconds are the contender's process tree (reaped children) and the server's; "max in
flight" the most requests the server held at once (one request at a time: at most page rows / latency).
Targets: antbot load of CDRs >= 0.8x the throttle's limit, >= 5x rest_api, <= 2% of its requests
answered 429; the other tables >= 0.7x.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import bench_load
import psutil
import typer
from bench_load import _report, measure, rest_api
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from antbot_source.sandbox import SandboxHandle

bench_load.__file__ = __file__  # measure() runs `python <its module's file> <child> ...`: the children are here
OTHER_TABLES = "contacts,subscribers,campaigns,phonebooks"
CONTACTS_PER_CDR = 0.4  # the sandbox's contacts per CDR of an account (generate.py, AccountGenerator.contacts)


def walk(base_url: str, username: str, password: str, paths: str, page_size: str) -> None:
    """Child: follow `next` over each list in turn (comma-separated paths), one request at a time, sleeping
    out the Retry-After of a 429 and asking again."""
    import httpx
    import orjson

    rows = 0
    with httpx.Client(base_url=base_url + "/", timeout=60) as client:
        token = client.post("get-token/", json={"username": username, "password": password}).json()["access"]
        client.headers["Authorization"] = f"Bearer {token}"
        for path in paths.split(","):
            url: str | None = f"{path}?page_size={page_size}"
            while url:
                response = client.get(url)
                if response.status_code == 429:
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                body = orjson.loads(response.raise_for_status().content)
                rows += len(body["results"])
                url = body["next"]
    _report(rows)


def antbot(workdir: str, resources: str) -> None:
    """Child: the `antbot load --resources <resources>` command, run in this process (configured by
    SOURCES__ANTBOT__*); its rows are those of the tables named, summed."""
    import duckdb

    from pipelines.cli import app

    db = f"{workdir}/bench_antbot.duckdb"
    app(["load", "--resources", resources, "--duckdb", db, "--pipeline-name", "bench_antbot"], standalone_mode=False)
    with duckdb.connect(db, read_only=True) as con:
        _report(sum(con.sql(f"SELECT count(*) FROM antbot.{t}").fetchall()[0][0] for t in resources.split(",")))


def contend(sb: SandboxHandle, period_s: float, args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """measure() one contender, plus what the server saw of it and the CPU seconds of both sides; first the
    server's clock skips a throttle window, so the requests of the contender before no longer count."""
    sb.skip_clock(period_s)
    sb.reset_stats()
    server = psutil.Process(sb.pid)
    server_cpu, own_cpu = sum(server.cpu_times()[:2]), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = measure(args, env)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = sb.stats()
    return {**result, "requests": sum(stats["requests"].values()), "throttled": stats["statuses"].get("429", 0),
            "max_in_flight": stats["max_in_flight"], "server_cpu": sum(server.cpu_times()[:2]) - server_cpu,
            "cpu": done.ru_utime + done.ru_stime - own_cpu.ru_utime - own_cpu.ru_stime}


def antbot_args(sb: SandboxHandle, workdir: str, resources: str) -> tuple[list[str], dict[str, str]]:
    """The antbot child's arguments and environment (a fresh pipeline and DuckDB file in its own folder)."""
    rundir = Path(workdir) / resources.replace(",", "+")
    rundir.mkdir(parents=True)
    acc = sb.accounts[0]
    return ["antbot", str(rundir), resources], {
        "SOURCES__ANTBOT__BASE_URL": sb.base_url, "SOURCES__ANTBOT__USERNAME": acc.username,
        "SOURCES__ANTBOT__PASSWORD": acc.password, "DLT_DATA_DIR": str(rundir / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def print_table(console: Console, title: str, limit: float | None, runs: dict[str, dict[str, float]]) -> None:
    """One row per contender; `x limit` is its rows/s over the throttle's (none without a throttle)."""
    table = Table(title=title)
    for col in ("contender", "rows", "seconds", "rows/s", "x limit", "requests", "req/s", "429 share",
                "max in flight", "CPU s it+server", "peak PSS MB"):
        table.add_column(col, justify="left" if col == "contender" else "right")
    for name, r in runs.items():
        rate = r["rows"] / r["seconds"]
        table.add_row(name, f"{r['rows']:,}", f"{r['seconds']:.1f}", f"{rate:,.0f}",
                      f"{rate / limit:.2f}x" if limit else "-", f"{r['requests']:,}",
                      f"{r['requests'] / r['seconds']:.1f}", f"{r['throttled'] / max(r['requests'], 1):.1%}",
                      f"{r['max_in_flight']}", f"{r['cpu']:.1f} + {r['server_cpu']:.1f}", f"{r['pss_mb']:,.0f}")
    console.print(table)


def main(
    cdrs: Annotated[int, typer.Option(help="CDRs of the account of part 1.")] = 60_000,
    contacts: Annotated[int, typer.Option(help="contacts of the account of part 2 (set by its CDRs)")] = 100_000,
    rest_api_rows: Annotated[int, typer.Option(help="rows the rest_api peer loads (it is slow)")] = 20_000,
    latency_ms: Annotated[int, typer.Option(help="added to every request, as a far server's round trip")] = 100,
    throttle: Annotated[bool, typer.Option(help="the per-user throttle (--no-throttle: none)")] = True,
    throttle_requests: Annotated[int, typer.Option(help="requests per window and user (0: no throttle)")] = 250,
    throttle_period_s: Annotated[float, typer.Option(help="the throttle's window")] = 5.0,
    page_rows: Annotated[int, typer.Option(help="rows per page at most (and by default)")] = 100,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Measure the contenders on CDRs, then on the other tables of a larger account; print rates and targets."""
    # here, so that the contenders' processes do not import them
    from antbot_source.sandbox import Habits, run_sandbox
    from antbot_source.settings import endpoint

    per_window = throttle_requests if throttle else 0
    habits = Habits(latency_ms=latency_ms, max_page_size=page_rows, default_page_size=page_rows,
                    throttle_requests=per_window or None, throttle_period_s=throttle_period_s)
    limit = per_window / throttle_period_s * page_rows if per_window else None
    other_paths = ",".join(endpoint(t).path for t in OTHER_TABLES.split(","))
    with tempfile.TemporaryDirectory() as workdir:
        with run_sandbox(seed=seed, cdrs=cdrs, habits=habits) as sb:
            login = [sb.base_url, sb.accounts[0].username, sb.accounts[0].password]
            held_cdrs = sb.truth()["cdr"]["count"]
            walk_cdrs = contend(sb, throttle_period_s, ["walk", *login, "cdr/", str(page_rows)])
            peer = contend(sb, throttle_period_s, ["rest-api", *login, workdir, str(rest_api_rows), str(page_rows)])
            ours = contend(sb, throttle_period_s, *antbot_args(sb, workdir, "cdr"))
        with run_sandbox(seed=seed, cdrs=round(contacts / CONTACTS_PER_CDR), habits=habits) as sb:
            login = [sb.base_url, sb.accounts[0].username, sb.accounts[0].password]
            truth = sb.truth()
            held_other = sum(truth[t]["count"] for t in OTHER_TABLES.split(","))
            walk_other = contend(sb, throttle_period_s, ["walk", *login, other_paths, str(page_rows)])
            others = contend(sb, throttle_period_s, *antbot_args(sb, workdir, OTHER_TABLES))

    console = Console()
    shape = (f"{latency_ms} ms latency, pages of {page_rows}, "
             + (f"throttle {per_window} requests / {throttle_period_s:g} s per user = {limit:,.0f} rows/s"
                if limit else "no throttle") + f", {psutil.cpu_count()} CPUs")
    print_table(console, f"cdr: {held_cdrs:,} CDRs; {shape}", limit, {
        "sequential httpx walk": walk_cdrs, "dlt rest_api -> duckdb": peer, "antbot load cdr": ours})
    print_table(console, f"{OTHER_TABLES}: {truth['contacts']['count']:,} contacts, {held_other:,} rows; {shape}",
                limit, {"sequential httpx walk": walk_other, "antbot load (the 4 tables)": others})
    console.print(f"one request at a time reads at most {page_rows} rows / {latency_ms} ms = "
                  f"{page_rows / latency_ms * 1000:,.0f} rows/s; CPU s against seconds x {psutil.cpu_count()} "
                  "cores says when the CPU is the bound instead")

    def rate(r: dict[str, float]) -> float:
        return r["rows"] / r["seconds"]

    share_429 = ours["throttled"] / max(ours["requests"], 1)
    targets = Table(title="targets")
    for col in ("target", "measured", "met?"):
        targets.add_column(col)
    for target, measured, goal in (
        ("antbot load cdr >= 0.8x the throttle's limit", rate(ours) / limit if limit else None, 0.8),
        ("antbot load cdr >= 5x rest_api", rate(ours) / rate(peer), 5.0),
        ("antbot load of the other tables >= 0.7x the throttle's limit", rate(others) / limit if limit else None, 0.7),
    ):
        targets.add_row(target, "-" if measured is None else f"{measured:.2f}x",
                        "n/a: no throttle" if measured is None else "yes" if measured >= goal else "[red]no[/red]")
    targets.add_row("antbot load cdr: 429s <= 2% of its requests", f"{share_429:.1%} of {ours['requests']:,}",
                    "yes" if share_429 <= 0.02 else "[red]no[/red]")
    console.print(targets)
    for name, r, held in (("walk of cdr", walk_cdrs, held_cdrs), ("antbot load cdr", ours, held_cdrs),
                          ("walk of the 4 tables", walk_other, held_other),
                          ("antbot load of the 4 tables", others, held_other)):
        if r["rows"] != held:
            console.print(f"[red]{name}: {r['rows']:,} rows read, the sandbox holds {held:,}[/red]")


CHILDREN = {"walk": walk, "rest-api": rest_api, "antbot": antbot}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in CHILDREN:
        CHILDREN[sys.argv[1]](*sys.argv[2:])
    else:
        typer.run(main)
