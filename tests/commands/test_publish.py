"""The BI path: a published read-only copy that a dashboard holds open never blocks a load, and shows the
new rows once it is opened again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from forked import antbot
from support import ROOT

# a dashboard: opens the published file read-only, says how many CDRs it sees, keeps it open until told,
# then opens it again and says how many it sees now
DASHBOARD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM antbot.cdr").fetchall()[0][0], flush=True)
sys.stdin.readline()
print(con.execute("SELECT count(*) FROM antbot.cdr").fetchall()[0][0], flush=True)
con.close()
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM antbot.cdr").fetchall()[0][0], con.execute(
    "SELECT count(*) FROM antbot.cdr_campaign_kpis").fetchall()[0][0] > 0, flush=True)
"""


def _env(sb) -> dict[str, str]:
    acc = sb.accounts[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION"))}
    env.update({"SOURCES__ANTBOT__BASE_URL": sb.base_url, "SOURCES__ANTBOT__USERNAME": acc.username,
                "SOURCES__ANTBOT__PASSWORD": acc.password, "PYTHONPATH": str(ROOT)})
    return env


def _load(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return antbot("load", "--wait", "0", *args, env=env, cwd=cwd)


def test_a_dashboard_holding_the_published_copy_blocks_no_load_and_sees_new_rows_on_reopening(sandbox, tmp_path):
    env = _env(sandbox)
    first = _load(env, tmp_path, "--publish", "bi.duckdb")
    assert first.returncode == 0, first.stderr
    assert f"published a read-only copy at {tmp_path / 'bi.duckdb'}" in first.stderr
    before = sandbox.truth("demo")["cdr"]["count"]
    dashboard = subprocess.Popen([sys.executable, "-c", DASHBOARD, str(tmp_path / "bi.duckdb")], text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert int(dashboard.stdout.readline()) == before
        for _ in range(2):  # two scheduled loads while the dashboard holds the file; --wait 0: no waiting
            sandbox.advance(new_cdrs=25)
            again = _load(env, tmp_path, "--publish", "bi.duckdb")
            assert again.returncode == 0, again.stderr
        after = sandbox.truth("demo")["cdr"]["count"]
        assert after == before + 50
        dashboard.stdin.write("\n")
        dashboard.stdin.flush()
        assert int(dashboard.stdout.readline()) == before, "the open copy changed under the reader"
        assert dashboard.stdout.readline().split() == [str(after), "True"]
    finally:
        dashboard.kill()
        dashboard.wait()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize(("publish", "part"), [
    ("antbot_data.duckdb", "is the file the load writes"),
    ("no/dir/bi.duckdb", "directory no/dir does not exist"),
    ("antbot.duckdb", "share a name"),
    ("bi.csv", "ending in .duckdb"),
])
def test_a_bad_publish_path_exits_2_before_anything_is_loaded(sandbox, tmp_path, publish, part):
    done = _load(_env(sandbox), tmp_path, "--publish", publish)
    assert done.returncode == 2 and part in done.stderr, done.stderr
    assert not (tmp_path / "antbot_data.duckdb").exists()


README = (ROOT / "README.md").read_text()


@pytest.mark.postgres
def test_the_readme_read_only_role_reads_tables_and_views_and_writes_nothing(sandbox, tmp_path, postgres_database):
    import uuid

    import psycopg2

    role = f"bi_reader_{uuid.uuid4().hex[:8]}"
    (grants,) = [block for block in README.split("```sql\n")[1:] if "CREATE ROLE bi_reader" in block]
    grants = grants.split("```")[0].replace("bi_reader", role).replace("FOR ROLE loader", "FOR ROLE postgres")
    env = {**_env(sandbox), "DESTINATION__POSTGRES__CREDENTIALS": postgres_database}
    assert _load(env, tmp_path, "--destination", "postgres").returncode == 0
    reader_dsn = postgres_database.replace("postgres@", f"{role}@")
    try:
        with psycopg2.connect(postgres_database) as conn, conn.cursor() as cur:
            cur.execute(grants)
        sandbox.advance(new_cdrs=10)
        assert _load(env, tmp_path, "--destination", "postgres").returncode == 0  # views made again
        with psycopg2.connect(reader_dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM antbot.cdr")
            assert cur.fetchone()[0] == sandbox.truth("demo")["cdr"]["count"]
            cur.execute("SELECT count(*) FROM antbot.cdr_campaign_kpis")
            assert cur.fetchone()[0] > 0
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("DELETE FROM antbot.cdr")
    finally:
        with psycopg2.connect(postgres_database) as conn, conn.cursor() as cur:
            cur.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
