"""notebooks/cdr_analysis.ipynb runs top to bottom on a database loaded from the sandbox."""

from __future__ import annotations

import duckdb
import nbformat
from nbclient import NotebookClient
from support import ROOT, use_sandbox
from typer.testing import CliRunner

from pipelines.cli import app

NOTEBOOK = ROOT / "notebooks" / "cdr_analysis.ipynb"


def test_notebook_runs_on_a_loaded_database(sandbox, monkeypatch, tmp_path) -> None:
    use_sandbox(monkeypatch, sandbox)
    database = tmp_path / "warehouse.duckdb"
    loaded = CliRunner().invoke(app, ["load", "--duckdb", str(database)])
    assert loaded.exit_code == 0, loaded.output
    with duckdb.connect(str(database), read_only=True) as con:
        kpi = con.sql("SELECT attempts, answered, asr FROM antbot.cdr_kpis").fetchall()
    assert len(kpi) == 1, kpi
    attempts, answered, asr = kpi[0]
    assert attempts > answered > 0, "the sandbox world has answered and unanswered calls"

    monkeypatch.setenv("ANTBOT_DUCKDB", str(database))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # errors are recorded in the cells' outputs instead of stopping the run, so that every cell runs
    # and every error is reported below
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "every code cell ran, in order"
    errors = [f"cell {n}: {out.ename}: {out.evalue}" for n, cell in enumerate(code)
              for out in cell.outputs if out.output_type == "error"]
    assert errors == []

    def outputs_of(marker: str) -> list:
        (cell,) = [cell for cell in code if marker in cell.source]
        return cell.outputs

    def stdout_of(marker: str) -> list[str]:
        return [out.text for out in outputs_of(marker) if out.output_type == "stream" and out.name == "stdout"]

    # the first cell names the database the test loaded
    assert stdout_of("def find_database") == [f"database {database}, dataset antbot\n"]
    # the headline line shows the KPIs the database holds
    headline = "".join(stdout_of("cdr_kpis"))
    assert headline.startswith(f"{attempts:,} attempts, {answered:,} answered: ASR {asr:.1%}, NER "), headline
    # twelve charts, one per chart cell: the daily trend, KPIs by campaign, gateways, by day, the hour-by-weekday
    # heatmap, hangup causes, survey answers, reminder calls, the funnel, counted calls by local hour and breaches
    # by day (compliance), and the lateness of call records
    chart_cells = ("daily_trend", "asr_acd_by_campaign", "gateway_outcomes", "daily_by_campaign", "hourly_heatmap",
                   "hangup_causes(", "survey_answers", "reminder_outcomes", "campaign_funnel", "calls_by_local_hour",
                   "breaches_by_day", "lateness_over_runs")
    images = [out for cell in code for out in cell.outputs if "image/png" in out.get("data", {})]
    assert len(images) == len(chart_cells)
    for chart in chart_cells:
        images = [out for out in outputs_of(f"charts.{chart}") if "image/png" in out.get("data", {})]
        assert len(images) == 1, chart
    # the best hours are ranked among hours with enough attempts only
    best = [out for out in outputs_of("nlargest") if out.output_type == "display_data"]
    assert len(best) == 1 and "attempts" in best[0]["data"]["text/plain"]
    with duckdb.connect(str(database), read_only=True) as con:
        ranked = con.sql("SELECT COUNT(*) FROM antbot.cdr_hourly_profile WHERE sample_ok").fetchall()[0][0]
    assert (("Empty DataFrame" in best[0]["data"]["text/plain"]) == (ranked == 0))
