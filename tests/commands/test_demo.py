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
