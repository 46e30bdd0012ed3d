"""Bad inputs of `antbot push`, as a careless user or a hostile operator gives them: one line naming the
cause, exit 2, nothing written to the warehouse, nothing sent. Each case is a row of docs/reliability-push.md."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from forked import antbot
from support import ROOT, connect, new_dnc_list, new_phonebook

from antbot_source.sandbox import run_sandbox

POSTGRES_DSN = os.environ.get("ANTBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
CDR_ROWS = 5


def _postgres_reachable() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), timeout=1):
        return True
    return False


def _postgres(dsn: str, *statements: str) -> None:
    import psycopg2

    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        conn.autocommit = True
        for statement in statements:
            cur.execute(statement)


def _postgres_counts(dsn: str, schema: str) -> tuple[int, int]:
    import psycopg2

    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT (SELECT count(*) FROM "{schema}".cdr), (SELECT count(*) FROM "{schema}".x)')
        return cur.fetchone()


# the warehouse of the cases, in DuckDB and in PostgreSQL: a `cdr` table and a table `x` the cases try to
# destroy, a call list and a DNC list to push, a view without the number column, a sequence
TABLES = [
    f"CREATE TABLE {{s}}.cdr AS SELECT i AS id FROM generate_series(1, {CDR_ROWS}) AS t(i)",
    "CREATE TABLE {s}.x AS SELECT 1 AS a",
    "CREATE TABLE {s}.call_list (contact VARCHAR, first_name VARCHAR)",
    "INSERT INTO {s}.call_list VALUES ('0399000001', 'An'), ('0399000002', 'Binh')",
    "CREATE TABLE {s}.opt_outs (phone_number VARCHAR)",
    "INSERT INTO {s}.opt_outs VALUES ('0399000003')",
    "CREATE VIEW {s}.no_number AS SELECT first_name FROM {s}.call_list",
    "CREATE SEQUENCE {s}.seq",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict[str, str]]:
    """One sandbox with two phonebooks and two DNC lists named 'Twice', a DuckDB file and (when the server
    runs) a PostgreSQL schema holding TABLES."""
    tmp = tmp_path_factory.mktemp("push-bad")
    db = tmp / "push.duckdb"
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE SCHEMA antbot")
        for statement in TABLES:
            conn.execute(statement.format(s="antbot"))
    schema = f"antbot_test_{uuid.uuid4().hex[:10]}"
    dsn = POSTGRES_DSN if _postgres_reachable() else ""
    if dsn:
        _postgres(dsn, f'CREATE SCHEMA "{schema}"', *(t.format(s=f'"{schema}"') for t in TABLES))
    with run_sandbox(seed=11, cdrs=200) as sb:
        client = connect(sb)
        book, dnc = new_phonebook(client, "Leads"), new_dnc_list(client, "Opt-outs")
        for _ in range(2):
            new_phonebook(client, "Twice")
            new_dnc_list(client, "Twice")
        client.close()
        sb.reset_stats()
        acc = sb.accounts[0]
        yield {"tmp": str(tmp), "db": str(db), "dsn": dsn, "schema": schema, "book": str(book), "dnc": str(dnc),
               "sb": sb, "base_url": sb.base_url, "username": acc.username, "password": acc.password}
    if dsn:
        _postgres(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


DUCK = ["--duckdb", "{db}"]
PG = ["--destination", "postgres", "--postgres-dsn", "{dsn}", "--dataset", "{schema}"]
BOOK = ["--phonebook", "{book}"]

# (arguments of `antbot push`, exit code, a part of the one line); {db}, {book}, ... from the world
BAD_PUSHES = [
    (["contacts", "--query", "DROP TABLE cdr", *DUCK, *BOOK, "--dry-run"], 2,
     "--query must be one SELECT that only reads: got DROP; nothing was run"),
    (["contacts", "--query", "DELETE FROM cdr WHERE id > 0 RETURNING id AS contact", *DUCK, *BOOK], 2,
     "--query must be one SELECT that only reads: got DELETE; nothing was run"),
    (["contacts", "--query", "SELECT 1; DROP TABLE x", *DUCK, *BOOK], 2,
     "--query must be one SELECT that only reads: got 2 statements; nothing was run"),
    (["contacts", "--query", "WITH gone AS (DELETE FROM cdr RETURNING *) SELECT * FROM gone", *DUCK, *BOOK], 2,
     "--query must be one SELECT that only reads: got DELETE inside it; nothing was run"),
    (["contacts", "--query", "SELECT * INTO y FROM call_list", *DUCK, *BOOK], 2,
     "--query must be one SELECT that only reads: got SELECT ... INTO inside it; nothing was run"),
    (["contacts", "--query", "COPY cdr TO 'cdr.csv'", *DUCK, *BOOK], 2,
     "--query must be one SELECT that only reads: got COPY; nothing was run"),
    (["contacts", "--query", "SELECT nextval('seq')::VARCHAR AS contact", *DUCK, *BOOK], 2,
     "cannot read the push input from dataset 'antbot': TransactionContext Error: Cannot write"),
    (["contacts", "--table", "x; DROP TABLE cdr", *DUCK, *BOOK], 2,
     "--table 'x; DROP TABLE cdr' is not a table name (got 2 statements): nothing was run"),
    (["contacts", *DUCK, *BOOK], 2, "give exactly one of --table or --query"),
    (["contacts", "--table", "call_list", "--query", "SELECT * FROM call_list", *DUCK, *BOOK], 2,
     "give exactly one of --table or --query"),
    (["contacts", "--table", "no_number", *DUCK, *BOOK], 2, "the input has no column 'contact' (its columns: first_name)"),
    (["dnc", "--table", "call_list", *DUCK, "--dnc-list", "{dnc}"], 2,
     "the input has no column 'phone_number' (its columns: contact, first_name)"),
    (["contacts", "--table", "call_list", *DUCK], 2, "the input has no column 'phonebook' and no --phonebook was given"),
    (["contacts", "--table", "call_list", *DUCK, "--phonebook", "Nowhere"], 2, "--phonebook: unknown phonebook 'Nowhere'"),
    (["contacts", "--table", "call_list", *DUCK, "--phonebook", "999999"], 2, "--phonebook: unknown phonebook '999999'"),
    (["contacts", "--table", "call_list", *DUCK, "--phonebook", "Twice"], 2,
     "--phonebook: phonebook name 'Twice' is ambiguous (ids ["),
    (["dnc", "--table", "opt_outs", *DUCK, "--dnc-list", "Nowhere"], 2, "--dnc-list: unknown DNC list 'Nowhere'"),
    (["dnc", "--table", "opt_outs", *DUCK, "--dnc-list", "Twice"], 2,
     "--dnc-list: DNC list name 'Twice' is ambiguous (ids ["),
    (["contacts", "--table", "call_list", *DUCK, *BOOK, "--destination", "nosuch"], 2,
     "--destination must be duckdb or postgres, not 'nosuch'"),
    (["contacts", "--table", "call_list", *DUCK, *BOOK, "--number-format", "local"], 2,
     "--number-format must be national or e164, not 'local'"),
    (["contacts", "--query", "DROP TABLE cdr", *PG, *BOOK, "--dry-run"], 2,
     "--query must be one SELECT that only reads: got DROP; nothing was run"),
    (["contacts", "--query", "DELETE FROM cdr WHERE id > 0 RETURNING id::text AS contact", *PG, *BOOK], 2,
     "--query must be one SELECT that only reads: got DELETE; nothing was run"),
    (["contacts", "--query", "SELECT 1; DROP TABLE x", *PG, *BOOK], 2,
     "--query must be one SELECT that only reads: got 2 statements; nothing was run"),
    (["contacts", "--query", "WITH gone AS (DELETE FROM cdr RETURNING *) SELECT id::text AS contact FROM gone",
      *PG, *BOOK], 2, "--query must be one SELECT that only reads: got DELETE inside it; nothing was run"),
    (["contacts", "--query", "SELECT nextval('seq')::text AS contact", *PG, *BOOK], 2,
     "cannot read the push input from dataset '{schema}': cannot execute nextval() in a read-only transaction"),
    (["contacts", "--table", "no_number", *PG, *BOOK], 2, "the input has no column 'contact' (its columns: first_name)"),
]


def _case_id(case: tuple[list[str], int, str]) -> str:
    args = case[0]
    where = "pg" if "postgres" in args else "duckdb"
    return f"{args[0]}-{where}-{case[2].split(':')[0][:40]}"


@pytest.mark.parametrize(("args", "code", "part"), BAD_PUSHES, ids=[_case_id(c) for c in BAD_PUSHES])
def test_every_bad_push_gives_one_line_its_cause_and_exit_2_and_changes_nothing(world, args, code, part):
    if "postgres" in args and not world["dsn"]:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update({"SOURCES__ANTBOT__BASE_URL": world["base_url"], "SOURCES__ANTBOT__USERNAME": world["username"],
                "SOURCES__ANTBOT__PASSWORD": world["password"], "PYTHONPATH": str(ROOT),
                "DLT_DATA_DIR": str(Path(world["tmp"]) / "dlt")})
    result = antbot("push", *(a.format(**world) for a in args), env=env, cwd=world["tmp"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, result.stderr
    assert lines[0].startswith("antbot push failed: ") and part.format(**world) in lines[0], lines[0]
    # nothing changed in either warehouse, nothing was sent, no file was written
    with duckdb.connect(world["db"], read_only=True) as conn:
        assert conn.execute("SELECT (SELECT count(*) FROM antbot.cdr), (SELECT count(*) FROM antbot.x)").fetchone() \
            == (CDR_ROWS, 1)
        assert not conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema IN "
                                "('antbot', 'antbot_push') AND table_name IN ('y', 'push_runs')").fetchall()
    if world["dsn"]:
        assert _postgres_counts(world["dsn"], world["schema"]) == (CDR_ROWS, 1)
    assert world["sb"].stats()["writes"] == 0
    assert not (Path(world["tmp"]) / "cdr.csv").exists()


def test_the_list_in_docs_names_every_case():
    doc = (ROOT / "docs" / "reliability-push.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| `antbot push")]
    assert len(rows) >= len(BAD_PUSHES)
    for _args, code, part in BAD_PUSHES:
        assert any(f"| {code} |" in row and part.split("{")[0] in row for row in rows), part

