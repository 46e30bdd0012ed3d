"""Credentials are checked, never assumed: in one process (a scheduler's worker, a notebook) a token
obtained with one password is never used with another."""

from __future__ import annotations

import pytest
from support import load_account

from antbot_source.api.client import ClientConfig
from antbot_source.errors import AuthError
from antbot_source.pipeline import load


def test_a_wrong_password_after_a_good_load_in_one_process_is_refused(sandbox, tmp_path):
    acc = sandbox.accounts[0]
    load_account(sandbox, tmp_path / "good.duckdb", resources=["phonebooks"])
    sandbox.reset_stats()
    with pytest.raises(AuthError, match="refused the credentials"):
        load(duckdb_path=tmp_path / "bad.duckdb", pipeline_name="bad", resources="phonebooks", views=False,
             base_url=sandbox.base_url, username=acc.username, password="Wr0ng-" + acc.password)
    assert sandbox.stats()["requests"].get("POST /rest-api/get-token/", 0) == 1, "the wrong password logged in"
    # the right password still serves: its token was not replaced by the refused login
    _, summary = load_account(sandbox, tmp_path / "again.duckdb", resources=["phonebooks"])
    assert summary.rows["phonebooks"] > 0


def test_one_token_is_shared_by_clients_of_the_same_credentials(sandbox):
    acc = sandbox.accounts[0]
    good = ClientConfig(sandbox.base_url, acc.username, acc.password)
    sandbox.reset_stats()
    with good.connect() as one, good.connect() as two:
        assert one.token() == two.token()
    assert sandbox.stats()["requests"].get("POST /rest-api/get-token/", 0) <= 1


def test_two_loads_of_two_accounts_in_one_process_share_no_token_and_no_budget(sandbox, tmp_path):
    from antbot_source.api.client import _tokens_of, budget_of

    first, second = sandbox.accounts[0], sandbox.accounts[1]
    sandbox.reset_stats()
    for i, acc in enumerate((first, second)):
        load(duckdb_path=tmp_path / f"a{i}.duckdb", resources="phonebooks", views=False, base_url=sandbox.base_url,
             username=acc.username, password=acc.password)
    by_user = sandbox.stats()["by_user"]
    assert by_user[first.username]["requests"] > 0 and by_user[second.username]["requests"] > 0
    configs = [ClientConfig(sandbox.base_url, acc.username, acc.password) for acc in (first, second)]
    assert _tokens_of(configs[0]) is not _tokens_of(configs[1])
    assert _tokens_of(configs[0]).token != _tokens_of(configs[1]).token
    assert budget_of(configs[0]) is not budget_of(configs[1])
