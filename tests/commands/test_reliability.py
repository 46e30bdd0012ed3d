"""Production safety, with real processes, real signals and real locks: settings that reach the source,
one run at a time, readers beside loads, one line and the documented exit code for every bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import psutil
import pytest
from forked import antbot
from support import ROOT

from antbot_source.config import AntBotSettings
from antbot_source.resources.cdr.resource import CdrTuning
from antbot_source.sandbox import Habits, run_sandbox

ANTBOT = [sys.executable, "-m", "pipelines.cli"]
README = (ROOT / "README.md").read_text()


def _env(sb, **extra: str) -> dict[str, str]:
    acc = sb.accounts[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update({"SOURCES__ANTBOT__BASE_URL": sb.base_url, "SOURCES__ANTBOT__USERNAME": acc.username,
                "SOURCES__ANTBOT__PASSWORD": acc.password, "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def _antbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return antbot(*args, env=env, cwd=cwd)


def _cdr_ids(db: Path) -> list[int]:
    with duckdb.connect(str(db), read_only=True) as con:
        try:
            return [r[0] for r in con.execute("SELECT id FROM antbot.cdr").fetchall()]
        except duckdb.CatalogException:  # nothing was loaded
            return []


def _rows(stdout: str, table: str) -> int:
    """Rows of `table` in a load's summary table (0 when the table is not listed)."""
    match = re.search(rf"^\S+ antbot load: {table}: ([\d,]+) rows read", stdout, re.MULTILINE)
    return int(match.group(1).replace(",", "")) if match else 0


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and "[WARNING]" not in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- 1. every documented setting reaches the source ------------------------------------------------------

def test_start_date_from_the_environment_and_from_config_toml_bounds_the_first_load(sandbox, tmp_path):
    starts = sorted(datetime.fromisoformat(r["starting_date"]) for r in sandbox.rows("cdr"))
    start = starts[len(starts) // 2]
    expected = sum(1 for s in starts if s >= start)
    assert 0 < expected < len(starts)

    by_env = _antbot("load", "--resources", "cdr", "--duckdb", "env.duckdb", cwd=tmp_path,
                     env=_env(sandbox, SOURCES__ANTBOT__START_DATE=start.isoformat(),
                              DLT_DATA_DIR=str(tmp_path / "dlt-env")))
    assert by_env.returncode == 0, by_env.stderr
    assert len(_cdr_ids(tmp_path / "env.duckdb")) == expected

    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(f'[sources.antbot]\nstart_date = "{start.isoformat()}"\n')
    by_toml = _antbot("load", "--resources", "cdr", "--duckdb", "toml.duckdb", cwd=tmp_path,
                      env=_env(sandbox, DLT_DATA_DIR=str(tmp_path / "dlt-toml")))
    assert by_toml.returncode == 0, by_toml.stderr
    assert len(_cdr_ids(tmp_path / "toml.duckdb")) == expected


def _requests(sb, what: str) -> int:
    return sum(n for key, n in sb.stats()["requests"].items() if what in key)


def _load(sb, tmp_path: Path, name: str, *args: str, **settings: str) -> subprocess.CompletedProcess:
    sb.reset_stats()
    env = _env(sb, DLT_DATA_DIR=str(tmp_path / f"dlt-{name}"),
               **{f"SOURCES__ANTBOT__{k.upper()}": v for k, v in settings.items() if v})
    return _antbot("load", "--duckdb", f"{name}.duckdb", *args, env=env, cwd=tmp_path)


Checks = dict[str, tuple[bool, object]]  # setting -> (it had its effect, what to show when not)


def _account_settings(start_sandbox, tmp_path: Path) -> Checks:
    sb = start_sandbox(seed=5, cdrs=600)
    base = _load(sb, tmp_path, "base", "--resources", "phonebooks,cdr")
    assert base.returncode == 0, base.stderr
    base_cdr_gets = _requests(sb, "GET /rest-api/cdr/")
    checks: Checks = {"BASE_URL": (_requests(sb, "/rest-api/") > 0, base.stderr)}
    wrong = _load(sb, tmp_path, "user", "--resources", "phonebooks", username="nobody")
    checks["USERNAME"] = (wrong.returncode == 3 and "'nobody'" in wrong.stderr, wrong.stderr)
    wrong = _load(sb, tmp_path, "pw", "--resources", "phonebooks", password="not-it")
    checks["PASSWORD"] = (wrong.returncode == 3, wrong.stderr)
    token = __import__("httpx").post(f"{sb.base_url}/get-token/", json={
        "username": sb.accounts[0].username, "password": sb.accounts[0].password}).json()["access"]
    env = _env(sb, DLT_DATA_DIR=str(tmp_path / "dlt-token"), SOURCES__ANTBOT__ACCESS_TOKEN=token)
    del env["SOURCES__ANTBOT__USERNAME"], env["SOURCES__ANTBOT__PASSWORD"]
    sb.reset_stats()
    by_token = _antbot("load", "--resources", "phonebooks", "--duckdb", "token.duckdb", env=env, cwd=tmp_path)
    checks["ACCESS_TOKEN"] = (by_token.returncode == 0 and _requests(sb, "get-token/") == 0, by_token.stderr)
    bad_path = _load(sb, tmp_path, "tp", "--resources", "phonebooks", token_path="no-such-token/")
    checks["TOKEN_PATH"] = (bad_path.returncode in (3, 5) and "no-such-token" in bad_path.stderr, bad_path.stderr)
    small = _load(sb, tmp_path, "ps", "--resources", "phonebooks,cdr", page_size="10")
    checks["PAGE_SIZE"] = (small.returncode == 0 and _requests(sb, "GET /rest-api/cdr/") > base_cdr_gets * 5,
                           (base_cdr_gets, _requests(sb, "GET /rest-api/cdr/")))
    return checks


def _history_settings(start_sandbox, tmp_path: Path) -> Checks:
    sb = start_sandbox(seed=5, cdrs=600)
    late = max(datetime.fromisoformat(r["starting_date"]) for r in sb.rows("cdr")) + timedelta(seconds=1)
    later = _load(sb, tmp_path, "start", "--resources", "cdr", start_date=late.isoformat())
    checks: Checks = {"START_DATE": (later.returncode == 0 and _cdr_ids(tmp_path / "start.duckdb") == [],
                                     later.stderr)}
    started = {r["id"]: datetime.fromisoformat(r["starting_date"]) for r in sb.rows("cdr")}
    middle = sorted(started.values())[len(started) // 2]
    for key, inside in {"SINCE": lambda at: at >= middle, "UNTIL": lambda at: at <= middle}.items():
        ranged = _load(sb, tmp_path, key.lower(), "--resources", "cdr", **{key.lower(): middle.isoformat()})
        held = {started[i] for i in _cdr_ids(tmp_path / f"{key.lower()}.duckdb")}
        checks[key] = (ranged.returncode == 0 and bool(held) and all(map(inside, held)), ranged.stderr)
    return checks


def _lateness_settings(start_sandbox, tmp_path: Path) -> Checks:
    """A row written 20 days late: the second run reads it when the look-back or the verified days reach it."""
    deep = start_sandbox(seed=5, cdrs=600)
    caught = {}
    for name, settings in {"look0": {"lookback_hours": "0"}, "look1000": {"lookback_hours": "1000"},
                           "verify30": {"lookback_hours": "0", "verify_days": "30"}}.items():
        assert _load(deep, tmp_path, name, "--resources", "cdr", **settings).returncode == 0
        (late,) = deep.advance(late_by_s=[20 * 86_400])["late_by_ids"]
        assert _load(deep, tmp_path, name, "--resources", "cdr", **settings).returncode == 0
        caught[name] = late in _cdr_ids(tmp_path / f"{name}.duckdb")
    return {"LOOKBACK_HOURS": (not caught["look0"] and caught["look1000"], caught),
            "VERIFY_DAYS": (caught["verify30"], caught)}


def _request_settings(start_sandbox, tmp_path: Path) -> Checks:
    checks: Checks = {}
    slow = start_sandbox(seed=5, cdrs=10, habits=Habits(latency_ms=1500))
    for attempts in ("1", "3"):
        slow.reset_stats()
        timed_out = _load(slow, tmp_path, f"to{attempts}", "--resources", "phonebooks", timeout="0.2",
                          max_attempts=attempts)
        assert timed_out.returncode == 4, timed_out.stderr
        if attempts == "1":
            checks["TIMEOUT"] = ("ReadTimeout" in timed_out.stderr, timed_out.stderr)
    # a connection check's GET is retried on timeouts like every other: 1 + 3 attempts of the token and the check
    checks["MAX_ATTEMPTS"] = (_requests(slow, "get-token/") == 3, slow.stats())
    # windows of 1,000 rows at least, and empty stretches of history are not walked: 5,000 rows make 5
    remote = start_sandbox(seed=5, cdrs=5_000, habits=Habits(latency_ms=150, fixed_page_size=100))
    in_flight = {}
    for n in ("1", "8"):
        result = _load(remote, tmp_path, f"cc{n}", "--resources", "cdr", max_concurrency=n)
        assert result.returncode == 0, result.stderr
        in_flight[n] = remote.stats()["max_in_flight"]
    checks["MAX_CONCURRENCY"] = (in_flight["1"] == 1 and in_flight["8"] >= 4, in_flight)
    throttled = start_sandbox(seed=5, cdrs=1_000, habits=Habits(fixed_page_size=100, throttle_requests=6,
                                                                throttle_period_s=1.0))
    refused = {}
    for cap in ("", "3"):
        result = _load(throttled, tmp_path, f"cap{cap or 'none'}", "--resources", "cdr", max_requests_per_second=cap)
        assert result.returncode == 0, result.stderr
        refused[cap] = throttled.stats()["throttled"]
    checks["MAX_REQUESTS_PER_SECOND"] = (refused[""] > 0 and refused["3"] == 0, refused)
    return checks


def _window_settings(start_sandbox, tmp_path: Path) -> Checks:
    sb = start_sandbox(seed=5, cdrs=600)
    gets, held = {}, {}
    for rows in ("50", "100000"):
        result = _load(sb, tmp_path, f"win{rows}", "--resources", "cdr", cdr_window_rows=rows)
        assert result.returncode == 0, result.stderr
        gets[rows], held[rows] = _requests(sb, "GET /rest-api/cdr/"), len(_cdr_ids(tmp_path / f"win{rows}.duckdb"))
    # a run takes whole windows, at least one: small windows let the bound of 200 rows a run show
    runs = _load(sb, tmp_path, "runs", "--resources", "cdr", cdr_run_rows="200", cdr_window_rows="100")
    count = re.search(r"(\d+) run\(s\)", runs.stdout)
    return {"CDR_WINDOW_ROWS": (gets["50"] > gets["100000"] + 5 and held == {"50": 600, "100000": 600}, (gets, held)),
            "CDR_RUN_ROWS": (runs.returncode == 0 and count is not None and int(count.group(1)) >= 3, runs.stdout)}


def _reconcile_settings(start_sandbox, tmp_path: Path) -> Checks:
    """A second run of a list longer than a page: checked for changes (its last page) unless a reconcile is due."""
    sb = start_sandbox(seed=5, cdrs=600)
    contact_gets = {}
    for name, settings in {"due": {"reconcile_hours": "0.000001"}, "not_due": {"reconcile_hours": "1000"},
                           "forced": {"reconcile_hours": "1000", "reconcile": "true"}}.items():
        for _ in range(2):
            result = _load(sb, tmp_path, f"rec{name}", "--resources", "contacts", page_size="10", **settings)
            assert result.returncode == 0, result.stderr
        contact_gets[name] = _requests(sb, "GET /rest-api/contact/")
    published = _load(sb, tmp_path, "pub", "--resources", "phonebooks", publish=str(tmp_path / "pub_bi.duckdb"))
    return {"RECONCILE_HOURS": (contact_gets["not_due"] == 1 and contact_gets["due"] > 10, contact_gets),
            "RECONCILE": (contact_gets["forced"] > 10, contact_gets),
            "PUBLISH": (published.returncode == 0 and (tmp_path / "pub_bi.duckdb").is_file(), published.stderr)}


# the settings of the calling rules, checked by test_every_calling_rule_changes_what_antbot_compliance_finds
CALLING_RULES = {"CALLING_HOURS", "TIMEZONE", "MAX_CALLS_PER_24H", "EXEMPT_CAMPAIGNS", "DNC_TABLE"}
# every other setting of AntBotSettings, in groups a test each (side by side under xdist)
SETTING_GROUPS = {
    "account": (_account_settings, {"BASE_URL", "USERNAME", "PASSWORD", "ACCESS_TOKEN", "TOKEN_PATH", "PAGE_SIZE"}),
    "history": (_history_settings, {"START_DATE", "SINCE", "UNTIL"}),
    "lateness": (_lateness_settings, {"LOOKBACK_HOURS", "VERIFY_DAYS"}),
    "requests": (_request_settings, {"TIMEOUT", "MAX_ATTEMPTS", "MAX_CONCURRENCY", "MAX_REQUESTS_PER_SECOND"}),
    "windows": (_window_settings, {"CDR_WINDOW_ROWS", "CDR_RUN_ROWS"}),
    "reconcile": (_reconcile_settings, {"RECONCILE_HOURS", "RECONCILE", "PUBLISH"}),
}


def test_every_setting_has_a_check_of_its_effect():
    """The settings of AntBotSettings (the README's configuration table, tests/docs/test_settings.py)
    are exactly those the checks below and the calling rules' test cover."""
    covered = set().union(CALLING_RULES, *(keys for _, keys in SETTING_GROUPS.values()))
    assert {name.upper() for name in AntBotSettings.get_resolvable_fields()} == covered


@pytest.mark.parametrize("group", SETTING_GROUPS)
def test_every_setting_changes_what_the_source_does(group, start_sandbox, tmp_path):
    """Each key of the group, set in the environment, has an effect the server (or the destination) can see."""
    run, keys = SETTING_GROUPS[group]
    checks = run(start_sandbox, tmp_path)
    assert set(checks) == keys
    failed = {key: detail for key, (ok, detail) in checks.items() if not ok}
    assert not failed, failed


def test_every_calling_rule_changes_what_antbot_compliance_finds(start_sandbox, tmp_path):
    """`antbot compliance` creates the views again with the rules configured now: each setting of
    AntBotSettings that is a calling rule changes what it finds."""
    sb = start_sandbox(seed=5, cdrs=600)
    assert _load(sb, tmp_path, "rules").returncode == 0
    with duckdb.connect(str(tmp_path / "rules.duckdb")) as con:
        called = con.sql("SELECT phone_number FROM antbot.compliance_calls WHERE cdr_id = "
                         "(SELECT MIN(cdr_id) FROM antbot.compliance_calls)").fetchall()[0][0]
        con.execute("CREATE TABLE antbot.registry AS SELECT ? AS phone_number", [called])
    found = {name: _breaches(sb, tmp_path, **settings) for name, settings in {
        "default": {}, "all_day": {"calling_hours": "00:00-23:59"}, "utc": {"timezone": "UTC"},
        "five": {"max_calls_per_24h": "5"}, "exempt": {"exempt_campaigns": "1, 2"},
        "registry": {"dnc_table": "registry"}}.items()}
    default = found["default"]
    checks = {
        "CALLING_HOURS": found["all_day"]["outside_hours"] < default["outside_hours"],
        "TIMEZONE": found["utc"]["outside_hours"] != default["outside_hours"],
        "MAX_CALLS_PER_24H": found["five"]["repeat_24h"] < default["repeat_24h"],
        "EXEMPT_CAMPAIGNS": found["exempt"]["calls"] < default["calls"],
        "DNC_TABLE": found["registry"]["dnc"] > default["dnc"],
    }
    assert all(checks.values()), (checks, found)
    assert set(checks) == CALLING_RULES <= {name.upper() for name in AntBotSettings.get_resolvable_fields()}


def _breaches(sb, tmp_path: Path, **settings: str) -> Counter[str]:
    """Breaches per rule, and counted calls, after `antbot compliance` with these calling rules."""
    env = _env(sb, DLT_DATA_DIR=str(tmp_path / "dlt-rules"),
               **{f"SOURCES__ANTBOT__{k.upper()}": v for k, v in settings.items()})
    done = _antbot("compliance", "--duckdb", "rules.duckdb", env=env, cwd=tmp_path)
    assert done.returncode == 11, done.stderr
    with duckdb.connect(str(tmp_path / "rules.duckdb"), read_only=True) as con:
        found = Counter(dict(con.sql("SELECT rule, COUNT(*) FROM antbot.compliance_breaches GROUP BY rule").fetchall()))
        found["calls"] = con.sql("SELECT COUNT(*) FROM antbot.compliance_calls").fetchall()[0][0]
    return found


# -- 2. one run at a time; 3. readers beside loads ---------------------------------------------------------

def test_two_overlapping_first_loads_leave_no_doubled_cdr(start_sandbox, tmp_path):
    sb = start_sandbox(seed=3, cdrs=4_000, habits=Habits(latency_ms=20))
    env = _env(sb, DLT_DATA_DIR=str(tmp_path / "dlt"))
    runs = [subprocess.Popen([*ANTBOT, "load", "--resources", "cdr,contacts", "--wait", "200"], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.wait(timeout=240), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0], results
    assert any("waiting up to 200 s for" in err for _, _, err in results), "the second run waited for the first"
    ids = _cdr_ids(tmp_path / "antbot_data.duckdb")
    assert len(ids) == len(set(ids)) == sb.truth("demo")["cdr"]["count"]


def test_loads_from_two_pipeline_dirs_into_one_file_wait_for_each_other(start_sandbox, tmp_path):
    sb = start_sandbox(seed=3, cdrs=3_000, habits=Habits(latency_ms=20))
    runs = [subprocess.Popen([*ANTBOT, "load", "--resources", "cdr", "--wait", "200"], cwd=tmp_path,
                             env=_env(sb, DLT_DATA_DIR=str(tmp_path / f"dlt{i}")), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = [(run.wait(timeout=240), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0], results
    ids = _cdr_ids(tmp_path / "antbot_data.duckdb")
    assert len(ids) == len(set(ids)) == sb.truth("demo")["cdr"]["count"]


HOLD = """
import sys
from pathlib import Path
from antbot_source.destination.locks import exclusive
with exclusive(Path(sys.argv[1]), what="pipeline", command="a test holder", wait_s=0, notify=print):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder(tmp_path) -> Iterator:
    """Start a process holding the pipeline lock of DLT_DATA_DIR=tmp_path/dlt; yields the process."""
    lock = tmp_path / "dlt" / "pipelines" / "antbot_data.lock"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()
    proc.stdout.close()
    proc.stdin.close()


def test_a_running_load_makes_the_next_one_exit_9_naming_it(sandbox, tmp_path, holder):
    result = _antbot("load", "--resources", "phonebooks", "--wait", "0", cwd=tmp_path,
                     env=_env(sandbox, DLT_DATA_DIR=str(tmp_path / "dlt")))
    assert result.returncode == 9, result.stderr
    line = _one_line(result.stderr)
    assert f"process {holder.pid}" in line and "a test holder" in line
    assert not (tmp_path / "antbot_data.duckdb").exists()


def test_a_lock_left_by_a_killed_process_is_taken_over(sandbox, tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    result = _antbot("load", "--resources", "phonebooks", "--wait", "0", cwd=tmp_path,
                     env=_env(sandbox, DLT_DATA_DIR=str(tmp_path / "dlt")))
    assert result.returncode == 0, result.stderr
    assert "taking over pipeline 'antbot_data'" in result.stderr and f"process {holder.pid}" in result.stderr


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM antbot.cdr").fetchall()[0][0], flush=True)
sys.stdin.readline()
con.close()
print("closed", flush=True)
sys.stdin.readline()
"""


def test_a_load_waits_for_a_reader_and_then_loads_exactly(sandbox, tmp_path):
    env = _env(sandbox, DLT_DATA_DIR=str(tmp_path / "dlt"))
    first = _antbot("load", "--resources", "cdr", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    db = tmp_path / "antbot_data.duckdb"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db)], text=True, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        assert int(reader.stdout.readline()) == sandbox.truth("demo")["cdr"]["count"]
        sandbox.advance(new_cdrs=50)
        load = subprocess.Popen([*ANTBOT, "load", "--resources", "cdr", "--wait", "120"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waiting = load.stderr.readline()
        assert f"for {db.name}" in waiting and f"held by process {reader.pid}" in waiting, waiting
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "closed"
        _out, err = load.communicate(timeout=240)
        assert load.returncode == 0, err
    finally:
        reader.kill()
        reader.wait()
    ids = _cdr_ids(db)
    assert len(ids) == len(set(ids)) and set(ids) == sandbox.truth("demo")["cdr"]["ids"]


# -- 5. interrupts -------------------------------------------------------------------------------------------

# the CDR walk under way on threads of the load (a read of fewer rows than CdrTuning.in_process_rows), and
# in walker processes
@pytest.mark.parametrize(("signum", "cdrs"), [(signal.SIGINT, 6_000), (signal.SIGTERM, 24_000)])
def test_an_interrupted_load_says_so_in_one_line_and_the_next_run_finishes(start_sandbox, tmp_path, signum, cdrs):
    sb = start_sandbox(seed=4, cdrs=cdrs, habits=Habits(fixed_page_size=50, hold_cdr_pages=True))
    env = _env(sb, DLT_DATA_DIR=str(tmp_path / "dlt"))
    load = subprocess.Popen([*ANTBOT, "load", "--resources", "cdr,contacts"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sb.wait_for_held(1, timeout=120)  # a walker is under way: its page waits at the server until released
    walkers = [p for p in psutil.Process(load.pid).children(recursive=True) if "cdr.walk" in " ".join(p.cmdline())]
    assert len(walkers) == (cdrs > CdrTuning.in_process_rows) * CdrTuning.workers
    load.send_signal(signum)
    _, err = load.communicate(timeout=120)
    assert load.returncode == 128 + signum, err
    assert _one_line(err) == "antbot load interrupted: run again to resume"
    sb.set_habits(hold_cdr_pages=False, fixed_page_size=None)
    again = _antbot("load", "--resources", "cdr,contacts", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    ids = _cdr_ids(tmp_path / "antbot_data.duckdb")
    assert len(ids) == len(set(ids)) and set(ids) == sb.truth("demo")["cdr"]["ids"]


KILL_IN_LOAD = """
import os, signal, sys
from antbot_source.pipeline import build_source
from antbot_source.destination.target import build_pipeline
pipeline = build_pipeline(duckdb_path=sys.argv[1])
pipeline.extract(build_source(["cdr"]))
pipeline.normalize()
os.kill(os.getpid(), signal.SIGKILL)  # killed between normalize and load: the package waits, normalized
"""


def test_the_run_after_a_kill_finishes_the_package_and_counts_its_rows(sandbox, tmp_path):
    env = _env(sandbox, DLT_DATA_DIR=str(tmp_path / "dlt"))
    db = tmp_path / "antbot_data.duckdb"
    killed = subprocess.run([sys.executable, "-c", KILL_IN_LOAD, str(db)], env=env, cwd=tmp_path, timeout=240,
                            check=False)
    assert killed.returncode == -signal.SIGKILL
    again = _antbot("load", "--resources", "cdr", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    total = sandbox.truth("demo")["cdr"]["count"]
    assert f"finished 1 package(s) of an interrupted run first (cdr {total:,};" in again.stderr, again.stderr
    assert _rows(again.stdout, "cdr") >= total, again.stdout
    assert sorted(_cdr_ids(db)) == sorted(sandbox.truth("demo")["cdr"]["ids"])


# -- 4. every failure in one line with its cause and exit code ----------------------------------------------

class _Odd(BaseHTTPRequestHandler):
    """A server the connector has never seen: a token, then HTML or JSON of the wrong shape."""

    body = b""

    def _answer(self) -> None:
        if self.path.rstrip("/").endswith("get-token"):
            payload, kind = b'{"access": "t"}', "application/json"
        else:
            payload, kind = self.body, "text/html" if self.body.startswith(b"<") else "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def _mount_tmpfs(path: Path, options: str) -> bool:
    """A tmpfs at `path` (root only: the disk-full and read-only cases); False where it cannot be mounted."""
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True,
                          check=False).returncode == 0


def _damaged_duckdb_files(tmp: Path) -> None:
    """truncated.duckdb (cut after 100 bytes) and corrupt.duckdb (its database headers overwritten)."""
    for name in ("truncated", "corrupt"):
        with duckdb.connect(str(tmp / f"{name}.duckdb")) as con:
            con.execute("CREATE SCHEMA antbot; CREATE TABLE antbot.t AS SELECT range AS i FROM range(100000)")
    os.truncate(tmp / "truncated.duckdb", 100)
    with (tmp / "corrupt.duckdb").open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\xff" * 8192)


@pytest.fixture(scope="module")
def postgres_role_without_create() -> Iterator[str | None]:
    """The DSN of a PostgreSQL role that may log in but create nothing (None without a server); dropped after."""
    from conftest import POSTGRES_DSN, _postgres_admin, postgres_reachable

    if not postgres_reachable():
        yield None
        return
    role = f"antbot_nocreate_{uuid.uuid4().hex[:8]}"
    _postgres_admin(f"CREATE ROLE {role} LOGIN PASSWORD 'N0create-s3cret'")
    url = urlsplit(POSTGRES_DSN)
    yield url._replace(netloc=f"{role}:N0create-s3cret@{url.hostname}:{url.port or 5432}").geturl()
    _postgres_admin(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture(scope="module")
def bad_input_world(tmp_path_factory, postgres_role_without_create) -> Iterator[dict[str, str | None]]:
    """One sandbox, two odd servers and a directory with a file that is not DuckDB, an empty DuckDB file,
    damaged ones, .dlt directories with broken TOML, a read-only directory and two full disks (tmpfs),
    shared by the bad-input cases. A case whose part is missing here (no root to mount, no PostgreSQL) skips."""
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "not.duckdb").write_text("hello, not a database\n")
    duckdb.connect(str(tmp / "empty.duckdb")).close()
    _damaged_duckdb_files(tmp)
    for name, file, text in (("bad-secrets", "secrets.toml", '[sources.antbot]\npassword = "unclosed\n'),
                             ("bad-config", "config.toml", "[sources.antbot\nstart_date = 1\n")):
        (tmp / name / ".dlt").mkdir(parents=True)
        (tmp / name / ".dlt" / file).write_text(text)
    mounted = {name: _mount_tmpfs(tmp / name, options) for name, options in
               (("full-db", "size=256k"), ("full-dlt", "size=256k"), ("read-only", "ro,size=64k"))}
    if os.geteuid() != 0:  # permissions hold for everyone but root
        (tmp / "read-only").chmod(0o555)
        mounted["read-only"] = True
    servers = []

    def start(body: bytes) -> str:
        handler = type("Handler", (_Odd,), {"body": body})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/rest-api"

    with run_sandbox(seed=11, cdrs=200) as sb:
        yield {"tmp": str(tmp), "port": str(_free_port()), "sandbox": sb.base_url,
               "sandbox_port": str(urlsplit(sb.root).port), "sandbox_https": sb.base_url.replace("http:", "https:"),
               "html": start(b"<html><body>Service unavailable</body></html>"),
               "shape": start(json.dumps({"count": 1, "results": "nothing here"}).encode()),
               "username": sb.accounts[0].username, "password": sb.accounts[0].password,
               "pg_no_create": postgres_role_without_create,
               **{name.replace("-", "_"): str(tmp / name) if ok else None for name, ok in mounted.items()}}
    for server in servers:
        server.shutdown()
        server.server_close()
    if os.geteuid() != 0:
        (tmp / "read-only").chmod(0o755)
    for name, ok in mounted.items():
        if ok and os.geteuid() == 0:
            subprocess.run(["umount", str(tmp / name)], check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# (command and options, settings, exit code, a part of the one line); {tmp} is the test's directory
BAD_INPUTS = [
    ("load --duckdb {tmp}/no/such/dir/x.duckdb", {}, 2, "directory {tmp}/no/such/dir does not exist"),
    ("load --duckdb {tmp}/not.duckdb", {}, 2, "is not a DuckDB database file"),
    ("load --duckdb {tmp}", {}, 2, "is a directory"),
    ("load --duckdb {tmp}/antbot.duckdb", {}, 2, "share a name"),
    ("load --destination nosuch", {}, 2, "Destination 'nosuch'"),
    ("load --destination postgres", {}, 2, "Missing 1 field(s)"),
    ("load --destination postgres", {"DESTINATION__POSTGRES__CREDENTIALS": "not-a-dsn"}, 2,
     "cannot parse the configuration value"),
    ("load --destination postgres", {"DESTINATION__POSTGRES__CREDENTIALS": "postgresql://u:pw@127.0.0.1:{port}/x"},
     2, "Connection refused"),
    ("load --resources contacts,nope", {}, 2, "unknown resource(s) nope"),
    ("load --since yesterday", {}, 2, "--since: not an ISO-8601"),
    ("load --since 2999-01-01", {}, 2, "since: 2999-01-01T00:00:00+00:00 is in the future"),
    ("load", {"SOURCES__ANTBOT__START_DATE": "2999-01-01"}, 2, "start_date 2999-01-01T00:00:00+00:00 is in the future"),
    ("load", {"SOURCES__ANTBOT__VERIFY_DAYS": "-1"}, 2, "verify_days: between 0 and 3660, not -1"),
    ("load --publish {tmp}/antbot.duckdb", {}, 2, "share a name"),
    ("load --publish {tmp}/no/dir/bi.duckdb", {}, 2, "directory {tmp}/no/dir does not exist"),
    ("load --since 2026-02-01 --until 2026-01-01", {}, 2, "--since must be before --until"),
    ("load", {"SOURCES__ANTBOT__START_DATE": "last tuesday"}, 2, "start_date: not an ISO-8601"),
    ("load", {"SOURCES__ANTBOT__TIMEOUT": "abc"}, 2, "`timeout` cannot be coerced"),
    ("load", {"SOURCES__ANTBOT__LOOKBACK_HOURS": "three"}, 2, "lookback_hours: a number of hours or 'auto'"),
    ("load", {"SOURCES__ANTBOT__VERIFY_DAYS": "a week"}, 2, "`verify_days` cannot be coerced"),
    ("load", {"SOURCES__ANTBOT__BASE_URL": "127.0.0.1:8000/rest-api"}, 2, "must start with http:// or https://"),
    ("load", {"SOURCES__ANTBOT__USERNAME": "", "SOURCES__ANTBOT__PASSWORD": ""}, 2, "no AntBot credentials"),
    ("load", {"SOURCES__ANTBOT__PASSWORD": "Wr0ng-s3cret"}, 3, "refused the credentials"),
    ("load", {"SOURCES__ANTBOT__BASE_URL": "http://127.0.0.1:{port}/rest-api"}, 4, "cannot reach AntBot"),
    ("load", {"SOURCES__ANTBOT__BASE_URL": "{sandbox}/no-such-api"}, 5, "HTTP 404"),
    ("load", {"SOURCES__ANTBOT__BASE_URL": "{html}"}, 5, "not JSON"),
    ("load", {"SOURCES__ANTBOT__BASE_URL": "{shape}"}, 5, "not a list of objects"),
    ("push contacts --table t --duckdb {tmp}/missing.duckdb", {}, 2, "no DuckDB file at"),
    ("push contacts --table t --duckdb {tmp}/not.duckdb", {}, 2, "is not a DuckDB database file"),
    ("push dnc --table no_such_table --duckdb {tmp}/empty.duckdb", {}, 2, "no_such_table"),
    ("push dnc --table t --destination postgres --postgres-dsn postgresql://u:pw@127.0.0.1:{port}/x", {}, 2,
     "Connection refused"),
    ("views --duckdb {tmp}/missing.duckdb", {}, 2, "no DuckDB file at"),
    ("views --duckdb {tmp}/not.duckdb", {}, 2, "is not a DuckDB database file"),
    ("views --duckdb {tmp}/empty.duckdb", {}, 2, "has no table"),
    ("report --duckdb {tmp}/missing.duckdb", {}, 2, "no DuckDB file at"),
    ("report --duckdb {tmp}/empty.duckdb --out {tmp}/no/dir/r.html", {}, 2, "directory {tmp}/no/dir does not exist"),
    ("report --duckdb {tmp}/empty.duckdb --out {tmp}", {}, 2, "is a directory"),
    ("health --duckdb {tmp}/missing.duckdb", {}, 2, "no DuckDB file at"),
    ("health --duckdb {tmp}/empty.duckdb", {}, 2, "has no load_health table: run `antbot load` first"),
    # settings refused before anything is written or sent
    ("load", {"SOURCES__ANTBOT__BASE_URL": "http://antbot:Url-s3cret@127.0.0.1:{port}/rest-api"}, 4,
     "cannot reach AntBot at http://***@127.0.0.1:{port}/rest-api/"),
    ("load", {"SOURCES__ANTBOT__BASE_URL": "http://::1:8000/rest-api"}, 2, "an IPv6 address goes in brackets"),
    ("load", {"SOURCES__ANTBOT__BASE_URL": "http:///rest-api"}, 2, "base_url names no host"),
    ("load", {"SOURCES__ANTBOT__BASE_URL": "{sandbox_https}"}, 4,
     "TLS handshake failed (WRONG_VERSION_NUMBER): is the server speaking http, not https?"),
    ("load", {"SOURCES__ANTBOT__TOKEN_PATH": "http://127.0.0.1:{port}/get-token/"}, 2,
     "token_path: a path under base_url, not a URL"),
    ("load", {"SOURCES__ANTBOT__PASSWORD": "Pässwörd-ünicode"}, 3, "refused the credentials"),
    ("load", {"SOURCES__ANTBOT__TIMEOUT": "0"}, 2, "timeout must be a number above 0, not 0.0"),
    ("load", {"SOURCES__ANTBOT__TIMEOUT": "-1"}, 2, "timeout must be a number above 0, not -1.0"),
    ("load", {"SOURCES__ANTBOT__TIMEOUT": "inf"}, 2, "timeout must be a number above 0, not inf"),
    ("load", {"SOURCES__ANTBOT__PAGE_SIZE": "0"}, 2, "page_size must be a number above 0, not 0"),
    ("load", {"SOURCES__ANTBOT__MAX_ATTEMPTS": "0"}, 2, "max_attempts must be a number above 0, not 0"),
    ("load", {"SOURCES__ANTBOT__CDR_WINDOW_ROWS": "0"}, 2, "cdr_window_rows must be a number above 0, not 0"),
    ("load", {"SOURCES__ANTBOT__CDR_RUN_ROWS": "-1"}, 2, "cdr_run_rows must be a number above 0, not -1"),
    ("load", {"SOURCES__ANTBOT__MAX_CONCURRENCY": "0"}, 2, "max_concurrency must be a number above 0, not 0"),
    ("load", {"SOURCES__ANTBOT__MAX_REQUESTS_PER_SECOND": "-1"}, 2,
     "max_requests_per_second must be a number above 0, not -1.0"),
    ("load", {"SOURCES__ANTBOT__RECONCILE_HOURS": "-1"}, 2, "reconcile_hours must be a number above 0, not -1.0"),
    ("load", {"SOURCES__ANTBOT__LOOKBACK_HOURS": "1e9"}, 2, "lookback_hours: from 0 to 8760 hours (a year), not '1e9'"),
    ("load", {"SOURCES__ANTBOT__LOOKBACK_HOURS": "inf"}, 2, "lookback_hours: from 0 to 8760 hours (a year), not 'inf'"),
    ("load", {"SOURCES__ANTBOT__LOOKBACK_HOURS": "-3"}, 2, "lookback_hours: from 0 to 8760 hours (a year), not '-3'"),
    ("load --pipeline-name ../../x", {}, 2, "pipeline name (--pipeline-name): letters, digits"),
    ("load", {"DLT_DATA_DIR": "{tmp}/not.duckdb/dlt"}, 2,
     "cannot write the pipelines directory {tmp}/not.duckdb/dlt/pipelines (DLT_DATA_DIR): Not a directory"),
    ("load", {"DLT_DATA_DIR": "{read_only}/dlt"}, 2, "cannot write the pipelines directory {read_only}/dlt/pipelines"),
    ("load", {"DLT_PROJECT_DIR": "{tmp}/bad-secrets"}, 2, "{tmp}/bad-secrets/.dlt/secrets.toml is not valid TOML"),
    ("health --duckdb {tmp}/empty.duckdb", {"DLT_PROJECT_DIR": "{tmp}/bad-config"}, 2,
     "{tmp}/bad-config/.dlt/config.toml is not valid TOML: Unexpected character"),
    # the destination damaged, full or refusing
    ("load --duckdb {tmp}/truncated.duckdb", {}, 2, "Could not read enough bytes"),
    ("load --duckdb {tmp}/corrupt.duckdb", {}, 2, "DuckDB file {tmp}/corrupt.duckdb: Corrupt database file"),
    ("health --duckdb {tmp}/truncated.duckdb", {}, 2, "Could not read enough bytes"),
    ("health --duckdb {tmp}/corrupt.duckdb", {}, 2, "DuckDB file {tmp}/corrupt.duckdb: Corrupt database file"),
    ("views --duckdb {tmp}/corrupt.duckdb", {}, 2, "DuckDB file {tmp}/corrupt.duckdb: Corrupt database file"),
    ("load --duckdb {full_db}/antbot_data.duckdb", {}, 2, "No space left on device"),
    ("load", {"DLT_DATA_DIR": "{full_dlt}"}, 2, "No space left on device"),
    ("load --destination postgres --dataset antbot_nocreate", {"DESTINATION__POSTGRES__CREDENTIALS": "{pg_no_create}"},
     2, "destination: permission denied for database"),
    # the demo and the sandbox
    ("demo --cdrs -5", {}, 2, "antbot demo failed: --cdrs must be at least 1: -5"),
    ("demo --cdrs 50 --duckdb {tmp}/no/dir/demo.duckdb", {}, 2, "directory {tmp}/no/dir does not exist"),
    ("demo --cdrs 50 --duckdb {read_only}/demo.duckdb", {}, 2, "DuckDB file {read_only}/demo.duckdb:"),
    ("sandbox serve --port {sandbox_port}", {}, 2,
     "antbot sandbox serve failed: cannot listen on 127.0.0.1 port {sandbox_port}: Address already in use"),
    ("sandbox serve --port 0 --habits {{\"nosuch\":1}}", {}, 2, "--habits: unknown habits: ['nosuch']"),
    ("sandbox serve --port 0 --habits {{nosuch", {}, 2, "--habits: Expecting property name"),
    ("sandbox serve --port 0 --cdrs 0", {}, 2, "--cdrs must be at least 1: 0"),
]

# what no case may show, whatever it prints
SECRETS = ("Wr0ng-s3cret", ":pw@", "Url-s3cret", "N0create-s3cret", "Pässwörd-ünicode")


@pytest.mark.parametrize(("args", "settings", "code", "part"), BAD_INPUTS,
                         ids=[f"{a.split()[0]}-{i}" for i, (a, *_rest) in enumerate(BAD_INPUTS)])
def test_every_bad_input_gives_one_line_its_cause_and_its_exit_code(bad_input_world, args, settings, code, part):
    world = bad_input_world
    missing = [name for name in re.findall(r"(?<!\{)\{(\w+)\}", args + json.dumps(settings) + part)
               if world[name] is None]
    if missing:
        pytest.skip(f"this machine cannot provide {', '.join(missing)} (a tmpfs needs root; a role needs PostgreSQL)")
    tmp = Path(world["tmp"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update({"SOURCES__ANTBOT__BASE_URL": world["sandbox"], "SOURCES__ANTBOT__USERNAME": world["username"],
                "SOURCES__ANTBOT__PASSWORD": world["password"], "PYTHONPATH": str(ROOT),
                "DLT_DATA_DIR": str(tmp / "dlt")})
    env.update({k: v.format(**world) for k, v in settings.items()})
    result = _antbot(*args.format(**world).split(), env=env, cwd=tmp)
    line = _one_line(result.stderr)
    assert result.returncode == code, result.stderr
    assert part.format(**world) in line
    for secret in (world["password"], *SECRETS):
        assert secret not in result.stderr + result.stdout
    assert not (tmp / "missing.duckdb").exists() and not (tmp / "no").exists(), "no file for a missing path"
    assert not (tmp / "x.lock").exists() and not (tmp / "x").exists(), "nothing outside the pipelines directory"


def test_the_reliability_page_lists_at_least_60_bad_inputs():
    rows = re.findall(r"^\| `antbot ", (ROOT / "docs" / "reliability.md").read_text(), flags=re.MULTILINE)
    assert len(rows) >= 60
    assert "(docs/reliability.md)" in README
