"""`cdr` loads against the sandbox: exact against its truth through new, late and live-inserted rows,
offsets and the naive-filter trap, resumed backfills, `--since/--until`, and an ignored page_size."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import psutil
import pyarrow as pa
import pytest
from support import ROOT, assert_equals_truth, client_config, destination_keys, snapshot

from antbot_source.destination.target import build_pipeline
from antbot_source.errors import AuthError
from antbot_source.pipeline import LoadSummary, run_load
from antbot_source.resources.cdr.resource import CdrTuning, read_windows
from antbot_source.resources.cdr.windows import RunPlan, Window
from antbot_source.sandbox import Habits

LOOKBACK = timedelta(hours=3)


def load_cdr(sb: Any, pipeline: dlt.Pipeline, **source_args: Any) -> LoadSummary:
    acc = sb.accounts[0]
    return run_load(pipeline, ["cdr"], base_url=sb.base_url, username=acc.username, password=acc.password,
                    **source_args)


def cdr_state(pipeline: dlt.Pipeline) -> dict[str, Any]:
    return dict(pipeline.state["sources"]["antbot"]["resources"]["cdr"])


def api_starts(sb: Any) -> dict[int, datetime]:
    """starting_date of every CDR as the API renders it, parsed to UTC."""
    return {r["id"]: datetime.fromisoformat(r["starting_date"]).astimezone(UTC) for r in sb.rows("cdr")}


def held_starts(pipeline: dlt.Pipeline) -> dict[int, datetime]:
    with pipeline.sql_client() as client:
        rows = client.execute_sql(f"SELECT id, starting_date FROM {client.make_qualified_table_name('cdr')}")
    return {i: ts.astimezone(UTC) for i, ts in rows}


def cdr_truth(sb: Any) -> dict[str, Any]:
    return {"cdr": sb.truth("demo")["cdr"]}


def test_first_load_is_exact_and_a_second_load_adds_nothing(sandbox, tmp_path):
    pipeline = build_pipeline(duckdb_path=tmp_path / "cdr.duckdb")
    first = load_cdr(sandbox, pipeline, cdr_window_rows=150, cdr_run_rows=500)
    assert first.runs > 1, "history was read in several bounded runs"
    assert_equals_truth(pipeline, cdr_truth(sandbox))
    assert first.rows["cdr"] == sandbox.truth("demo")["cdr"]["count"], "each CDR extracted once"
    assert not (Path(pipeline.working_dir) / "cdr_files").exists(), "the walkers' files are gone"
    state = cdr_state(pipeline)
    assert not state["pending"]
    assert datetime.fromisoformat(state["cursor"]) == max(held_starts(pipeline).values())

    before = snapshot(pipeline, ("cdr",))
    second = load_cdr(sandbox, pipeline)
    assert snapshot(pipeline, ("cdr",)) == before
    assert second.rows.get("cdr", 0) < first.rows["cdr"] / 4, "a repeated load re-reads only the look-back"


def test_new_and_late_cdrs_reach_the_destination(sandbox, tmp_path):
    pipeline = build_pipeline(duckdb_path=tmp_path / "cdr.duckdb")
    load_cdr(sandbox, pipeline)
    cursor = datetime.fromisoformat(cdr_state(pipeline)["cursor"])
    changed = sandbox.advance(new_cdrs=40, late_cdrs=15)
    starts = api_starts(sandbox)
    late = [starts[i] for i in changed["late_cdr_ids"]]
    assert late and all(cursor - LOOKBACK < t < cursor for t in late), "late rows fall behind the cursor"

    load_cdr(sandbox, pipeline)
    assert_equals_truth(pipeline, cdr_truth(sandbox))
    held = destination_keys(pipeline, ("cdr",))["cdr"]["ids"]
    assert set(changed["late_cdr_ids"]) | set(changed["new_cdr_ids"]) <= held


def test_rows_inserted_during_the_walk_are_neither_lost_nor_doubled(start_sandbox, tmp_path):
    sb = start_sandbox(seed=5, cdrs=1_500, habits=Habits(live_inserts_per_page=3, late_cdrs_per_page=1))
    before = sb.truth("demo")["cdr"]["ids"]
    pipeline = build_pipeline(duckdb_path=tmp_path / "cdr.duckdb")
    load_cdr(sb, pipeline, page_size=40, cdr_window_rows=300)
    during = sb.truth("demo")["cdr"]["ids"]
    held = destination_keys(pipeline, ("cdr",))["cdr"]
    assert held["count"] == len(held["ids"]), "no CDR doubled"
    assert before <= held["ids"], "no CDR that existed before the load was lost"
    assert held["ids"] <= during
    inserted = during - before
    assert len(inserted) > 100 and inserted & held["ids"], "rows were inserted while walking, and read"

    # once inserts stop, a live load catches every inserted row the look-back can reach
    sb.set_habits(live_inserts_per_page=0, late_cdrs_per_page=0)
    reach = datetime.fromisoformat(cdr_state(pipeline)["cursor"]) - LOOKBACK
    load_cdr(sb, pipeline)
    held = destination_keys(pipeline, ("cdr",))["cdr"]
    assert held["count"] == len(held["ids"])
    starts = api_starts(sb)
    missing = sb.truth("demo")["cdr"]["ids"] - held["ids"]
    assert all(i in inserted and starts[i] < reach for i in missing), (
        "only rows inserted during the walk with an old starting_date (beyond any look-back) can be missing"
    )


def test_plus_seven_offsets_and_the_naive_filter_trap_miss_nothing(start_sandbox, tmp_path):
    sb = start_sandbox(seed=3, cdrs=1_200, habits=Habits(vn_offset=True, naive_as_local=True))
    starts = api_starts(sb)
    assert all(r["starting_date"].endswith("+07:00") for r in sb.rows("cdr")[:5])
    # a backfill whose edges fall where a naive (Vietnam-time) filter would be 7 hours off
    ordered = sorted(starts.values())
    since, until = ordered[200], ordered[900]
    expected = {i for i, t in starts.items() if since <= t < until}
    pipeline = build_pipeline(duckdb_path=tmp_path / "cdr.duckdb")
    load_cdr(sb, pipeline, since=since.astimezone(UTC).isoformat(), until=until.isoformat(), cdr_window_rows=100)
    held = held_starts(pipeline)
    assert set(held) == expected
    assert held == {i: starts[i] for i in expected}, "timestamps are the API's instants, in UTC"

    load_cdr(sb, pipeline)
    assert held_starts(pipeline) == starts


def test_since_until_backfill_does_not_move_the_live_cursor(sandbox, tmp_path):
    pipeline = build_pipeline(duckdb_path=tmp_path / "cdr.duckdb")
    load_cdr(sandbox, pipeline)
    live = cdr_state(pipeline)
    starts = sorted(api_starts(sandbox).values())
    since, until = starts[100], starts[600]
    backfill = load_cdr(sandbox, pipeline, since=since.isoformat(), until=until.isoformat())
    assert backfill.rows["cdr"] == sum(1 for t in starts if since <= t < until)
    after = cdr_state(pipeline)
    assert (after["cursor"], after["read_until"]) == (live["cursor"], live["read_until"])
    assert_equals_truth(pipeline, cdr_truth(sandbox))

    sandbox.advance(new_cdrs=20, late_cdrs=5)
    load_cdr(sandbox, pipeline)
    assert_equals_truth(pipeline, cdr_truth(sandbox))


def test_a_server_ignoring_page_size_still_gives_exact_results(start_sandbox, tmp_path):
    sb = start_sandbox(seed=4, cdrs=300, habits=Habits(fixed_page_size=7))
    pipeline = build_pipeline(duckdb_path=tmp_path / "cdr.duckdb")
    sb.reset_stats()
    load_cdr(sb, pipeline, cdr_window_rows=100)
    assert_equals_truth(pipeline, cdr_truth(sb))
    assert sb.stats()["requests"]["GET /rest-api/cdr/"] >= sb.truth("demo")["cdr"]["count"] / 7


KILLED_LOAD = """
import sys
from antbot_source.pipeline import iter_runs, build_source
from antbot_source.destination.target import build_pipeline
pipeline = build_pipeline(duckdb_path=sys.argv[1])
make = lambda selected, tally: build_source(["cdr"], tally=tally, cdr_window_rows=100, cdr_run_rows=300)
for _ in iter_runs(pipeline, make, ["cdr"]):
    print("committed", flush=True)
    sys.stdin.readline()  # wait for the test: it kills this process here
"""


def test_a_killed_backfill_resumes_without_rereading_finished_windows(sandbox, monkeypatch, tmp_path):
    acc = sandbox.accounts[0]
    env = {**os.environ, "SOURCES__ANTBOT__BASE_URL": sandbox.base_url,
           "SOURCES__ANTBOT__USERNAME": acc.username, "SOURCES__ANTBOT__PASSWORD": acc.password}
    db = tmp_path / "cdr.duckdb"
    child = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, str(db)], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "committed"
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "committed", "a second bounded run finished"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
        child.stdout.close()
        child.stdin.close()
    assert child.returncode == -signal.SIGKILL

    pipeline = build_pipeline(duckdb_path=db)
    state = cdr_state(pipeline)
    assert state["pending"], "the backfill was killed before it caught up"
    resume_from = datetime.fromisoformat(state["resume_from"])
    loaded_before = destination_keys(pipeline, ("cdr",))["cdr"]["count"]
    assert loaded_before > 0

    resumed = load_cdr(sandbox, pipeline, cdr_window_rows=100, cdr_run_rows=300)
    assert_equals_truth(pipeline, cdr_truth(sandbox))
    remaining = sum(1 for t in held_starts(pipeline).values() if t >= resume_from)
    assert resumed.rows["cdr"] == remaining, "only the windows after the last committed run were read"
    assert loaded_before + remaining == sandbox.truth("demo")["cdr"]["count"]


def _walker_processes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "antbot_source.resources.cdr.walk" in " ".join(p.cmdline())]


def test_walkers_stop_when_the_reader_stops_early_and_on_an_error(sandbox, tmp_path):
    now = datetime.now(UTC)
    plan = RunPlan(tuple(Window(now - timedelta(days=d + 1), now - timedelta(days=d)) for d in range(60)),
                   None, None, now)
    reader = read_windows(client_config(sandbox), plan, CdrTuning(file_rows=10), str(tmp_path))
    assert next(reader).rows >= 10
    assert len(_walker_processes()) == 2
    reader.close()  # what dlt does with a resource it stops early
    assert _walker_processes() == []

    with pytest.raises(AuthError):
        list(read_windows(client_config(sandbox, password="wrong"), plan, CdrTuning(), str(tmp_path)))
    assert _walker_processes() == []


def _walker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cdr-walker"]


def test_a_plan_of_few_rows_is_walked_on_threads_of_this_process_and_a_bigger_one_by_walker_processes(
        sandbox, tmp_path):
    truth = sandbox.truth("demo")["cdr"]
    everything = Window(datetime(2000, 1, 1, tzinfo=UTC), None)
    plan = RunPlan((everything,), None, None, datetime.now(UTC), rows={everything: truth["count"]})
    for in_process_rows, threads, processes in ((truth["count"], 1, 0), (truth["count"] - 1, 0, 1)):
        reader = read_windows(client_config(sandbox), plan, CdrTuning(file_rows=100, in_process_rows=in_process_rows),
                              str(tmp_path))
        ids: list[int] = []
        for part in reader:
            assert (len(_walker_threads()), len(_walker_processes())) == (threads, processes)
            ids += pa.ipc.open_file(part.path).read_all().column("id").to_pylist()
        assert sorted(ids) == sorted(truth["ids"])
        assert _walker_threads() == [] and _walker_processes() == []
