"""Every command finds the data where `antbot load` put it (options, else dlt's settings, else defaults),
and `antbot health --max-age` tells a scheduler that stopped."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
from forked import antbot
from support import ROOT


def _antbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return antbot(*args, env=env, cwd=cwd)


def test_views_report_health_and_compliance_read_the_file_and_dataset_dlts_settings_name(sandbox, tmp_path):
    acc = sandbox.accounts[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION"))}
    env.update({"SOURCES__ANTBOT__BASE_URL": sandbox.base_url, "SOURCES__ANTBOT__USERNAME": acc.username,
                "SOURCES__ANTBOT__PASSWORD": acc.password, "PYTHONPATH": str(ROOT),
                "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "calls.duckdb"), "DATASET_NAME": "calls_data"})
    loaded = _antbot("load", env=env, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert not (tmp_path / "antbot_data.duckdb").exists()
    with duckdb.connect(str(tmp_path / "calls.duckdb"), read_only=True) as con:
        schemas = {row[0] for row in con.sql("SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()}
    assert "calls_data" in schemas and "antbot" not in schemas, schemas
    for command, codes in ((["views"], {0}), (["report", "--out", "r.html"], {0}), (["health", "--max-age", "1"], {0}),
                           (["compliance"], {0, 11})):
        done = _antbot(*command, env=env, cwd=tmp_path)
        assert done.returncode in codes, (command, done.stderr)
    assert (tmp_path / "r.html").stat().st_size > 10_000
    assert not (tmp_path / "antbot_data.duckdb").exists(), "a command looked for the default file"

    stale = _antbot("health", "--max-age", "0", env=env, cwd=tmp_path)
    assert stale.returncode == 10, stale.stderr
    assert "more than --max-age 0 h: is the scheduler running?" in stale.stderr
