"""`antbot demo` writes antbot_demo.duckdb with every table filled and prints the headline numbers."""

from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from antbot_source.settings import TABLE_NAMES
from pipelines.cli import app


def test_demo_fills_every_table_and_prints_headlines(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--cdrs", "1000"])
    assert result.exit_code == 0, result.output
    assert "answer rate" in result.output and "average talk time" in result.output
    with duckdb.connect(str(tmp_path / "antbot_demo.duckdb"), read_only=True) as con:
        counts = {t: con.execute(f"SELECT count(*) FROM antbot.{t}").fetchall()[0][0] for t in TABLE_NAMES}
        calls = con.execute("SELECT count(*) FROM antbot.cdr WHERE leg_type = 1").fetchall()[0][0]
    assert all(n > 0 for n in counts.values()), counts
    assert f"calls (A-legs): {calls:,}" in result.output


def test_the_next_commands_the_demo_prints_work_as_printed(tmp_path):
    import os
    import shlex
    import subprocess
    import sys

    from forked import antbot
    from support import ROOT

    result = CliRunner().invoke(app, ["demo", "--cdrs", "1000"])
    assert result.exit_code == 0, result.output
    printed = result.output.split("next")[-1]
    commands = [line for line in printed.splitlines() if line.startswith(("antbot ", "python "))]
    assert len(commands) == 4, printed
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in commands:
        program, *args = shlex.split(command)
        done = (antbot(*args, env=env, cwd=tmp_path) if program == "antbot" else
                subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=240, check=False))
        assert done.returncode == 0, (command, done.stderr)
    assert (tmp_path / "report.html").exists()
