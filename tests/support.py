"""Helpers shared by the test files (fixtures live in conftest.py, `antbot` commands run by forked.py).

- sandbox configuration and HTTP: `use_sandbox`, `login`, `walk`;
- loads and what the destination holds: `load_account`, `destination_keys`, `destination_loads`,
  `assert_equals_truth`, `snapshot`;
- push inputs and targets: `DB`, `PUSH`, `connect`, `write_table`, `new_phonebook`, `new_dnc_list`, `fresh_numbers`,
  `held_elsewhere`, `ledger_rows`;
- CDR windows: `counter`, `Counted` (a server's count of stamps);
- schedulers: `orchestrator`, `worker_env`, `two_scheduled_runs`.
"""

from __future__ import annotations

import bisect
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
import httpx
import orjson
import pyarrow as pa
import pytest
from rich.console import Console

from antbot_source.api.client import AntBotClient, ClientConfig
from antbot_source.config import AntBotSettings
from antbot_source.destination.target import build_pipeline
from antbot_source.pipeline import LoadSummary, run_load
from antbot_source.push import PushOptions, run_push
from antbot_source.resources.cdr.windows import Window
from antbot_source.rows.schema import json_fields
from antbot_source.sandbox import SandboxHandle
from antbot_source.settings import DEFAULT_DUCKDB, TABLE_NAMES, endpoint

# --- the sandbox: configuration and plain HTTP ---

# the project's checkout: the README, the notebooks, the package for child processes
ROOT = Path(__file__).resolve().parent.parent


def use_sandbox(monkeypatch, sb: SandboxHandle, account: int = 0, password: str | None = None) -> None:
    """Point the `antbot` configuration (SOURCES__ANTBOT__*) at a sandbox account."""
    acc = sb.accounts[account]
    monkeypatch.setenv("SOURCES__ANTBOT__BASE_URL", sb.base_url)
    monkeypatch.setenv("SOURCES__ANTBOT__USERNAME", acc.username)
    monkeypatch.setenv("SOURCES__ANTBOT__PASSWORD", password if password is not None else acc.password)


@contextmanager
def login(sb: SandboxHandle, account: int = 0, timeout: float = 30) -> Iterator[httpx.Client]:
    """An httpx client with a bearer token of the account (its connection stays open for the next requests)."""
    acc = sb.accounts[account]
    with httpx.Client(base_url=sb.base_url + "/", timeout=timeout) as client:
        r = client.post("get-token/", json={"username": acc.username, "password": acc.password})
        r.raise_for_status()
        client.headers["Authorization"] = f"Bearer {r.json()['access']}"
        yield client


def walk(client: httpx.Client, path: str, **params) -> list[dict]:
    """Every row of a list, following `next`."""
    rows: list[dict] = []
    url: str | None = path
    first = True
    while url:
        r = client.get(url, params=params if first else None)
        r.raise_for_status()
        body = r.json()
        rows += body["results"]
        url, first = body["next"], False
    return rows


# --- loads, and what the destination holds ---


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


def destination_loads(pipeline: dlt.Pipeline) -> dict[str, int]:
    """{load id: status} of every load the destination recorded in dlt's `_dlt_loads` (0: completed)."""
    with pipeline.sql_client() as client:
        rows = client.execute_sql(f"SELECT load_id, status FROM {client.make_qualified_table_name('_dlt_loads')}")
    return {load_id: status for load_id, status in rows}


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


def _comparable(value: Any, is_json: bool) -> Any:
    """JSON as Python objects: DuckDB returns JSON columns as text, psycopg2 as parsed objects (a bare
    scalar too, as collected_data may hold)."""
    if is_json and isinstance(value, str):
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
                json_columns = set(json_fields(endpoint(table).type_key))
                out[table] = [tuple(_comparable(row[i], cols[i] in json_columns) for i in keep)
                              for row in cur.fetchall()]
    return out


# --- push: input tables and targets ---

DB = "push.duckdb"
# `antbot push` started as a process a test kills or reads while it runs (tests/forked.py runs the others)
PUSH = [sys.executable, "-c", "import sys; from pipelines.push_cmd import push_app; sys.argv[0] = 'antbot push'; push_app()"]


def client_config(sb: SandboxHandle, account: int = 0, **settings: Any) -> ClientConfig:
    """The client configuration of a sandbox account, with `settings` of AntBotSettings besides (or instead)."""
    acc = sb.accounts[account]
    given = {"base_url": sb.base_url, "username": acc.username, "password": acc.password, **settings}
    return AntBotSettings(**given).client()


def connect(sb: SandboxHandle) -> AntBotClient:
    """A connector client logged in as the sandbox's first account."""
    return client_config(sb).connect()


def write_table(name: str, rows: list[dict], path: str = DB, dataset: str = "antbot") -> None:
    """A table in the DuckDB file, as a warehouse would hold it."""
    data = pa.Table.from_pylist(rows)  # noqa: F841 - read by DuckDB by name
    with duckdb.connect(path) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {dataset}")
        conn.execute(f"CREATE OR REPLACE TABLE {dataset}.{name} AS SELECT * FROM data")


def new_phonebook(client: AntBotClient, name: str) -> int:
    return int(client.request("POST", "phonebook/", json={"name": name})["id"])


def new_dnc_list(client: AntBotClient, name: str) -> int:
    return int(client.request("POST", "dnc-list/", json={"name": name})["id"])


def fresh_numbers(n: int, start: int = 0) -> list[str]:
    """Valid Vietnamese mobile numbers the sandbox world does not use (prefix 0399)."""
    return [f"0399{start + i:06d}" for i in range(n)]


def held_elsewhere(client: AntBotClient, n: int, path: str = DB) -> PushOptions:
    """A table of n fresh numbers, already pushed into one phonebook, and the options pushing it into a
    second: every bulk call of that push stops at its first number (held by the first phonebook)."""
    write_table("held_elsewhere", [{"contact": number} for number in fresh_numbers(n)], path)
    opts = PushOptions("contacts", table="held_elsewhere", duckdb_path=path, number_format="national",
                       target=new_phonebook(client, "holds them"))
    assert run_push(client, opts, Console(quiet=True)).counts["created"] == n
    return dataclasses.replace(opts, target=new_phonebook(client, "wants them too"))


def ledger_rows(run_id: str, path: str = DB) -> int:
    """Records a push run wrote to push_ledger."""
    with duckdb.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM antbot_push.push_ledger WHERE run_id = ?", [run_id]).fetchone()[0]


# --- schedulers: the orchestrators in environments of their own, the settings a worker has ---

# `make test` sets it: there a missing orchestrator environment is a failure, not a skip (read when
# this module is imported, before conftest clears the ANTBOT_* settings of each test)
ORCHESTRATORS_REQUIRED = os.environ.get("ANTBOT_ORCHESTRATOR_TESTS") == "required"


def orchestrator(venv: str, command: str) -> Path:
    """`command` of the environment `venv` at the checkout's root (`make orchestrators` creates them)."""
    path = ROOT / venv / "bin" / command
    if not path.exists():
        reason = f"{path.relative_to(ROOT)} is missing: `make orchestrators` creates it"
        if ORCHESTRATORS_REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def worker_env(sb: SandboxHandle, tmp_path: Path, account: int = 0, **settings: str) -> dict[str, str]:
    """The environment of a scheduler's worker: the account as SOURCES__ANTBOT__*, the destination as
    dlt's settings (a DuckDB file in `tmp_path`), the pipeline's working dir in `tmp_path`, and none
    of this process's dlt or AntBot settings."""
    acc = sb.accounts[account]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOURCES__", "DESTINATION", "DLT_", "PYTHONPATH"))}
    env.update({
        "SOURCES__ANTBOT__BASE_URL": sb.base_url, "SOURCES__ANTBOT__USERNAME": acc.username,
        "SOURCES__ANTBOT__PASSWORD": acc.password, "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / WAREHOUSE),
        "DLT_DATA_DIR": str(tmp_path / "dlt"), "RUNTIME__DLTHUB_TELEMETRY": "false",
    })
    env.update(settings)
    return env


# the DuckDB file of scheduled loads in these tests (not antbot.duckdb: its catalog would be the dataset's name)
WAREHOUSE = "warehouse.duckdb"


def cdr_requests(sb: SandboxHandle) -> int:
    """CDR list requests the sandbox answered since its stats were last reset."""
    return sum(n for key, n in sb.stats()["requests"].items() if key.startswith("GET ") and "/cdr/" in key)


@dataclass
class ScheduledRun:
    """One run of a scheduler's recipe: rows loaded per table as the scheduler recorded them, and the
    CDR requests the sandbox answered."""

    rows: dict[str, int]
    cdr_requests: int


def two_scheduled_runs(sb: SandboxHandle, run: Callable[[int], dict[str, int]],
                       warehouse: Callable[[], AbstractContextManager[dlt.Pipeline]]) -> list[ScheduledRun]:
    """Start a recipe twice (`run(i)` runs it the i-th time and returns its recorded rows per table),
    with new CDRs and edited and deleted contacts at the API in between. After each run the destination
    (`warehouse()`) holds exactly the sandbox's truth; the first run loads every row once, the second
    reads every table again but only the CDRs of the look-back, with the new ones."""
    runs, counts = [], []
    for i in range(2):
        sb.reset_stats()
        runs.append(ScheduledRun(run(i), cdr_requests(sb)))
        truth = sb.truth("demo")
        with warehouse() as pipeline:
            assert_equals_truth(pipeline, truth)
        counts.append({t: truth[t]["count"] for t in TABLE_NAMES})
        if i == 0:
            new = sb.advance(new_cdrs=25, edited_contacts=3, deleted_contacts=2)["new_cdr_ids"]
    first, second = runs
    print(f"run 1: {first}\nrun 2: {second}")
    assert first.rows == counts[0], first
    assert set(second.rows) == set(TABLE_NAMES), second
    assert len(new) <= second.rows["cdr"] < counts[1]["cdr"] / 4, "the second run re-read the CDR history"
    assert second.cdr_requests < first.cdr_requests / 4, runs
    return runs


# --- CDR windows ---

def counter(stamps: list[datetime]) -> Callable[[Sequence[Window]], list[int]]:
    """A server count over sorted stamps, for a window's [start, end) (the margin is the server's business)."""
    stamps = sorted(stamps)

    def count(windows: Sequence[Window]) -> list[int]:
        return [one(w) for w in windows]

    def one(window: Window) -> int:
        lo = bisect.bisect_left(stamps, window.start)
        hi = len(stamps) if window.end is None else bisect.bisect_left(stamps, window.end)
        return hi - lo

    return count


class Counted:
    """A server's count of stamps, remembering every window it was asked about."""

    def __init__(self, stamps: list[datetime]):
        self.count = counter(stamps)
        self.asked: list[Window] = []

    def __call__(self, windows: Sequence[Window]) -> list[int]:
        self.asked += windows
        return self.count(windows)
