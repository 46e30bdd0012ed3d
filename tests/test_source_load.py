"""Loads of a sandbox account equal its truth: first load, a repeated load, and after time passes."""

from __future__ import annotations

from pathlib import Path

from antbot_checks import assert_equals_truth, load_account, snapshot

from antbot_source import ClientConfig
from antbot_source.rows import normalise_row
from antbot_source.settings import CLOSED_CAMPAIGN_STATUSES
from pipelines.load import build_pipeline


def _api_rows(sb, path: str) -> dict[int, dict]:
    acc = sb.accounts[0]
    with ClientConfig(sb.base_url, acc.username, acc.password).connect() as client:
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
    load_account(sandbox, pipeline=pipeline)
    assert snapshot(pipeline) == before
    assert list(Path(pipeline.working_dir).glob("load/loaded/*")), "two packages were loaded"
    assert not list(Path(pipeline.working_dir).glob("load/loaded/*/completed_jobs/*")), \
        "the loaded files are not kept (a copy of every row ever loaded)"


def test_loaded_files_are_kept_when_configured_so(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("LOAD__DELETE_COMPLETED_JOBS", "false")
    pipeline, _ = load_account(sandbox, pipeline=build_pipeline(duckdb_path=tmp_path / "kept.duckdb",
                                                                pipeline_name="kept", pipelines_dir=tmp_path))
    assert list(Path(pipeline.working_dir).glob("load/loaded/*/completed_jobs/cdr.*"))


def test_after_time_passes_the_destination_equals_truth_again(sandbox):
    pipeline, _ = load_account(sandbox)
    changed = sandbox.advance(new_cdrs=50, late_cdrs=10, subscriber_changes=30,
                              new_contacts=5, edited_contacts=5, deleted_contacts=3)
    assert changed
    load_account(sandbox, pipeline=pipeline)
    assert_equals_truth(pipeline, sandbox.truth("demo"))

    # edits reach the destination, not only keys: subscriber statuses and contact numbers
    api_subscribers = _api_rows(sandbox, "subscriber-list/")
    held_status = _held(pipeline, "subscribers", "status")
    assert {i: r["status"] for i, r in api_subscribers.items()} == held_status
    api_contacts = _api_rows(sandbox, "contact/")
    assert {i: r["contact"] for i, r in api_contacts.items()} == _held(pipeline, "contacts", "contact")


def test_closed_campaigns_are_not_read_again(sandbox):
    pipeline, _ = load_account(sandbox)
    campaigns = _api_rows(sandbox, "campaigns/")
    subscribers = _api_rows(sandbox, "subscriber-list/")
    open_ids = {i for i, c in campaigns.items() if c["status"] not in CLOSED_CAMPAIGN_STATUSES}
    assert len(open_ids) < len(campaigns), "the sandbox world has ended or completed campaigns"
    in_open = sum(1 for s in subscribers.values() if s["campaign"] in open_ids)
    assert in_open < len(subscribers)

    _, summary = load_account(sandbox, pipeline=pipeline, resources=["subscribers"])
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
