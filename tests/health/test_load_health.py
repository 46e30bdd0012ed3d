"""Load health against the sandbox: late rows measured, rows later than the look-back healed by the
verification, the automatic look-back, rows deleted at the server reported, `antbot health`, and no
health row doubled by a killed and resumed load. Costs are counted at the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import pytest
from support import ROOT, assert_equals_truth, destination_loads, load_account, login, use_sandbox
from typer.testing import CliRunner

from antbot_source.destination.target import build_pipeline
from antbot_source.health.recent import recent_health
from antbot_source.resources.cdr.verify import DAY
from antbot_source.sandbox import Habits
from pipelines.cli import app

HOUR = 3600.0
LOOKBACK = timedelta(hours=3)


def cdr_state(pipeline: dlt.Pipeline) -> dict[str, Any]:
    return dict(pipeline.state["sources"]["antbot"]["resources"]["cdr"])


def cursor_of(pipeline: dlt.Pipeline) -> datetime:
    return datetime.fromisoformat(cdr_state(pipeline)["cursor"])


def starts(sb: Any) -> dict[int, datetime]:
    return {r["id"]: datetime.fromisoformat(r["starting_date"]).astimezone(UTC) for r in sb.rows("cdr")}


def last_cdr_health(pipeline: dlt.Pipeline) -> dict[str, Any]:
    return [row for row in recent_health(pipeline) if row["table_name"] == "cdr"][-1]


def sent(sb: Any) -> int:
    return sum(sb.stats()["requests"].values())


def cdr_gets(sb: Any) -> int:
    return sb.stats()["requests"].get("GET /rest-api/cdr/", 0)


def test_rows_later_than_the_lookback_are_healed_and_their_lateness_measured(start_sandbox, tmp_path):
    sb = start_sandbox(seed=11, cdrs=3_000, habits=Habits(fixed_page_size=25))
    pipeline, _ = load_account(sb, tmp_path / "h.duckdb")
    cursor = cursor_of(pipeline)

    sb.reset_stats()
    load_account(sb, pipeline=pipeline, resources=["cdr"])
    quiet = last_cdr_health(pipeline)
    assert cdr_gets(sb) == 2, "nothing new: the look-back and the verified days cost one count each"
    assert (quiet["late_rows"], quiet["healed_rows"], quiet["warnings"]) == (0, 0, None)
    # each load is a session of its own (AccountSession): its one login, then the two counts
    assert sb.stats()["requests"].get("POST /rest-api/get-token/") == 1
    assert quiet["requests"] == sent(sb) == 3, "the client counts what the server saw"

    behind = [20 * 60.0, 2 * HOUR, 5 * HOUR, 30 * HOUR, 50 * HOUR]  # the last three beyond the look-back
    changed = sb.advance(new_cdrs=10, late_by_s=behind)
    at = starts(sb)
    lateness = sorted((cursor - at[i]).total_seconds() for i in changed["late_by_ids"])
    assert lateness == pytest.approx(behind, abs=1e-3)

    sb.reset_stats()
    load_account(sb, pipeline=pipeline, resources=["cdr"])
    assert_equals_truth(pipeline, {"cdr": sb.truth("demo")["cdr"]})
    health = last_cdr_health(pipeline)
    assert health["late_rows"] == len(behind)
    assert health["max_lateness_s"] == pytest.approx(max(behind), abs=1e-3)
    assert health["p95_lateness_s"] == pytest.approx(max(behind), abs=1e-3)  # nearest rank of five rows
    assert health["healed_rows"] == 3, "the rows behind the look-back were read again by the verification"
    assert health["cursor_before"] == cursor and health["cursor_after"] == cursor_of(pipeline) > cursor
    assert health["lateness_warning"] and "look-back" in health["warnings"]
    assert health["requests"] == sent(sb), "walkers' requests are carried back and counted"
    assert cdr_gets(sb) <= 40, "the days that lost rows were narrowed down, not read whole"

    # the next run finds nothing to heal, and says so in one count each again
    sb.reset_stats()
    load_account(sb, pipeline=pipeline)
    assert cdr_gets(sb) == 2
    assert last_cdr_health(pipeline)["warnings"] is None


def test_antbot_health_prints_the_runs_and_exits_10_after_a_warning(sandbox, monkeypatch, tmp_path):
    use_sandbox(monkeypatch, sandbox)
    db = str(tmp_path / "cli.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["load", "--duckdb", db]).exit_code == 0
    quiet = runner.invoke(app, ["health", "--duckdb", db])
    assert quiet.exit_code == 0, quiet.output
    assert "cdr" in quiet.output and "contacts" in quiet.output

    sandbox.advance(late_by_s=[10 * HOUR])
    assert runner.invoke(app, ["load", "--duckdb", db]).exit_code == 0
    warned = runner.invoke(app, ["health", "--duckdb", db, "--runs", "2"])
    assert warned.exit_code == 10, warned.output
    assert "warning: cdr: late rows reach 10.0 h behind the cursor" in warned.output
    assert "Traceback" not in warned.output

    missing = runner.invoke(app, ["health", "--duckdb", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_auto_lookback_widens_after_deep_late_rows(sandbox, tmp_path):
    pipeline, _ = load_account(sandbox, tmp_path / "auto.duckdb", lookback_hours="auto")
    assert last_cdr_health(pipeline)["lookback_s"] == 3 * HOUR
    sandbox.advance(late_by_s=[6 * HOUR])
    load_account(sandbox, pipeline=pipeline, lookback_hours="auto")
    health = last_cdr_health(pipeline)
    assert health["lookback_s"] == 3 * HOUR and health["healed_rows"] == 1
    assert "the automatic look-back widens to 9.0 h" in health["warnings"]

    sandbox.advance(late_by_s=[7 * HOUR])  # within the wider look-back: late, but neither healed nor warned
    load_account(sandbox, pipeline=pipeline, lookback_hours="auto")
    health = last_cdr_health(pipeline)
    assert health["lookback_s"] == pytest.approx(9 * HOUR)
    assert (health["late_rows"], health["healed_rows"], health["warnings"]) == (1, 0, None)
    assert health["max_lateness_s"] == pytest.approx(7 * HOUR, abs=1e-3)
    assert_equals_truth(pipeline, {"cdr": sandbox.truth("demo")["cdr"]})


def test_a_campaign_deleted_with_its_cdrs_is_reported_once(sandbox, tmp_path):
    pipeline, _ = load_account(sandbox, tmp_path / "del.duckdb", resources=["cdr"])
    begin = cursor_of(pipeline) - LOOKBACK
    midnight = begin.replace(hour=0, minute=0, second=0, microsecond=0)
    closed = (midnight - 7 * DAY, midnight)
    rows = sandbox.rows("cdr")
    newest = max(rows, key=lambda r: r["starting_date"])
    per_campaign: dict[int, int] = {}
    for row in rows:
        if row["campaign"] and closed[0] <= datetime.fromisoformat(row["starting_date"]) < closed[1]:
            per_campaign[row["campaign"]] = per_campaign.get(row["campaign"], 0) + 1
    campaign = max((c for c in per_campaign if c != newest["campaign"]), key=per_campaign.get)
    with login(sandbox) as client:
        client.delete(f"campaigns/{campaign}/").raise_for_status()

    load_account(sandbox, pipeline=pipeline, resources=["cdr"])
    health = last_cdr_health(pipeline)
    assert health["surplus_rows"] == per_campaign[campaign]
    assert "rows the server no longer has" in health["warnings"]
    load_account(sandbox, pipeline=pipeline, resources=["cdr"])
    health = last_cdr_health(pipeline)
    assert (health["surplus_rows"], health["warnings"]) == (0, None), "reported once, then remembered"


@pytest.mark.postgres
def test_health_on_postgres_heals_and_records(sandbox, postgres_schema):
    dsn, schema = postgres_schema
    pipeline = build_pipeline(destination="postgres", credentials=dsn, dataset=schema, pipeline_name="antbot_pg")
    load_account(sandbox, pipeline=pipeline, resources=["cdr", "campaigns"])
    cursor = cursor_of(pipeline)
    changed = sandbox.advance(late_by_s=[4 * HOUR, 26 * HOUR])
    load_account(sandbox, pipeline=pipeline, resources=["cdr", "campaigns"])
    assert_equals_truth(pipeline, {"cdr": sandbox.truth("demo")["cdr"]})
    health = last_cdr_health(pipeline)
    at = starts(sandbox)
    assert health["late_rows"] == health["healed_rows"] == 2
    assert health["max_lateness_s"] == pytest.approx(max((cursor - at[i]).total_seconds()
                                                         for i in changed["late_by_ids"]), abs=1e-3)
    assert {row["table_name"] for row in recent_health(pipeline, 1)} == {"cdr", "campaigns"}


KILLED_LOAD = """
import sys
from antbot_source.health import record
from antbot_source.pipeline import run_load
from antbot_source.destination.target import build_pipeline
import antbot_source.pipeline as loading
saved = record.save_unwritten
def save_and_wait(pipeline, rows):
    saved(pipeline, rows)
    if rows:
        print("recorded", flush=True)
        sys.stdin.readline()  # the test kills this process here
loading.save_unwritten = save_and_wait
run_load(build_pipeline(duckdb_path=sys.argv[1]), ["cdr"], cdr_window_rows=100, cdr_run_rows=300)
"""


def test_health_rows_of_a_killed_and_resumed_load_are_not_doubled(sandbox, tmp_path):
    acc = sandbox.accounts[0]
    env = {**os.environ, "SOURCES__ANTBOT__BASE_URL": sandbox.base_url,
           "SOURCES__ANTBOT__USERNAME": acc.username, "SOURCES__ANTBOT__PASSWORD": acc.password}
    db = tmp_path / "killed.duckdb"
    child = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, str(db)], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "recorded"
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "recorded", "a second bounded run recorded its health"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
        child.stdout.close()
        child.stdin.close()

    pipeline = build_pipeline(duckdb_path=db)
    assert cdr_state(pipeline)["pending"], "killed before the backlog was read"
    load_account(sandbox, pipeline=pipeline, resources=["cdr"], cdr_window_rows=100, cdr_run_rows=300)
    rows = recent_health(pipeline, 1000)
    keys = [(row["load_id"], row["table_name"]) for row in rows]
    assert len(keys) == len(set(keys)), "one row per run and table"
    assert sum(row["rows_loaded"] for row in rows) == sandbox.truth("demo")["cdr"]["count"]
    loads = destination_loads(pipeline)
    assert {row["load_id"] for row in rows} <= set(loads)
    assert len(loads) == len(rows) + 1, (
        "every run that loaded CDRs has one health row, each run's carried by the next run's package and "
        "the killed run's kept for the next load; one small run of its own after the next load's last run")
