"""Configuration from `.dlt/config.toml` and `.dlt/secrets.toml` in the working directory, as a scheduled job has it."""

from __future__ import annotations

import os

import duckdb
from forked import antbot

from antbot_source.settings import DEFAULT_DUCKDB


def test_load_reads_dlt_config_and_secrets_files(sandbox, tmp_path):
    account = sandbox.accounts[0]
    settings = tmp_path / ".dlt"
    settings.mkdir()
    (settings / "config.toml").write_text(f'[sources.antbot]\nbase_url = "{sandbox.base_url}"\n')
    (settings / "secrets.toml").write_text(
        f'[sources.antbot]\nusername = "{account.username}"\npassword = "{account.password}"\n'
    )
    # a child process: dlt finds `.dlt/` in the working directory it starts in
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    done = antbot("load", "--resources", "phonebooks,dnc_lists", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert account.password not in done.stdout + done.stderr
    with duckdb.connect(str(tmp_path / DEFAULT_DUCKDB), read_only=True) as con:
        phonebooks = {r[0] for r in con.execute("SELECT id FROM antbot.phonebooks").fetchall()}
    assert phonebooks == sandbox.truth("demo")["phonebooks"]["ids"]
