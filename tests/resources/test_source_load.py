"""Loads of a sandbox account equal its truth: first load, a repeated load, and after time passes."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
from support import (
    assert_equals_truth,
    client_config,
    destination_keys,
    destination_loads,
    load_account,
    snapshot,
)

from antbot_source.destination.target import build_pipeline
from antbot_source.rows.normalise import normalise_row
from antbot_source.settings import CLOSED_CAMPAIGN_STATUSES


def _api_rows(sb, path: str) -> dict[int, dict]:
    with client_config(sb).connect() as client:
        return {row["id"]: row for page in client.iter_pages(path) for row in map(normalise_row, page)}


def _held(pipeline, table: str, column: str) -> dict[int, object]:
    with pipeline.sql_client() as client:
        rows = client.execute_sql(f'SELECT id, "{column}" FROM {client.make_qualified_table_name(table)}')
    return dict(rows)


def test_first_load_equals_truth_and_a_second_load_changes_nothing(sandbox):
    pipeline, summary = load_account(sandbox)
    truth = sandbox.truth("demo")
    assert set(truth) >= {"cdr", "subscribers", "contacts", "campaigns"}
    assert all(t["count"] > 0 for t in truth.values()), "every table of the sandbox world has rows"
    assert_equals_truth(pipeline, truth)
    assert summary.rows["cdr"] == truth["cdr"]["count"]

    before = snapshot(pipeline)
    _, again = load_account(sandbox, pipeline=pipeline)
    assert snapshot(pipeline) == before
    # each load ran and loaded its own packages: one per run, none shared, each completed at the destination
    first, second = summary.load_ids, again.load_ids
    assert len(first) == summary.runs >= 1 and len(second) == again.runs >= 1, (first, second)
    assert not set(first) & set(second), "the second load loaded new packages"
    loaded = sorted(path.name for path in Path(pipeline.working_dir).glob("load/loaded/*"))
    health = set(loaded) - {*first, *second}
    assert set(loaded) >= {*first, *second}, "the packages of both loads were loaded"
    assert len(health) == 2, "and one package of the last run's load_health rows after each load"
    assert destination_loads(pipeline) == dict.fromkeys(loaded, 0)
    assert not list(Path(pipeline.working_dir).glob("load/loaded/*/completed_jobs/*")), \
        "the loaded files are not kept (a copy of every row ever loaded)"


def test_loaded_files_are_kept_when_configured_so(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("LOAD__DELETE_COMPLETED_JOBS", "false")
    pipeline, _ = load_account(sandbox, pipeline=build_pipeline(duckdb_path=tmp_path / "kept.duckdb",
                                                                pipeline_name="kept", pipelines_dir=tmp_path))
    assert list(Path(pipeline.working_dir).glob("load/loaded/*/completed_jobs/cdr.*"))


def test_after_time_passes_the_destination_equals_truth_again(sandbox):
    pipeline, _ = load_account(sandbox)
    held = destination_keys(pipeline, ("cdr", "contacts"))
    status_before = _held(pipeline, "subscribers", "status")
    email_before = _held(pipeline, "contacts", "email")
    changed = sandbox.advance(new_cdrs=50, late_cdrs=10, subscriber_changes=30,
                              new_contacts=5, edited_contacts=5, deleted_contacts=3)
    # time passed as asked, and the destination is behind the API until the next load
    asked = {"new_cdr_ids": 50, "late_cdr_ids": 10, "new_contact_ids": 5, "edited_contact_ids": 5,
             "deleted_contact_ids": 3}
    assert {k: len(changed[k]) for k in asked} == asked
    assert not set(changed["new_cdr_ids"] + changed["late_cdr_ids"]) & held["cdr"]["ids"]
    assert not set(changed["new_contact_ids"]) & held["contacts"]["ids"]
    assert set(changed["deleted_contact_ids"]) <= held["contacts"]["ids"]
    api_status = {i: r["status"] for i, r in _api_rows(sandbox, "subscriber-list/").items()}
    moved = {i for i, status in api_status.items() if i in status_before and status_before[i] != status}
    assert moved, "some subscribers the first load holds changed status"

    load_account(sandbox, pipeline=pipeline)
    assert_equals_truth(pipeline, sandbox.truth("demo"))

    # edits reach the destination, not only keys: subscriber statuses, contact numbers and edited emails
    assert _held(pipeline, "subscribers", "status") == api_status
    api_contacts = _api_rows(sandbox, "contact/")
    assert {i: r["contact"] for i, r in api_contacts.items()} == _held(pipeline, "contacts", "contact")
    edited = changed["edited_contact_ids"]  # may include contacts created by this same advance
    api_email = {i: api_contacts[i]["email"] for i in edited}
    edited_held = [i for i in edited if i in email_before]
    assert edited_held and all(api_email[i] != email_before[i] for i in edited_held), \
        "the edits changed the emails the first load holds"
    held_email = _held(pipeline, "contacts", "email")
    assert {i: held_email[i] for i in edited} == api_email


def test_closed_campaigns_are_not_read_again(sandbox):
    pipeline, _ = load_account(sandbox)
    campaigns = _api_rows(sandbox, "campaigns/")
    subscribers = _api_rows(sandbox, "subscriber-list/")
    open_ids = {i for i, c in campaigns.items() if c["status"] not in CLOSED_CAMPAIGN_STATUSES}
    assert len(open_ids) < len(campaigns), "the sandbox world has ended or completed campaigns"
    in_open = sum(1 for s in subscribers.values() if s["campaign"] in open_ids)
    assert in_open < len(subscribers)

    # a reconcile: between reconciles a list that fits one page is read whole in that one request
    _, summary = load_account(sandbox, pipeline=pipeline, resources=["subscribers"], reconcile=True)
    assert summary.rows["subscribers"] == in_open, "only the open campaigns' subscribers were read again"

    # a delete inside a closed campaign still arrives: its subscriber count moved
    changed = sandbox.advance(deleted_contacts=40)
    assert changed["deleted_subscriber_ids"]
    load_account(sandbox, pipeline=pipeline, resources=["subscribers"])
    assert_equals_truth(pipeline, {"subscribers": sandbox.truth("demo")["subscribers"]})


def test_older_build_shapes_load_the_same_tables(sandbox, tmp_path):
    """Rows with `url` instead of `id`, relations as URLs, bare lists, the token under `token`."""
    normal, _ = load_account(sandbox, tmp_path / "normal.duckdb")
    sandbox.set_habits(token_key="token", urls_not_ids=True, bare_lists=["cdr", "subscriber-list", "phonebook"])
    older = build_pipeline(duckdb_path=tmp_path / "older.duckdb", pipeline_name="antbot_older")
    load_account(sandbox, pipeline=older)
    assert snapshot(older) == snapshot(normal)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_json_columns_arrive_as_json_without_warnings(sandbox, tmp_path):
    dlt_logger, warnings = logging.getLogger("dlt"), _Records()  # dlt's logger does not propagate to pytest's
    dlt_logger.addHandler(warnings)
    try:
        pipeline, _ = load_account(sandbox, pipeline=build_pipeline(duckdb_path=tmp_path / "json.duckdb",
                                                                    pipeline_name="json", pipelines_dir=tmp_path))
    finally:
        dlt_logger.removeHandler(warnings)
    assert warnings.messages == [], "a load warns of nothing"
    api = _api_rows(sandbox, "contact/")
    with pipeline.sql_client() as client:
        kinds = dict(client.execute_sql(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'antbot' AND table_name = 'contacts'"))
        held = dict(client.execute_sql(
            f"SELECT id, additional_vars FROM {client.make_qualified_table_name('contacts')}"))
    assert kinds["additional_vars"] == "JSON"
    with_vars = [i for i, row in api.items() if row.get("additional_vars")]
    assert with_vars, "the sandbox gives contacts additional_vars"
    assert all(orjson.loads(held[i]) == api[i]["additional_vars"] for i in with_vars)


