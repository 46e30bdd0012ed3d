"""The data dictionary in the database: `COMMENT ON` every table, view and column it describes.

dlt 1.31 writes its `description` hints as comments on BigQuery, Snowflake and Databricks only, and
only when it creates a table or adds a column; on DuckDB and PostgreSQL it writes none. So
`create_views` comments the dataset once it has created the views (a view dropped and created again
loses its comments), and `load()` does when it creates none: one query for what exists, one batch of
statements for the comments that differ (a load with nothing new to describe writes the views' only),
in a transaction of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cache

import dlt
from dlt.common.schema.typing import TTableSchema
from dlt.common.schema.utils import loads_table, pipeline_state_table, version_table
from dlt.destinations.exceptions import DatabaseException
from dlt.destinations.sql_client import SqlClientBase

from antbot_source.rows.dictionary import column_description, table_description

log = logging.getLogger(__name__)

# every column of a dataset's relations: (relation, its information_schema table_type, column, the
# relation's comment, the column's comment), per dialect; no parameters and no `%`, for every driver
COLUMNS_QUERY = """
SELECT c.table_name, t.table_type, c.column_name, {table_comment}, {column_comment}
FROM information_schema.columns AS c
JOIN information_schema.tables AS t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = {dataset}
ORDER BY c.table_name, c.ordinal_position"""
_PG_RELATION = "(quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass"
COMMENTS = {
    "duckdb": {"table_comment": "t.table_comment", "column_comment": "c.column_comment"},
    "postgres": {"table_comment": f"obj_description({_PG_RELATION}, 'pg_class')",
                 "column_comment": f"col_description({_PG_RELATION}, c.ordinal_position)"},
}
Column = tuple[str, str, str, str | None, str | None]


@cache
def _dlt_tables() -> dict[str, TTableSchema]:
    """dlt's own tables in a dataset, with the descriptions dlt gives them."""
    return {t["name"]: t for t in (version_table(), loads_table(), pipeline_state_table(add_dlt_id=True))}


def describe(relation: str, column: str | None = None) -> str | None:
    """The description of a relation (or of its `column`): the data dictionary's, else dlt's for its own tables."""
    mine = table_description(relation) if column is None else column_description(relation, column)
    if mine is not None or relation not in _dlt_tables():
        return mine
    table = _dlt_tables()[relation]
    return table.get("description") if column is None else table["columns"].get(column, {}).get("description")


def sql_literal(text: str) -> str:
    """`text` as a string literal that DuckDB and PostgreSQL read alike."""
    return "'" + text.replace("'", "''") + "'"


def comment_statements(columns: Iterable[Column], qualified: Callable[[str], str],
                       quote: Callable[[str], str]) -> list[str]:
    """COMMENT ON statements for the described relations and columns among `columns` (rows as
    COLUMNS_QUERY reads them) whose comment differs from their description."""
    statements: list[str] = []
    seen: set[str] = set()
    for relation, table_type, column, relation_comment, column_comment in columns:
        kind = "VIEW" if table_type == "VIEW" else "TABLE"
        if relation not in seen:
            seen.add(relation)
            if (text := describe(relation)) is not None and text != relation_comment:
                statements.append(f"COMMENT ON {kind} {qualified(relation)} IS {sql_literal(text)}")
        if (text := describe(relation, column)) is not None and text != column_comment:
            statements.append(f"COMMENT ON COLUMN {qualified(relation)}.{quote(column)} IS {sql_literal(text)}")
    return statements


def write_comments(client: SqlClientBase, dialect: str) -> int:
    """Comment every described relation of the client's dataset, and its columns, in one transaction and
    one batch (only where the comment differs); returns the number of statements. A database that
    refuses (a table another role owns) costs its comments, with a warning, never the load."""
    query = COLUMNS_QUERY.format(dataset=sql_literal(client.dataset_name), **COMMENTS[dialect])
    try:
        with client.begin_transaction():
            statements = comment_statements(client.execute_sql(query) or [], client.make_qualified_table_name,
                                            client.escape_column_name)
            if statements:
                client.execute_many(statements)
    except DatabaseException as exc:
        log.warning("the data dictionary's comments were not written: %s", str(exc).partition("\n")[0])
        return 0
    return len(statements)


def dialect(pipeline: dlt.Pipeline) -> str | None:
    """The pipeline's destination when this module writes comments into it (see COMMENTS), else None."""
    name = pipeline.destination.destination_name if pipeline.destination else None
    return name if name in COMMENTS else None


def comment_dataset(pipeline: dlt.Pipeline) -> int:
    """`write_comments` on the pipeline's dataset (0 on other destinations)."""
    if (name := dialect(pipeline)) is None:
        return 0
    with pipeline.sql_client() as client:
        return write_comments(client, name)
