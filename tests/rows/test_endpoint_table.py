"""The resource table (settings.ENDPOINTS) and the column types (schema), offline: no server, no load.

The tables, endpoints, keys and write dispositions are the ones docs/loading.md's "Tables" section
documents; the source builds one resource per row without sending a request.
"""

from __future__ import annotations

import socket

import pytest
from support import ROOT

from antbot_source import antbot
from antbot_source.rows.dictionary import column_description
from antbot_source.rows.schema import DELETED_COLUMN, TABLE_TYPES, columns, json_fields, timestamp_fields
from antbot_source.settings import ENDPOINTS, TABLE_NAMES, endpoint

CATALOGUE = ROOT / "docs" / "loading.md"
MERGE = {"disposition": "merge", "strategy": "delete-insert"}
# how CATALOGUE's "how it is read" column starts, per read mode of the endpoint table
READ_MODES = {"cdr": "windows on `starting_date`", "per_campaign": "checked for changes; counted per status", "full": "checked for changes"}


def readme_tables() -> list[dict[str, str]]:
    """The rows of the first table under docs/loading.md's "## Tables", as {column header: cell}."""
    text = CATALOGUE.read_text(encoding="utf-8")
    section = text.split("\n## Tables\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block: list[str] = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append(line)

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    header = cells(block[0])
    assert set(block[1].replace("|", "").strip()) == {"-"}, "the second line of the table is its rule"
    return [dict(zip(header, cells(line), strict=True)) for line in block[2:]]


def unquoted(cell: str) -> str:
    return cell.strip("`")


@pytest.fixture(scope="module")
def documented() -> list[dict[str, str]]:
    rows = readme_tables()
    assert len(rows) == 16, [row["table"] for row in rows]
    return rows


def test_the_tables_are_the_sixteen_the_readme_documents_in_its_order(documented):
    assert [unquoted(row["table"]) for row in documented] == [ep.table for ep in ENDPOINTS]
    assert TABLE_NAMES == tuple(ep.table for ep in ENDPOINTS)
    assert len(set(TABLE_NAMES)) == 16


def test_endpoints_keys_and_read_modes_are_the_documented_ones(documented):
    for row in documented:
        ep = endpoint(unquoted(row["table"]))
        assert (ep.path, ep.primary_key) == (unquoted(row["endpoint"]), row["key"]), ep.table
        assert row["how it is read"].startswith(READ_MODES[ep.read]), (ep.table, ep.read, row["how it is read"])
        assert all(row[f"{what} arrive"] for what in ("new rows", "changes", "deletes")), ep.table
    assert len({ep.path for ep in ENDPOINTS}) == len(ENDPOINTS), "each endpoint feeds one table"
    assert [ep.table for ep in ENDPOINTS if ep.read != "full"] == ["cdr", "subscribers"]


def test_every_table_merges_on_its_key(documented):
    for ep in ENDPOINTS:
        assert ep.write_disposition == MERGE, ep.table
    for row in documented:
        assert row["write disposition"].startswith("merge"), row
    with pytest.raises(KeyError):
        endpoint("no_such_table")


def test_every_table_has_pinned_column_types_with_a_bigint_key():
    assert {ep.type_key for ep in ENDPOINTS} == set(TABLE_TYPES)
    for ep in ENDPOINTS:
        key = columns(ep.type_key)[ep.primary_key]
        assert key == {"name": ep.primary_key, "data_type": "bigint", "nullable": False,
                       "description": column_description(ep.type_key, ep.primary_key)}, ep.table


def test_key_columns_have_their_types():
    cdr = columns("cdr")
    assert cdr["id"] == {"name": "id", "data_type": "bigint", "nullable": False,
                         "description": "AntBot id of the object (primary key)."}
    assert cdr["starting_date"] == {"name": "starting_date", "data_type": "timestamp", "nullable": True,
                                    "timezone": True, "description": column_description("cdr", "starting_date")}
    assert {name: cdr[name]["data_type"] for name in ("billsec", "campaign", "leg_type", "alarm", "disposition")} \
        == {"billsec": "bigint", "campaign": "bigint", "leg_type": "bigint", "alarm": "bool", "disposition": "text"}
    assert "starting_date" in timestamp_fields("cdr")
    # relations are integers
    assert columns("subscribers")["campaign"]["data_type"] == "bigint"
    assert columns("contacts")["phonebook"]["data_type"] == "bigint"
    # every timestamp is timezone-aware
    for table in TABLE_TYPES:
        for name in timestamp_fields(table):
            assert columns(table)[name]["timezone"] is True, (table, name)


def test_json_columns_are_the_documented_ones():
    json_columns = {(table, name) for table in TABLE_TYPES for name in json_fields(table)}
    # CATALOGUE: JSON for `additional_vars`, `collected_data` and event `data`; campaigns list their phonebooks
    assert json_columns == {("contacts", "additional_vars"), ("subscribers", "collected_data"),
                            ("events", "data"), ("campaigns", "phonebook")}
    assert all(columns(table)[name]["data_type"] == "json" for table, name in json_columns)


def test_tombstones_are_a_hard_delete_column_only_when_asked():
    assert DELETED_COLUMN not in columns("contacts")
    assert columns("contacts", tombstones=True)[DELETED_COLUMN] == {
        "name": DELETED_COLUMN, "data_type": "bool", "nullable": True, "hard_delete": True,
        "description": column_description("contacts", DELETED_COLUMN)}


def test_the_source_builds_every_resource_without_a_request(documented):
    # a loopback port that listens but is never answered: a connection attempt would be queued there
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        port = listener.getsockname()[1]
        source = antbot(base_url=f"http://127.0.0.1:{port}/rest-api", username="demo", password="demo-pass",
                        max_attempts=1, timeout=1.0)
        assert list(source.resources) == list(TABLE_NAMES)
        schemas = {name: resource.compute_table_schema() for name, resource in source.resources.items()}
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected while the source and its resources were built
    assert source.name == "antbot" and source.max_table_nesting == 0

    deletes_removed = {unquoted(row["table"]) for row in documented if "deletes removed" in row["write disposition"]}
    for ep in ENDPOINTS:
        table = schemas[ep.table]
        assert (table["write_disposition"], table["x-merge-strategy"]) == ("merge", "delete-insert"), ep.table
        key = table["columns"][ep.primary_key]
        assert (key["data_type"], key["nullable"], key.get("primary_key")) == ("bigint", False, True), ep.table
        # every column of schema.py is hinted with its type
        hinted = {name: col["data_type"] for name, col in table["columns"].items() if name != DELETED_COLUMN}
        assert hinted == dict(TABLE_TYPES[ep.type_key]), ep.table
        # the tables whose deletes the CATALOGUE says are removed carry the hard-delete column; cdr does not
        has_tombstones = table["columns"].get(DELETED_COLUMN, {}).get("hard_delete") is True
        assert has_tombstones == (ep.table in deletes_removed), ep.table
    assert "cdr" not in deletes_removed and len(deletes_removed) == 15
    assert schemas["cdr"]["columns"]["starting_date"]["timezone"] is True
    assert schemas["contacts"]["columns"]["additional_vars"]["data_type"] == "json"
