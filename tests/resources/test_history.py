"""A careless START_DATE never loses history: one in the future is refused before anything is read, and one
moved earlier than the history a dataset holds backfills the difference on the next run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from forked import antbot
from support import ROOT, assert_equals_truth, load_account, use_sandbox

from antbot_source.errors import ConfigError


def _starts(sb) -> list[datetime]:
    return sorted(datetime.fromisoformat(r["starting_date"]) for r in sb.rows("cdr"))


def test_a_start_date_moved_earlier_backfills_what_the_dataset_lacks(sandbox, tmp_path):
    starts = _starts(sandbox)
    middle = starts[len(starts) * 3 // 4]
    pipeline, summary = load_account(sandbox, tmp_path / "w.duckdb", resources=["cdr"], start_date=middle.isoformat())
    held = summary.rows.get("cdr", 0)
    assert 0 < held == sum(1 for s in starts if s >= middle) < len(starts)

    # corrected: history from before every call; the next run reads [start, middle) and then goes on live
    _, summary = load_account(sandbox, pipeline=pipeline, resources=["cdr"],
                              start_date=(starts[0] - timedelta(days=1)).isoformat())
    assert_equals_truth(pipeline, {"cdr": sandbox.truth("demo")["cdr"]})
    state = pipeline.state["sources"]["antbot"]["resources"]["cdr"]
    assert datetime.fromisoformat(state["history_from"]) == starts[0] - timedelta(days=1)

    # a third run with the same setting reads no history again: only the look-back's counts
    sandbox.reset_stats()
    _, summary = load_account(sandbox, pipeline=pipeline, resources=["cdr"],
                              start_date=(starts[0] - timedelta(days=1)).isoformat())
    assert summary.rows.get("cdr", 0) == 0
    cdr_gets = sum(n for key, n in sandbox.stats()["requests"].items() if key.startswith("GET ") and "/cdr/" in key)
    assert cdr_gets <= 3, sandbox.stats()["requests"]


def test_a_start_date_in_the_future_is_refused_before_any_request(sandbox, tmp_path):
    future = datetime.now(UTC) + timedelta(days=365)
    sandbox.reset_stats()
    with pytest.raises(ConfigError, match="in the future"):
        load_account(sandbox, tmp_path / "w.duckdb", resources=["cdr"], start_date=future.isoformat())
    assert not any("/cdr/" in key for key in sandbox.stats()["requests"])


@pytest.mark.parametrize(("setting", "value", "part"), [
    ("SOURCES__ANTBOT__START_DATE", "2999-01-01T00:00:00+07:00", "in the future"),
    ("SOURCES__ANTBOT__VERIFY_DAYS", "-1", "verify_days: between 0 and"),
    ("SOURCES__ANTBOT__VERIFY_DAYS", "1000000000", "verify_days: between 0 and"),
])
def test_settings_that_would_move_the_cursor_past_history_exit_2_in_one_line(sandbox, tmp_path, monkeypatch,
                                                                             setting, value, part):
    use_sandbox(monkeypatch, sandbox)
    monkeypatch.setenv(setting, value)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    done = antbot("load", "--resources", "cdr", "--duckdb", "w.duckdb", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and part in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "w.duckdb").exists() or _no_cdr(tmp_path / "w.duckdb")


def test_since_in_the_future_exits_2(sandbox, tmp_path, monkeypatch):
    use_sandbox(monkeypatch, sandbox)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    done = antbot("load", "--resources", "cdr", "--duckdb", "w.duckdb", "--since", future, cwd=tmp_path)
    assert done.returncode == 2 and "in the future" in done.stderr, done.stderr


def _no_cdr(path) -> bool:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'cdr'").fetchall()[0][0]
