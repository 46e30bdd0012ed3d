"""The warehouse side of a push: a DuckDB or PostgreSQL connection scoped to one dataset."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sqlglot
from sqlglot import exp

from antbot_source.destination.locks import Notify, open_duckdb
from antbot_source.errors import ConfigError
from antbot_source.settings import DEFAULT_DUCKDB

log = logging.getLogger(__name__)

Destination = Literal["duckdb", "postgres"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


# what may not appear anywhere in the input query: writes, schema changes, commands, SELECT ... INTO, FOR UPDATE
_WRITES = (exp.DML, exp.DDL, exp.Command, exp.Into, exp.Lock)


def quote_ident(name: str) -> str:
    """Quote one SQL identifier (schema, table or column name)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(dataset: str, table: str) -> str:
    """`"dataset"."table"`, or the name as given when it already names a schema (`other.table`)."""
    if "." in table or not _IDENT.match(table):
        return table
    return f"{quote_ident(dataset)}.{quote_ident(table)}"


def _not_one_select(sql: str, destination: Destination) -> str | None:
    """Why `sql` is not exactly one statement that only reads (a SELECT, WITH ... SELECT or a set
    operation of them, with no write nested anywhere); None when it is."""
    quiet = logging.getLogger("sqlglot")  # it logs each statement it falls back to keeping as text
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        statements = [s for s in sqlglot.parse(sql, read=destination) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        where = exc.errors[0] if isinstance(exc, sqlglot.errors.ParseError) and exc.errors else {}
        what = re.sub(r" but got <Token.*", "", str(where.get("description") or exc).splitlines()[0])
        return f"cannot parse it: {what}" + (f" (line {where['line']}, column {where['col']})" if where else "")
    finally:
        quiet.setLevel(level)
    if len(statements) != 1:
        return f"got {len(statements)} statements"
    root = statements[0]
    if not isinstance(root, exp.Query):
        return f"got {_statement_name(root)}"
    write = next((node for node in root.walk() if isinstance(node, _WRITES)), None)
    return f"got {_statement_name(write)} inside it" if write else None


def _statement_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return {"into": "SELECT ... INTO", "lock": "FOR UPDATE / FOR SHARE"}.get(node.key, node.key.upper())


def input_sql(table: str | None, query: str | None, dataset: str, destination: Destination) -> str:
    """The statement that reads the push input: all of `table` or `query`, checked to be one SELECT that
    only reads (it also runs in a read-only transaction); ConfigError naming the option otherwise."""
    if bool(table) == bool(query):
        raise ConfigError("give exactly one of --table or --query")
    sql = query or f"SELECT * FROM {qualified(dataset, table or '')}"
    why = _not_one_select(sql, destination)
    if why and query:
        raise ConfigError(f"--query must be one SELECT that only reads: {why}; nothing was run")
    if why:
        raise ConfigError(f"--table {table!r} is not a table name ({why}): nothing was run")
    return sql


@dataclass
class Warehouse:
    """An open connection to the dataset that holds the input table (the push records go beside it: ledger.py)."""

    conn: Any
    dataset: str
    kind: Destination

    @classmethod
    def open(cls, destination: Destination, dataset: str, duckdb_path: Path | str | None = None,
             postgres_dsn: str | None = None, *, wait_s: float = 60.0, notify: Notify = log.warning) -> Warehouse:
        """Connect to DuckDB (an existing file, waiting at most `wait_s` for a load or a reader holding it)
        or PostgreSQL (a DSN) and make sure the dataset schema exists."""
        if destination == "duckdb":
            conn = open_duckdb(Path(duckdb_path or DEFAULT_DUCKDB), wait_s=wait_s, notify=notify, must_exist=True)
        else:
            import psycopg2

            if not postgres_dsn:
                raise ConfigError("a PostgreSQL destination needs a DSN (--postgres-dsn or "
                                  "DESTINATION__POSTGRES__CREDENTIALS)")
            conn = psycopg2.connect(postgres_dsn)
            conn.autocommit = True  # each ledger write must be durable before the request it announces
        wh = cls(conn, dataset, destination)
        wh.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(dataset)}")
        return wh

    @property
    def _param(self) -> str:
        return "?" if self.kind == "duckdb" else "%s"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (use `?` for parameters; it is translated for PostgreSQL)."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql.replace("?", self._param) if params else sql, tuple(params))
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a query inside the dataset (unqualified names resolve there) and return rows as dicts."""
        names, rows = self._fetch(sql, params)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _fetch(self, sql: str, params: Sequence[Any] = (), *, read_only: bool = False) -> tuple[list[str], list[Any]]:
        """(lower-case column names, rows) of a query inside the dataset; `read_only`: in a read-only
        transaction, rolled back after."""
        cur = self.conn.cursor()
        try:
            if read_only:
                cur.execute("BEGIN TRANSACTION READ ONLY")
            if self.kind == "duckdb":
                cur.execute(f"SET schema = '{self.dataset}'")
            else:
                cur.execute(f"SET search_path TO {quote_ident(self.dataset)}, public")
            cur.execute(sql.replace("?", self._param) if params else sql, tuple(params))
            return [d[0].lower() for d in cur.description], cur.fetchall()
        finally:
            if read_only:
                cur.execute("ROLLBACK")
            if self.kind == "duckdb":
                cur.execute("SET schema = 'main'")
            cur.close()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Append rows to `table` (`schema.table`, or a table of the dataset) in one statement (DuckDB
        reads them as an Arrow table)."""
        if not rows:
            return
        target = f"{qualified(self.dataset, table)} ({', '.join(quote_ident(c) for c in columns)})"
        cur = self.conn.cursor()
        try:
            if self.kind == "duckdb":
                import pyarrow as pa

                # a parameter per value makes a 500-row INSERT take ~0.3 s in DuckDB; Arrow takes ~5 ms
                data = pa.Table.from_arrays([pa.array(list(col)) for col in zip(*rows, strict=True)],
                                            names=[f"c{i}" for i in range(len(columns))])
                cur.register("_antbot_rows", data)
                cur.execute(f"INSERT INTO {target} SELECT * FROM _antbot_rows")
            else:
                from psycopg2.extras import execute_values

                execute_values(cur, f"INSERT INTO {target} VALUES %s", rows, page_size=1_000)
        finally:
            cur.close()

    def read_input(self, sql: str) -> tuple[list[str], list[dict[str, Any]]]:
        """The rows to push, with the input's column names (lower case): the result of `sql` (from
        `input_sql`), read in a read-only transaction."""
        try:
            names, rows = self._fetch(sql, read_only=True)
        except Exception as exc:  # noqa: BLE001 - duckdb.Error and psycopg2.Error share no base class
            raise ConfigError(f"cannot read the push input from dataset {self.dataset!r}: {exc}") from None
        return names, [dict(zip(names, row, strict=True)) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def open_input(opts: Any, notify: Notify) -> tuple[Warehouse, str]:
    """The warehouse of a push and the checked statement that reads its input (`input_sql`, checked before
    anything opens); `opts` is any push's options (table, query, destination, dataset, duckdb_path,
    postgres_dsn, wait_s). Close the warehouse when done."""
    sql = input_sql(opts.table, opts.query, opts.dataset, opts.destination)
    return Warehouse.open(opts.destination, opts.dataset, opts.duckdb_path, opts.postgres_dsn,
                          wait_s=opts.wait_s, notify=notify), sql

