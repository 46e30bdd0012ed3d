"""docs/tables.md: every table, view and column of a loaded dataset, with its type and its comment.

Written from what a load leaves in the database, not from the dictionary alone: a sandbox account
loaded into a throwaway DuckDB file by `pipeline.load()` (tables, views and comments as every load
writes them), and the push's record tables in their dataset. Run
`python -m antbot_source.destination.tables_doc > docs/tables.md` (needs the `sandbox` extra).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path
from typing import NamedTuple

import duckdb

from antbot_source.destination.comments import sql_literal
from antbot_source.pipeline import load
from antbot_source.push.ledger import PushLedger, records_dataset
from antbot_source.push.read import Warehouse
from antbot_source.sandbox import run_sandbox
from antbot_source.settings import DEFAULT_DATASET

HEADER = """# Tables and views

Every table, view and column `antbot load` writes into its dataset (`antbot` by default), with
the type DuckDB gives it (PostgreSQL's are the equivalents) and the description each load also
writes into the database as a comment (`COMMENT ON`; DuckDB: `duckdb_columns().comment`,
PostgreSQL: `col_description`). Descriptions live in `antbot_source/rows/dictionary.py`; this file
is generated from a sandbox load by `python -m antbot_source.destination.tables_doc > docs/tables.md`
and a test keeps it current. Timestamps are UTC unless a column says otherwise.
"""

RECORDS_HEADER = """## Push records

`antbot push` records every run, every row's outcome and every rejected row in a dataset of its own
beside the data: `<dataset>_push`, `antbot_push` by default."""

KIND_TITLES = {"BASE TABLE": "Tables", "VIEW": "Views"}


class ColumnRow(NamedTuple):
    """One column of a relation as the database describes it."""

    relation: str
    kind: str
    relation_comment: str | None
    column: str
    data_type: str
    column_comment: str | None


def read_columns(con: duckdb.DuckDBPyConnection, dataset: str) -> list[ColumnRow]:
    """Every column of every table and view of `dataset` in a DuckDB database, with its comments."""
    rows = con.sql(f"""
        SELECT t.table_name, t.table_type, t.table_comment, c.column_name, c.data_type, c.column_comment
        FROM information_schema.columns AS c
        JOIN information_schema.tables AS t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = {sql_literal(dataset)}
        ORDER BY t.table_name, c.ordinal_position""").fetchall()
    return [ColumnRow(*row) for row in rows]


def _cell(text: str | None) -> str:
    """`text` as markdown table text: `<name>` is no HTML tag, `|` no column break."""
    return (text or "").replace("<", "\\<").replace("|", "\\|").replace("\n", " ")


def _order(row: ColumnRow) -> tuple[bool, bool, str]:
    """Tables before views, dlt's own tables last."""
    return row.kind == "VIEW", row.relation.startswith("_dlt"), row.relation


def render(columns: Iterable[ColumnRow], header: str = HEADER, kind_titles: bool = True) -> str:
    """The markdown of docs/tables.md for these columns (in their order within each relation), under
    `header`, with a heading per kind of relation (`kind_titles`)."""
    blocks = [header.rstrip()]
    kind = None
    # a stable sort: the columns of a relation keep their order
    for (relation_kind, relation), group in groupby(sorted(columns, key=_order), key=lambda r: (r.kind, r.relation)):
        rows = list(group)
        if kind_titles and relation_kind != kind:
            kind = relation_kind
            blocks.append(f"## {KIND_TITLES.get(kind, kind)}")
        table = [f"| `{r.column}` | {r.data_type.lower()} | {_cell(r.column_comment)} |" for r in rows]
        blocks += [f"### `{relation}`", _cell(rows[0].relation_comment),
                   "\n".join(["| column | type | description |", "|---|---|---|", *table])]
    return "\n\n".join(blocks) + "\n"


def sandbox_dataset(directory: Path, dataset: str = DEFAULT_DATASET) -> Path:
    """A DuckDB file in `directory` holding a load of a sandbox account (its views and comments
    included) and the push's record tables; returns its path."""
    path = directory / "dictionary.duckdb"
    with contextlib.closing(duckdb.connect(str(path))) as con:
        con.execute(f'CREATE SCHEMA "{dataset}"')
        PushLedger(Warehouse(con, dataset, "duckdb"), "contacts").start_run("docs/tables.md", dry_run=True)
    with run_sandbox(seed=11, cdrs=300) as sandbox:
        account = sandbox.accounts[0]
        load(duckdb_path=path, dataset=dataset, pipelines_dir=directory / "pipelines", pipeline_name="dictionary",
             base_url=sandbox.base_url, username=account.username, password=account.password)
    return path


def document(path: Path, dataset: str = DEFAULT_DATASET) -> str:
    """docs/tables.md of the DuckDB file at `path`: the data's dataset, then the push records' dataset."""
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        return (render(read_columns(con, dataset)) + "\n"
                + render(read_columns(con, records_dataset(dataset)), RECORDS_HEADER, kind_titles=False))


def generate() -> str:
    """docs/tables.md, from a fresh sandbox load."""
    with tempfile.TemporaryDirectory(prefix="antbot-tables-doc-") as directory:
        return document(sandbox_dataset(Path(directory)))


if __name__ == "__main__":
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    print(generate(), end="")
