"""notebooks/cdr_analysis.ipynb runs top to bottom on a database loaded from the sandbox."""

from __future__ import annotations

from pathlib import Path

import duckdb
import nbformat
from nbclient import NotebookClient
from support import use_sandbox
from typer.testing import CliRunner

from pipelines.cli import app

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "cdr_analysis.ipynb"


def test_notebook_runs_on_a_loaded_database(sandbox, monkeypatch, tmp_path) -> None:
    use_sandbox(monkeypatch, sandbox)
    database = tmp_path / "warehouse.duckdb"
    loaded = CliRunner().invoke(app, ["load", "--duckdb", str(database)])
    assert loaded.exit_code == 0, loaded.output
    with duckdb.connect(str(database), read_only=True) as con:
        attempts, answered = con.sql("SELECT attempts, answered FROM antbot.cdr_kpis").fetchall()[0]

    monkeypatch.setenv("ANTBOT_DUCKDB", str(database))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()  # raises CellExecutionError on the first failing cell

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) == 5, "KPIs by campaign, by day, hour-by-weekday heatmap, hangup causes, funnel"
    texts = "\n".join(out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in outputs)
    assert f"database {database}" in texts, "the notebook read the database the test loaded"
    assert str(attempts) in texts and str(answered) in texts, "the headline KPIs are shown"
