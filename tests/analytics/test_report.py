"""`antbot report`: one self-contained HTML file whose charts render in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from matplotlib import image
from support import use_sandbox
from typer.testing import CliRunner

from antbot_source.analytics import charts
from antbot_source.analytics.report import read_frames
from pipelines.cli import app

CHARTS = 12  # SVG charts in the report
NEW_SECTIONS = ("Daily trend", "Gateways", "Survey answers", "Reminder calls")

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
    assert text.count('src="data:image/svg+xml;base64,') == CHARTS
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
    for name in filter(None, campaigns):
        assert name in text
    assert "(OTP calls)" in text and "(reminder calls)" in text and "(no campaign)" not in text

    dom = run_chromium(tmp_path, "--dump-dom", out.as_uri())
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:500]
    total = re.search(r'data-charts-total="(\d+)"', body.group(0))
    rendered = re.search(r'data-charts-rendered="(\d+)"', body.group(0))
    assert total and rendered, body.group(0)
    assert int(total.group(1)) == CHARTS
    assert int(rendered.group(1)) == CHARTS, "every chart decoded with a non-zero natural size"

    shot = tmp_path / "report.png"
    run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1366,3000", out.as_uri())
    pixels = image.imread(str(shot))[..., :3]
    assert pixels.std() > 0.05, "the screenshot is not blank"
    # the charts' colours are there: the ASR bars' green and the ACD bars' blue
    assert ((abs(pixels - [0x2E / 255, 0x7D / 255, 0x32 / 255]) < 0.02).all(axis=-1)).sum() > 500
    assert ((abs(pixels - [0x15 / 255, 0x65 / 255, 0xC0 / 255]) < 0.02).all(axis=-1)).sum() > 500


def html_rows(text: str, section: str) -> list[list[str]]:
    """The cells of each body row of the first table after the heading `section`."""
    after = text.split(f"<h2>{section}</h2>", 1)[1]
    table = after.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)]


def test_report_sections_with_data(start_sandbox, monkeypatch, tmp_path) -> None:
    """Gateways (a dead one), best hours (each with enough attempts), survey answers and reminder calls
    show what the database holds; a world large enough for some weekday-hours to reach the minimum."""
    out, database = make_report(start_sandbox(seed=11, cdrs=8_000), monkeypatch, tmp_path)
    text = out.read_text(encoding="utf-8")
    for section in NEW_SECTIONS:
        assert f"<h2>{section}</h2>" in text
    assert "no data yet" not in text
    with duckdb.connect(str(database), read_only=True) as con:
        dead = con.sql("SELECT gateway_name, SUM(attempts) FROM antbot.cdr_gateway_kpis GROUP BY ALL "
                       "HAVING SUM(answered) = 0").fetchall()
        malformed = con.sql("SELECT COUNT(*) FROM antbot.survey_answers WHERE malformed").fetchall()[0][0]
        calendars = dict(con.sql("SELECT calendar_name, SUM(alarms) FROM antbot.reminder_outcomes GROUP BY ALL")
                         .fetchall())
    assert len(dead) == 1, "the sandbox world has one gateway answering no call"
    gateways = html_rows(text, "Gateways")
    assert [row[4] for row in gateways if row[0] == dead[0][0]] == ["0.0%"]
    with duckdb.connect(str(database), read_only=True) as con:
        hours = con.sql("SELECT weekday_name, hour, attempts, asr FROM antbot.cdr_hourly_profile").df()
    best = html_rows(text, "By hour and weekday")
    ranked = hours[hours["attempts"] >= 50].nlargest(5, "asr")
    assert len(ranked) == 5 and (hours["attempts"] < 50).any(), "hours on both sides of the minimum"
    assert [(row[0], row[1], row[2]) for row in best] == [
        (w, f"{h:02d}:00", f"{n:,}") for w, h, n in zip(ranked["weekday_name"], ranked["hour"], ranked["attempts"])]
    assert f"{malformed:,} answers could not be read" in text and malformed > 0
    reminders = {row[0]: int(row[1].replace(",", "")) for row in html_rows(text, "Reminder calls")}
    assert reminders == calendars


@pytest.mark.filterwarnings("error::UserWarning")  # an empty heatmap makes matplotlib warn on the user's terminal
def test_report_sections_without_data(sandbox, monkeypatch, tmp_path) -> None:
    """A dataset whose tables hold no calls, answers or reminders: every section renders, saying "no data yet"."""
    _, database = make_report(sandbox, monkeypatch, tmp_path)
    with duckdb.connect(str(database)) as con:
        for table in ("cdr", "alarms", "load_health"):
            con.execute(f"DELETE FROM antbot.{table}")
        con.execute("UPDATE antbot.subscribers SET collected_data = NULL")
    out = tmp_path / "empty.html"
    made = CliRunner().invoke(app, ["report", "--duckdb", str(database), "--out", str(out)])
    assert made.exit_code == 0, made.output
    text = out.read_text(encoding="utf-8")
    for section in NEW_SECTIONS:
        assert f"<h2>{section}</h2>" in text
    def part(section: str) -> str:
        return text.split(f"<h2>{section}</h2>", 1)[1].split("<h2>", 1)[0]

    for section in ("Campaigns", "Gateways", "Reminder calls", "Load health"):
        assert "<table>" not in part(section), f"{section}: an empty table under a chart saying no data yet"
    assert '<p class="empty">no data yet</p>' in part("By hour and weekday")  # the best hours
    assert "No survey answers yet." in part("Survey answers")
    assert text.count('src="data:image/svg+xml;base64,') == CHARTS
    with duckdb.connect(str(database), read_only=True) as con:
        frames = read_frames(lambda sql: con.sql(sql).df(), "antbot")
    for chart, frame in (
        (charts.daily_trend, "trend"),
        (charts.gateway_outcomes, "gateways"),
        (charts.survey_answers, "survey"),
        (charts.reminder_outcomes, "reminders"),
        (charts.asr_acd_by_campaign, "campaign_kpis"),
        (charts.daily_by_campaign, "daily"),
        (charts.hourly_heatmap, "hourly"),
        (charts.hangup_causes, "causes"),
        (charts.lateness_over_runs, "health"),
        (charts.breaches_by_day, "compliance_daily"),
    ):
        assert frames[frame].empty, frame
        drawn = [t.get_text() for ax in chart(frames[frame]).axes for t in ax.texts]
        assert any(t.startswith("no data yet") for t in drawn), chart.__name__
    dom = run_chromium(tmp_path, "--dump-dom", out.as_uri())
    assert f'data-charts-rendered="{CHARTS}"' in dom


def test_no_data_chart_is_small_and_says_so() -> None:
    fig = charts.daily_trend(pd.DataFrame(columns=["day", "call_kind", "attempts", "answered"]))
    assert [t.get_text() for t in fig.axes[0].texts] == ["no data yet"]
    assert fig.get_size_inches()[1] < 2


def test_report_without_views_says_so(monkeypatch, tmp_path) -> None:
    database = tmp_path / "empty.duckdb"
    duckdb.connect(str(database)).close()
    result = CliRunner().invoke(app, ["report", "--duckdb", str(database), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "antbot views" in result.output
    assert not (tmp_path / "r.html").exists()
