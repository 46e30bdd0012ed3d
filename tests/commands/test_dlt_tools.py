"""dlt's own tools on what `antbot load` wrote, and the README's plain-dlt example as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from forked import antbot
from support import ROOT

README = (ROOT / "README.md").read_text()
DLT = str(Path(sys.executable).with_name("dlt"))


def _env(sb, tmp_path) -> dict[str, str]:
    acc = sb.accounts[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update({"SOURCES__ANTBOT__BASE_URL": sb.base_url, "SOURCES__ANTBOT__USERNAME": acc.username,
                "SOURCES__ANTBOT__PASSWORD": acc.password, "PYTHONPATH": str(ROOT),
                "DLT_DATA_DIR": str(tmp_path / "dlt"), "RUNTIME__DLTHUB_TELEMETRY": "false"})
    return env


def _python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=240, check=False)


def test_the_readme_example_of_a_users_own_pipeline_runs_as_written(sandbox, tmp_path):
    section = README.split("## Using the source in your own dlt pipeline")[1].split("\n## ")[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    done = _python(code, _env(sandbox, tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ANSWER" in done.stdout and "load package(s) were loaded" in done.stdout
    assert (tmp_path / "antbot_data.duckdb").exists() and not (tmp_path / "antbot.duckdb").exists()


def test_dlt_attach_and_dlt_pipeline_info_find_what_antbot_load_wrote(sandbox, tmp_path):
    env = _env(sandbox, tmp_path)
    load = antbot("load", "--resources", "campaigns,cdr", env=env, cwd=tmp_path)
    assert load.returncode == 0, load.stderr
    attached = _python("import dlt\n"
                       "ds = dlt.attach('antbot_data').dataset()\n"
                       "print('rows', len(ds.cdr.df()), len(ds['campaigns'].df()))\n"
                       "print('arrow', sum(t.num_rows for t in ds.cdr.iter_arrow(100)),"
                       " ds.ibis().table('cdr', database='antbot').to_pyarrow().num_rows)\n"
                       "print('ibis', ds.ibis().table('campaigns', database='antbot').count().execute())\n",
                       env, tmp_path)
    assert attached.returncode == 0, attached.stderr
    truth = sandbox.truth("demo")
    cdrs, campaigns = str(truth["cdr"]["count"]), str(truth["campaigns"]["count"])
    assert attached.stdout.split() == ["rows", cdrs, campaigns, "arrow", cdrs, cdrs, "ibis", campaigns]
    assert not (tmp_path / "antbot.duckdb").exists(), "attach looked for another file"
    info = subprocess.run([DLT, "pipeline", "antbot_data", "info"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert info.returncode == 0, info.stderr
    assert "dataset_name: antbot" in info.stdout and "destination_type: dlt.destinations.duckdb" in info.stdout
