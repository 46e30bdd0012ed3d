"""`antbot report`: one self-contained HTML file whose charts render in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from matplotlib import image
from support import use_sandbox
from typer.testing import CliRunner

from pipelines.cli import app

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium (Debian package `chromium`; .ci/run installs it)")
    return path


def run_chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with its own profile dir; its stdout."""
    done = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def make_report(sandbox, monkeypatch, tmp_path) -> tuple[Path, Path]:
    """(report.html, the DuckDB file) after `antbot load` from the sandbox and `antbot report`."""
    use_sandbox(monkeypatch, sandbox)
    database = tmp_path / "warehouse.duckdb"
    runner = CliRunner()
    loaded = runner.invoke(app, ["load", "--duckdb", str(database)])
    assert loaded.exit_code == 0, loaded.output
    out = tmp_path / "report.html"
    made = runner.invoke(app, ["report", "--duckdb", str(database), "--out", str(out)])
    assert made.exit_code == 0, made.output
    return out, database


def test_report_is_self_contained_and_renders_in_chromium(sandbox, monkeypatch, tmp_path) -> None:
    out, database = make_report(sandbox, monkeypatch, tmp_path)
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), (
        "the report must not fetch anything"
    )
    assert "<link" not in text and "@import" not in text
    assert text.count('src="data:image/svg+xml;base64,') == 8
    assert "<h2>Load health</h2>" in text and "<h2>Compliance</h2>" in text
    assert "08:00-17:00 Asia/Ho_Chi_Minh, at most 1 call(s) per number in 24 hours" in text
    with duckdb.connect(str(database), read_only=True) as con:
        attempts, asr = con.sql("SELECT attempts, asr FROM antbot.cdr_kpis").fetchall()[0]
        campaigns = [
            name for (name,) in con.sql("SELECT campaign_name FROM antbot.cdr_campaign_kpis").fetchall()
        ]
        ineffective = con.sql("SELECT phone_number, unblocked_forms FROM antbot.dnc_ineffective").fetchall()
    assert ineffective, "the sandbox world has DNC entries in another form than their contacts"
    for entry, forms in ineffective:
        assert f"<td>{entry}</td>" in text and forms in text
    assert f"{attempts:,}" in text and f"{asr:.1%}" in text
    for name in campaigns:
        assert (name or "(no campaign)") in text

    dom = run_chromium(tmp_path, "--dump-dom", out.as_uri())
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:500]
    total = re.search(r'data-charts-total="(\d+)"', body.group(0))
    rendered = re.search(r'data-charts-rendered="(\d+)"', body.group(0))
    assert total and rendered, body.group(0)
    assert int(total.group(1)) == 8
    assert int(rendered.group(1)) == 8, "every chart decoded with a non-zero natural size"

    shot = tmp_path / "report.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", out.as_uri())
    pixels = image.imread(str(shot))[..., :3]
    assert pixels.std() > 0.05, "the screenshot is not blank"
    # the charts' colours are there: the ASR bars' green and the ACD bars' blue
    assert ((abs(pixels - [0x2E / 255, 0x7D / 255, 0x32 / 255]) < 0.02).all(axis=-1)).sum() > 500
    assert ((abs(pixels - [0x15 / 255, 0x65 / 255, 0xC0 / 255]) < 0.02).all(axis=-1)).sum() > 500


def test_report_without_views_says_so(monkeypatch, tmp_path) -> None:
    database = tmp_path / "empty.duckdb"
    duckdb.connect(str(database)).close()
    result = CliRunner().invoke(app, ["report", "--duckdb", str(database), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "antbot views" in result.output
    assert not (tmp_path / "r.html").exists()
