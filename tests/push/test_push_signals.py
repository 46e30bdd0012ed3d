"""SIGINT and SIGTERM while `antbot push` is inside a warehouse statement: exit 130 / 143 in one line, and a
rerun leaves exactly the desired rows. Real processes, real signals, each sent at a moment the test sees."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from support import ROOT, connect, fresh_numbers, new_phonebook

from antbot_source.push import PushOptions, run_push
from antbot_source.push.validate import number_key

ANTBOT = [sys.executable, "-m", "pipelines.cli"]
INTERRUPTED = "antbot push interrupted: run again to resume"


def _env(sb) -> dict[str, str]:
    acc = sb.accounts[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update({"SOURCES__ANTBOT__BASE_URL": sb.base_url, "SOURCES__ANTBOT__USERNAME": acc.username,
                "SOURCES__ANTBOT__PASSWORD": acc.password, "PYTHONPATH": str(ROOT)})
    return env


def _start(sb, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*ANTBOT, "push", *args], env=_env(sb), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_inside_a_duckdb_statement_exits_130_or_143(sandbox, tmp_path: Path, signum):
    """DuckDB turns the exception a signal handler raises into its own `Query interrupted`: the exit code
    still says which signal stopped the run."""
    db = tmp_path / "push.duckdb"
    duckdb.connect(str(db)).close()
    rows = tmp_path / "rows.csv"
    os.mkfifo(rows)  # the input query reads it: opening it for writing returns once the query runs
    push = _start(sandbox, "contacts", "--query", f"SELECT * FROM read_csv('{rows}')", "--duckdb", str(db),
                  "--phonebook", "1", "--dry-run")
    feed = open(rows, "w")  # noqa: SIM115 - a FIFO: open() blocks until the push opens it
    push.send_signal(signum)
    # the push may have stopped reading already: the write, or the flush at close, finds no reader
    with contextlib.suppress(BrokenPipeError):
        feed.write("contact\n0399000001\n")
    with contextlib.suppress(BrokenPipeError):
        feed.close()
    _, err = push.communicate(timeout=120)
    assert push.returncode == 128 + signum, err
    assert _one_line(err) == INTERRUPTED


def _waiting_on_the_ledger(conn, schema: str) -> bool:
    """Whether a session waits for a lock to insert into the push ledger of `schema`."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                    (f'INSERT INTO "{schema}_push"."push_ledger"%',))
        return cur.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_push_writes_its_ledger_exits_130_or_143_and_a_rerun_finishes(
        sandbox, postgres_schema, signum):
    import psycopg2

    dsn, schema = postgres_schema
    client = connect(sandbox)
    book = new_phonebook(client, "push-signal")
    wanted = fresh_numbers(40)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
        cur.execute(f'CREATE TABLE "{schema}".call_list (contact text)')
        cur.executemany(f'INSERT INTO "{schema}".call_list VALUES (%s)', [(n,) for n in wanted])
    opts = PushOptions("contacts", table="call_list", destination="postgres", postgres_dsn=dsn, dataset=schema,
                       target=book, number_format="national")
    run_push(client, dataclasses.replace(opts, dry_run=True))  # creates the push records' tables
    args = ["contacts", "--table", "call_list", "--destination", "postgres", "--postgres-dsn", dsn,
            "--dataset", schema, "--phonebook", str(book), "--number-format", "national"]
    sandbox.reset_stats()
    holder = psycopg2.connect(dsn)
    try:
        with holder.cursor() as cur:  # reads go on, the push's first ledger insert waits
            cur.execute(f'LOCK TABLE "{schema}_push".push_ledger IN EXCLUSIVE MODE')
            push = _start(sandbox, *args)
            with contextlib.closing(psycopg2.connect(dsn)) as watch:
                watch.autocommit = True  # a fresh view of pg_stat_activity at each look
                while not _waiting_on_the_ledger(watch, schema):
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        push.wait(0.05)  # returns at once if the push ended: the assertion says so
                    assert push.poll() is None, push.communicate()
            push.send_signal(signum)
    finally:
        holder.rollback()
        holder.close()
    _, err = push.communicate(timeout=120)
    assert push.returncode == 128 + signum, err
    assert _one_line(err) == INTERRUPTED
    assert sandbox.stats()["writes"] == 0  # the request the record announced never left

    again = run_push(client, opts)
    assert again.exit_code == 0 and again.counts["created"] == len(wanted)
    held = Counter(number_key(r["contact"]) for r in sandbox.rows("contacts") if r["phonebook"] == book)
    assert held == Counter(number_key(n) for n in wanted)
