"""Create the analytics views (KPIs, `lookup_*` label tables, compliance) in a loaded AntBot dataset."""

from __future__ import annotations

import functools
import re
from importlib.resources import files

import dlt
from dlt.destinations.sql_client import SqlClientBase

from antbot_source.analytics.labels import (
    CAUSE_GROUPS,
    DISPOSITION_GROUPS,
    LOOKUPS,
    MIN_SAMPLE,
    NER_CAUSES,
    Q850_CAUSES,
)
from antbot_source.compliance import rule_views as compliance
from antbot_source.compliance.rules import CallingRules, calling_rules
from antbot_source.config import AntBotSettings
from antbot_source.destination.comments import dialect, write_comments

_SQL = files("antbot_source.analytics")
# the loaded tables the views read
SOURCE_TABLES = ("cdr", "campaigns", "subscribers", "gateways", "alarms", "events", "calendars")


def _literal(value: object) -> str:
    """A value as an SQL literal that DuckDB and PostgreSQL read alike."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _values_view(schema: str, name: str, columns: tuple[str, ...], rows: list[tuple]) -> str:
    values = ",\n    ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
    return (
        f"CREATE VIEW {schema}.{name} AS\nSELECT * FROM (VALUES\n    {values}\n) AS t({', '.join(columns)})"
    )


def lookup_statements(schema: str) -> list[str]:
    """CREATE VIEW statements for every `lookup_*` view."""
    statements = []
    for name, labels in LOOKUPS.items():
        if name == "lookup_disposition":
            rows = [(code, label, DISPOSITION_GROUPS[code]) for code, label in labels.items()]
            statements.append(_values_view(schema, name, ("code", "label", "cause_group"), rows))
        else:
            statements.append(_values_view(schema, name, ("code", "label"), list(labels.items())))
    causes = [(code, fs_name, group, code in NER_CAUSES) for code, (fs_name, group) in Q850_CAUSES.items()]
    statements.append(
        _values_view(schema, "lookup_hangup_cause", ("code", "name", "cause_group", "counts_for_ner"), causes)
    )
    return statements


def cause_group_calls() -> str:
    """The select list counting A-legs that ended in each unanswered cause group: `ended_busy`, ..."""
    return ",\n    ".join(
        f"COUNT(*) FILTER (WHERE cause_group = {_literal(group)}) AS ended_{group.replace(' ', '_')}"
        for group in CAUSE_GROUPS
        if group != "answered"
    )


def view_statements(schema: str, rules: CallingRules | None = None, with_compliance: bool = True) -> list[str]:
    """Every CREATE VIEW statement, lookups first, for the dataset `schema` (already quoted); the
    compliance views (unless left out) apply `rules`, by default the configured ones."""
    kpi_columns = _SQL.joinpath("kpi_columns.sql").read_text().strip()
    text = _SQL.joinpath("views.sql").read_text()
    body = [part.strip() for part in re.split(r"^;$", text, flags=re.MULTILINE)]
    fills = {
        "{schema}": schema,
        "{kpi_columns}": kpi_columns,
        "{cause_group_calls}": cause_group_calls(),
        "{min_sample}": str(MIN_SAMPLE),
    }
    views = [functools.reduce(lambda text, fill: text.replace(*fill), fills.items(), part) for part in body]
    if not with_compliance:
        return lookup_statements(schema) + views
    return lookup_statements(schema) + views + compliance.compliance_statements(schema, rules or calling_rules())


def view_name(statement: str) -> str:
    """The unquoted name of the view a CREATE VIEW statement makes."""
    match = re.search(r"CREATE VIEW \S+?\.(\w+) AS", statement)
    assert match, statement
    return match.group(1)


def missing_tables(pipeline: dlt.Pipeline, tables: tuple[str, ...] = SOURCE_TABLES) -> list[str]:
    """The `tables` (by default those the KPI views read) that the pipeline's dataset does not hold (yet)."""
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", client.dataset_name
        )
    present = {row[0] for row in rows or []}
    return [name for name in dict.fromkeys(tables) if name not in present]


def create_views(pipeline: dlt.Pipeline, rules: CallingRules | None = None) -> list[str]:
    """(Re)create the analytics views in the pipeline's dataset, in one transaction, then write the data
    dictionary's comments on it (`destination.comments`); return the views' names. The compliance views
    apply `rules`, by default the configured ones, and are left out while a table they read is not
    loaded (`compliance.source_tables`).

    Returns [] without touching the dataset when a table the KPI views read is not loaded (see
    `missing_tables`), e.g. after a load of other resources only.
    """
    rules = rules or calling_rules()
    if missing_tables(pipeline):
        return []
    with_compliance = not missing_tables(pipeline, compliance.source_tables(rules))
    with pipeline.sql_client() as client:
        schema = client.fully_qualified_dataset_name()
        statements = view_statements(schema, rules, with_compliance)
        with client.begin_transaction():
            _drop(client, schema)
            for statement in statements:
                client.execute_sql(statement)
        if (comments := dialect(pipeline)) is not None:
            write_comments(client, comments)
    return [view_name(s) for s in statements]


def _drop(client: SqlClientBase, schema: str) -> None:
    for name in reversed([view_name(s) for s in view_statements(schema, calling_rules(AntBotSettings()))]):
        client.execute_sql(f"DROP VIEW IF EXISTS {schema}.{name}")


def drop_views(pipeline: dlt.Pipeline) -> None:
    """Drop the analytics views, e.g. before dlt drops the tables they read (PostgreSQL refuses otherwise)."""
    with pipeline.sql_client() as client, client.begin_transaction():
        _drop(client, client.fully_qualified_dataset_name())
