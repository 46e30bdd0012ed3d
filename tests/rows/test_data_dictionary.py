"""The data dictionary: a description for every column, in dlt's schema, as comments in DuckDB and
PostgreSQL after a real load of a sandbox account, and docs/tables.md kept current."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pytest

from antbot_source.analytics.views import view_name, view_statements
from antbot_source.destination.comments import (
    COLUMNS_QUERY,
    COMMENTS,
    comment_dataset,
    comment_statements,
    sql_literal,
)
from antbot_source.destination.tables_doc import ColumnRow, document, read_columns, sandbox_dataset
from antbot_source.destination.target import build_pipeline
from antbot_source.health.record import COLUMNS as HEALTH_COLUMNS
from antbot_source.pipeline import load
from antbot_source.rows.dictionary import TABLES, VIEWS, column_description, table_description
from antbot_source.rows.schema import DELETED_COLUMN, TABLE_TYPES, columns

DOC = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
REGENERATE = "python -m antbot_source.destination.tables_doc > docs/tables.md"
VIEW_NAMES = {view_name(s) for s in view_statements('"antbot"')}


# --- the dictionary itself (no database) ---


def test_every_typed_column_has_a_description_in_the_dlt_hints() -> None:
    for table, types in TABLE_TYPES.items():
        assert table_description(table), f"{table} has no description"
        hints = columns(table, tombstones=True)
        assert set(hints) == {*types, DELETED_COLUMN}
        missing = [name for name, hint in hints.items() if not hint.get("description")]
        assert not missing, f"{table}: no description for {missing} (antbot_source/rows/dictionary.py)"
    missing = [name for name, hint in HEALTH_COLUMNS.items() if not hint.get("description")]
    assert not missing, f"load_health: no description for {missing}"


def test_every_view_and_described_table_is_known() -> None:
    assert VIEW_NAMES <= set(VIEWS), f"views without a description: {VIEW_NAMES - set(VIEWS)}"
    assert set(VIEWS) <= VIEW_NAMES, f"descriptions of views that no longer exist: {set(VIEWS) - VIEW_NAMES}"
    assert {"load_health", "push_runs", "push_ledger", "push_rejects"} <= set(TABLES)
    # a view lends the columns it selects from its base table; its own entries win
    assert column_description("cdr_enriched", "billsec") == column_description("cdr", "billsec")
    assert column_description("cdr_enriched", "answered") != column_description("cdr_kpis", "answered")
    assert column_description("cdr_kpis", "no_such_column") is None


def test_comments_escape_quotes_and_skip_what_is_current() -> None:
    text = "it's 80 % done; \\n -- not a comment"
    with contextlib.closing(duckdb.connect()) as con:
        assert con.sql(f"SELECT {sql_literal(text)}").fetchall() == [(text,)]
        con.execute('CREATE SCHEMA antbot; CREATE TABLE antbot.cdr (id BIGINT, "user" BIGINT, unknown_field TEXT)')
        query = COLUMNS_QUERY.format(dataset=sql_literal("antbot"), **COMMENTS["duckdb"])

        def statements() -> list[str]:
            return comment_statements(con.sql(query).fetchall(), lambda t: f'"antbot"."{t}"', lambda c: f'"{c}"')

        first = statements()
        assert len(first) == 3, first  # the table, id and "user"; a column the dictionary does not know: none
        con.execute(";\n".join(first))
        assert statements() == [], "comments already current are not written again"
        got = dict(con.sql("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'cdr'").fetchall())
        assert got == {"id": column_description("cdr", "id"), "user": column_description("cdr", "user"),
                       "unknown_field": None}


# --- a sandbox account loaded into DuckDB by `load()` ---


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Iterator[Path]:
    """The dataset docs/tables.md is generated from: push records, then a load of a sandbox account."""
    directory = tmp_path_factory.mktemp("dictionary")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        mp.chdir(directory)
        yield sandbox_dataset(directory)


def read(path: Path) -> list[ColumnRow]:
    """The columns of the data's dataset and of the push records' dataset."""
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        return read_columns(con, "antbot") + read_columns(con, "antbot_push")


def test_docs_tables_md_is_current(loaded: Path) -> None:
    assert DOC.read_text() == document(loaded), f"docs/tables.md is not current: run `{REGENERATE}`"


def test_every_table_view_and_column_has_its_comment_in_duckdb(loaded: Path) -> None:
    rows = read(loaded)
    views = {r.relation for r in rows if r.kind == "VIEW"}
    assert views == VIEW_NAMES, "every view is created and read"
    assert set(TABLE_TYPES) | {"load_health", "push_runs", "push_ledger", "push_rejects"} <= {r.relation for r in rows}
    bare = sorted({r.relation for r in rows if not r.relation_comment})
    assert not bare, f"relations without a description: {bare}"
    bare = [f"{r.relation}.{r.column}" for r in rows if not r.column_comment]
    assert not bare, f"columns without a description (antbot_source/rows/dictionary.py): {bare}"
    with contextlib.closing(duckdb.connect(str(loaded), read_only=True)) as con:
        def one(sql: str) -> str:
            return con.sql(sql).fetchall()[0][0]

        assert one("SELECT comment FROM duckdb_tables() WHERE schema_name = 'antbot' AND table_name = 'cdr'") == (
            "Call detail records from cdr/: one row per call leg, insert-only at AntBot.")
        assert one("SELECT comment FROM duckdb_views() WHERE schema_name = 'antbot' AND view_name = 'cdr_kpis'") == (
            "Headline call KPIs over every A-leg (one row).")
        assert one("SELECT comment FROM duckdb_columns() WHERE schema_name = 'antbot' AND table_name = 'cdr' "
                   "AND column_name = 'leg_type'").startswith("1 A-leg")
        assert one("SELECT comment FROM duckdb_columns() WHERE schema_name = 'antbot' "
                   "AND table_name = 'cdr_campaign_kpis' AND column_name = 'asr'").startswith("Answer-seizure ratio")
        assert one("SELECT comment FROM duckdb_columns() WHERE schema_name = 'antbot' "
                   "AND table_name = 'load_health' AND column_name = 'warnings'") == (
            "The run's warnings for the table, one per line; NULL when none.")


def test_comments_already_written_are_not_written_again(loaded: Path) -> None:
    pipeline = build_pipeline(duckdb_path=loaded, dataset="antbot", pipeline_name="dictionary",
                              pipelines_dir=loaded.parent / "pipelines")
    assert comment_dataset(pipeline) == 0


def test_a_load_without_views_comments_its_tables(sandbox, tmp_path) -> None:
    account = sandbox.accounts[0]
    path = tmp_path / "tables.duckdb"
    load(duckdb_path=path, resources="phonebooks,dnc_lists", views=False, base_url=sandbox.base_url,
         username=account.username, password=account.password)
    rows = read(path)
    assert {r.relation for r in rows if r.kind == "VIEW"} == set()
    assert {"phonebooks", "dnc_lists", "load_health"} <= {r.relation for r in rows}
    assert all(r.relation_comment and r.column_comment for r in rows), [r for r in rows if not r.column_comment]


# --- PostgreSQL ---


@pytest.mark.postgres
def test_comments_in_postgres(sandbox, postgres_schema) -> None:
    import psycopg2

    dsn, schema = postgres_schema
    account = sandbox.accounts[0]
    load(destination="postgres", credentials=dsn, dataset=schema, base_url=sandbox.base_url,
         username=account.username, password=account.password)
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute(COLUMNS_QUERY.format(dataset=sql_literal(schema), **COMMENTS["postgres"]))
        rows = cur.fetchall()

        def comment(sql: str) -> str:
            cur.execute(sql.replace("{ds}", f'"{schema}"'))
            return cur.fetchone()[0]

        assert comment("SELECT obj_description('{ds}.subscribers'::regclass, 'pg_class')") == (
            table_description("subscribers"))
        assert comment("SELECT obj_description('{ds}.campaign_progress'::regclass, 'pg_class')") == (
            table_description("campaign_progress"))
        assert comment("SELECT col_description('{ds}.load_health'::regclass, a.attnum) FROM pg_attribute AS a "
                       "WHERE a.attrelid = '{ds}.load_health'::regclass AND a.attname = 'lateness_warning'") == (
            "True when late rows reached deeper than 80 % of the look-back.")
        assert comment("SELECT col_description('{ds}.cdr_enriched'::regclass, a.attnum) FROM pg_attribute AS a "
                       "WHERE a.attrelid = '{ds}.cdr_enriched'::regclass AND a.attname = 'day_local'") == (
            "Vietnam-local day of the call.")
    assert {r[0] for r in rows if r[1] == "VIEW"} == VIEW_NAMES
    bare = [f"{r[0]}.{r[2]}" for r in rows if not r[3] or not r[4]]
    assert not bare, f"without a comment in PostgreSQL: {bare}"


@pytest.fixture
def loader_role(postgres_schema) -> Iterator[tuple[str, str, str]]:
    """(admin dsn, schema, the dsn of a login role that owns `schema` but not its table `push_runs`)."""
    import psycopg2

    dsn, schema = postgres_schema
    role = f"{schema}_loader"
    parts = urlsplit(dsn)
    role_dsn = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))

    def admin(*statements: str) -> None:
        with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
            conn.autocommit = True
            for statement in statements:
                cur.execute(statement)

    database = parts.path.lstrip("/")
    admin(f'CREATE ROLE "{role}" LOGIN', f'GRANT CREATE ON DATABASE "{database}" TO "{role}"',
          f'CREATE SCHEMA "{schema}" AUTHORIZATION "{role}"',
          f'CREATE TABLE "{schema}".push_runs (run_id VARCHAR)', f'GRANT ALL ON "{schema}".push_runs TO "{role}"')
    try:
        yield dsn, schema, role_dsn
    finally:
        admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'DROP SCHEMA IF EXISTS "{schema}_staging" CASCADE',
              f'DROP OWNED BY "{role}" CASCADE', f'DROP ROLE "{role}"')


@pytest.mark.postgres
def test_a_refused_comment_costs_the_comments_not_the_load(sandbox, loader_role, caplog) -> None:
    import psycopg2

    dsn, schema, role_dsn = loader_role
    account = sandbox.accounts[0]
    with caplog.at_level("WARNING", logger="antbot_source.destination.comments"):
        summary = load(destination="postgres", credentials=role_dsn, dataset=schema, base_url=sandbox.base_url,
                       username=account.username, password=account.password)
    assert summary.rows["cdr"] == len(sandbox.rows("cdr"))
    refused = [r.getMessage() for r in caplog.records if r.name == "antbot_source.destination.comments"]
    assert len(refused) == 1 and "push_runs" in refused[0], refused
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT count(*) FROM "{schema}".cdr_kpis')
        assert cur.fetchone()[0] == 1, "the views were created all the same"
