"""The cron line of docs/scheduling.md and the GitHub Actions example, run as written (paths and secrets filled in)
twice each; between the runs the pipeline's working dir is gone, as on a new runner, and the second
run still reads only the look-back: the state comes back from the destination."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest
import yaml
from support import ROOT, two_scheduled_runs

from antbot_source.destination.access import dataset_pipeline
from antbot_source.destination.target import build_pipeline
from antbot_source.settings import DEFAULT_DUCKDB

SCHEDULING = (ROOT / "docs" / "scheduling.md").read_text()
CRON_LINE = re.search(r"```cron\n(.+?)\n```", SCHEDULING).group(1)
CRON_SECRETS = re.search(r"## cron\n.*?```toml\n(.+?)```", SCHEDULING, re.DOTALL).group(1)
WORKFLOW = yaml.safe_load((ROOT / "docs" / "github-actions-antbot-load.yml").read_text())
ANTBOT = str(Path(sys.executable).with_name("antbot"))  # this environment's `antbot`


def summary_rows(output: str) -> dict[str, int]:
    """Rows read per table in the summary `antbot load` printed in a log (time-stamped lines)."""
    return {t: int(n.replace(",", "")) for t, n in re.findall(r"^\S+ antbot load: (\w+): ([\d,]+) rows read", output, re.MULTILINE)}


def _bare_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """What cron or a runner starts a command with: a PATH, a HOME, DLT_DATA_DIR (a root user's
    default would be /var/dlt), and `settings`."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "DLT_DATA_DIR": str(tmp_path / "dlt"), **settings}


def test_the_readme_cron_line_twice_with_the_pipeline_dir_deleted_between(sandbox, tmp_path):
    *schedule, command = CRON_LINE.split(None, 5)
    assert schedule == ["*/15", "*", "*", "*", "*"], CRON_LINE
    srv = tmp_path / "srv"
    (srv / ".dlt").mkdir(parents=True)
    acc = sandbox.accounts[0]
    # the secrets.toml of docs/scheduling.md with the sandbox's account, which stands in for the AntBot service
    # (smaller pages make the CDR requests countable)
    (srv / ".dlt" / "secrets.toml").write_text(
        CRON_SECRETS.replace("/srv/antbot", str(srv)).replace("you@example.com", acc.username)
        .replace('password = "..."', f'password = "{acc.password}"')
        .replace("[sources.antbot]\n", f'[sources.antbot]\nbase_url = "{sandbox.base_url}"\npage_size = 100\n'))
    command = command.replace("/srv/antbot", str(srv)).replace(".venv/bin/antbot", ANTBOT)
    log = srv / "load.log"
    pipeline_dir = tmp_path / "dlt" / "pipelines" / "antbot_data"  # named after its DuckDB file (secrets.toml)

    def run(i: int) -> dict[str, int]:
        if i:
            assert pipeline_dir.is_dir()
            shutil.rmtree(pipeline_dir)
        start = log.stat().st_size if log.exists() else 0
        done = subprocess.run(["sh", "-c", command], env=_bare_env(tmp_path), capture_output=True, text=True,
                              timeout=300, check=False)
        output = log.read_bytes()[start:].decode()
        assert done.returncode == 0, output[-3000:]
        assert acc.password not in output
        return summary_rows(output)

    two_scheduled_runs(sandbox, run, lambda: dataset_pipeline(duckdb_path=srv / DEFAULT_DUCKDB, read_only=True))


@pytest.mark.postgres
def test_the_github_actions_example_twice_on_fresh_runners_into_postgres(sandbox, tmp_path, postgres_database):
    on = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["schedule"] == [{"cron": "*/15 * * * *"}], on
    assert WORKFLOW["concurrency"]["cancel-in-progress"] is False, "runs queue, never overlap or cancel"
    job = WORKFLOW["jobs"]["load"]
    step = next(s for s in job["steps"] if s.get("name") == "Load")
    acc = sandbox.accounts[0]
    secrets = {"ANTBOT_USERNAME": acc.username, "ANTBOT_PASSWORD": acc.password,
               "ANTBOT_WAREHOUSE_DSN": postgres_database}
    env = {k: re.sub(r"\$\{\{ secrets\.(\w+) \}\}", lambda m: secrets[m.group(1)], str(v))
           for k, v in job["env"].items()}
    # the sandbox stands in for the AntBot service; smaller pages make the CDR requests countable
    env.update(SOURCES__ANTBOT__BASE_URL=sandbox.base_url, SOURCES__ANTBOT__PAGE_SIZE="100")

    def run(i: int) -> dict[str, int]:
        runner = tmp_path / f"runner-{i}"  # a new runner each time: no pipeline dir, an empty workspace
        runner.mkdir()
        path = f"{Path(ANTBOT).parent}:/usr/bin:/bin"
        done = subprocess.run(["bash", "-c", step["run"]], cwd=runner, capture_output=True, text=True, timeout=300,
                              check=False, env=_bare_env(runner, **env, PATH=path))
        assert done.returncode == 0, done.stderr[-3000:]
        assert acc.password not in done.stdout + done.stderr
        return summary_rows(done.stdout)

    check = build_pipeline(destination="postgres", credentials=postgres_database, pipeline_name="check",
                           pipelines_dir=tmp_path / "check")
    two_scheduled_runs(sandbox, run, lambda: nullcontext(check))
