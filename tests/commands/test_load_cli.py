"""`antbot load` as a command: exit codes, one-line reasons, no secrets anywhere, DLT_DATA_DIR honoured."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import duckdb
from support import use_sandbox
from typer.testing import CliRunner

from antbot_source.settings import DEFAULT_DUCKDB
from pipelines.cli import app


def _run(*args: str):
    return CliRunner().invoke(app, ["load", *args])


def _files_containing(root: Path, needle: str) -> list[Path]:
    hits = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            if needle.encode() in path.read_bytes():
                hits.append(path)
    return hits


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_load_succeeds_prints_rows_per_table_and_keeps_secrets_out_of_dlt_files(sandbox, monkeypatch, tmp_path):
    use_sandbox(monkeypatch, sandbox)
    result = _run("--resources", "contacts,phonebooks,cdr")
    assert result.exit_code == 0, result.output
    assert "contacts" in result.output and "cdr" in result.output
    with duckdb.connect(DEFAULT_DUCKDB, read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'antbot'").fetchall()}
        contacts = con.execute("SELECT count(*) FROM antbot.contacts").fetchall()[0][0]
    assert {"contacts", "phonebooks", "cdr"} <= tables and "subscribers" not in tables
    assert contacts == sandbox.truth("demo")["contacts"]["count"]
    dlt_dir = tmp_path / "dlt"
    assert (dlt_dir / "pipelines" / "antbot_data").is_dir(), "the pipeline lives under DLT_DATA_DIR, named after its file"
    password = sandbox.accounts[0].password
    assert _files_containing(dlt_dir, password) == []
    assert password not in result.output


def test_wrong_password_exits_3_with_one_line_and_no_password(sandbox, monkeypatch, tmp_path):
    wrong = "Wr0ng-s3cret-value"
    use_sandbox(monkeypatch, sandbox, password=wrong)
    result = _run()
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "credentials" in lines[0], result.output
    assert wrong not in result.output
    assert _files_containing(tmp_path / "dlt", wrong) == []


def test_unreachable_host_exits_4(monkeypatch):
    monkeypatch.setenv("SOURCES__ANTBOT__BASE_URL", f"http://127.0.0.1:{_free_port()}/rest-api")
    monkeypatch.setenv("SOURCES__ANTBOT__USERNAME", "demo")
    monkeypatch.setenv("SOURCES__ANTBOT__PASSWORD", "demo-pass")
    monkeypatch.setenv("SOURCES__ANTBOT__MAX_ATTEMPTS", "2")
    result = _run("--resources", "contacts")
    assert result.exit_code == 4, result.output
    assert "cannot reach" in result.output and "demo-pass" not in result.output


def test_api_error_exits_5(sandbox, monkeypatch):
    use_sandbox(monkeypatch, sandbox)
    monkeypatch.setenv("SOURCES__ANTBOT__BASE_URL", sandbox.base_url + "/no-such-api")
    result = _run("--resources", "contacts")
    assert result.exit_code == 5, result.output
    assert "HTTP 404" in result.output


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_unknown_resource_and_missing_credentials_exit_2(monkeypatch):
    # with credentials set (to a host nobody listens on): only the resource name is wrong, and no
    # request is tried (that would exit 4, cannot reach)
    monkeypatch.setenv("SOURCES__ANTBOT__BASE_URL", f"http://127.0.0.1:{_free_port()}/rest-api")
    monkeypatch.setenv("SOURCES__ANTBOT__USERNAME", "demo")
    monkeypatch.setenv("SOURCES__ANTBOT__PASSWORD", "demo-pass")
    unknown = _run("--resources", "contacts,nope")
    assert unknown.exit_code == 2, unknown.output
    lines = _lines(unknown.output)
    assert len(lines) == 1 and "unknown resource(s) nope;" in lines[0], unknown.output
    assert "known: cdr, subscribers," in lines[0] and "credentials" not in lines[0], unknown.output

    monkeypatch.delenv("SOURCES__ANTBOT__USERNAME")
    monkeypatch.delenv("SOURCES__ANTBOT__PASSWORD")
    missing = _run("--resources", "contacts")
    assert missing.exit_code == 2, missing.output
    lines = _lines(missing.output)
    assert len(lines) == 1 and "no AntBot credentials" in lines[0], missing.output
    assert "SOURCES__ANTBOT__PASSWORD" in lines[0] and "unknown resource" not in lines[0], missing.output


def test_the_duckdb_file_is_dlts_destination_setting_unless_duckdb_names_one(sandbox, monkeypatch, tmp_path):
    use_sandbox(monkeypatch, sandbox)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "configured.duckdb"))
    by_setting = _run("--resources", "phonebooks")
    assert by_setting.exit_code == 0, by_setting.output
    by_option = _run("--resources", "phonebooks", "--duckdb", "named.duckdb", "--pipeline-name", "named")
    assert by_option.exit_code == 0, by_option.output
    expected = sandbox.truth("demo")["phonebooks"]["count"]
    for db in ("configured.duckdb", "named.duckdb"):
        with duckdb.connect(str(tmp_path / db), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM antbot.phonebooks").fetchall()[0][0] == expected, db
    assert not (tmp_path / DEFAULT_DUCKDB).exists()


def test_in_a_log_the_summary_is_time_stamped_lines_or_json_with_rows_read_and_new(sandbox, monkeypatch):
    import json
    import re
    from datetime import datetime

    use_sandbox(monkeypatch, sandbox)
    first = _run("--resources", "phonebooks,cdr")  # CliRunner's output is no terminal: a log
    assert first.exit_code == 0, first.output
    cdr = sandbox.truth("demo")["cdr"]["count"]
    line = re.search(r"^(\S+) antbot load: cdr: ([\d,]+) rows read, \+([\d,]+) new \(net\)$", first.output, re.MULTILINE)
    assert line and datetime.fromisoformat(line.group(1)).tzinfo is not None, first.output
    assert int(line.group(2).replace(",", "")) == int(line.group(3).replace(",", "")) == cdr
    assert "│" not in first.output and "rows loaded" not in first.output

    sandbox.advance(new_cdrs=7)
    second = _run("--resources", "phonebooks,cdr", "--log-format", "json")
    assert second.exit_code == 0, second.output
    records = [json.loads(line) for line in second.output.splitlines() if line.startswith("{")]
    by_table = {r["table"]: r for r in records if r["event"] == "table"}
    assert by_table["cdr"]["rows_new"] == 7 and by_table["cdr"]["rows_read"] >= 7
    assert by_table["phonebooks"]["rows_new"] == 0, "a quiet table reads as nothing new"
    assert records[-1]["event"] == "done" and records[-1]["command"] == "antbot load"


def test_every_command_help_shows_flags_an_example_and_exit_codes():
    runner = CliRunner()
    for command in (["load"], ["health"], ["views"], ["report"], ["demo"], ["compliance"], ["sandbox", "serve"],
                    ["push", "contacts"], ["push", "dnc"], ["push", "campaigns"], ["push", "appointments"]):
        shown = runner.invoke(app, [*command, "--help"], terminal_width=200)
        assert shown.exit_code == 0
        assert "Example:" in shown.output and "Exit codes:" in shown.output, (command, shown.output)
        assert "<bool>" not in shown.output and "--dry-run <" not in shown.output
        assert not any("Example:" in line and "Exit codes:" in line for line in shown.output.splitlines())
        if command == ["load"]:  # a paragraph is rewrapped to the terminal, not cut where its source line ends
            assert "5 AntBot answered an error; 9 another run" in shown.output, shown.output
