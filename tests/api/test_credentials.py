"""Tokens and request budgets belong to a session of the account (a load, a source instance, a push),
never to the process: in one process (a scheduler's worker, a notebook) two loads share neither, and a
token obtained with one password is never used with another."""

from __future__ import annotations

import pytest
from support import client_config

from antbot_source.api.client import AccountSession, check_connection
from antbot_source.errors import AuthError
from antbot_source.pipeline import CHECK_PATH, load

LOGIN = "POST /rest-api/get-token/"


def _recorded_sessions(monkeypatch) -> list[AccountSession]:
    """Every session this process creates from now on (created as ever: this only records them)."""
    made: list[AccountSession] = []
    create = AccountSession.__init__

    def recording(self: AccountSession, *args, **kwargs) -> None:
        create(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(AccountSession, "__init__", recording)
    return made


def test_two_loads_of_two_accounts_in_one_process_share_no_token_and_no_budget(sandbox, tmp_path, monkeypatch):
    first, second = sandbox.accounts[0], sandbox.accounts[1]
    sessions = _recorded_sessions(monkeypatch)
    sandbox.reset_stats()
    for i, acc in enumerate((first, second)):
        load(duckdb_path=tmp_path / f"a{i}.duckdb", resources="phonebooks,cdr", views=False,
             base_url=sandbox.base_url, username=acc.username, password=acc.password)
    stats = sandbox.stats()
    assert stats["by_user"][first.username]["requests"] > 0 and stats["by_user"][second.username]["requests"] > 0
    # the connection check's token serves the load's runs and its CDR walkers: one login per load
    assert stats["requests"][LOGIN] == 2
    # the loads' sessions (a CDR walker's, on threads of the load, takes the run's token and budget file)
    used = [s for s in sessions if s.tokens.token is not None and s.config.budget_path is None]
    assert [s.config.username for s in used] == [first.username, second.username]
    assert used[0].tokens is not used[1].tokens and used[0].tokens.token != used[1].tokens.token
    assert used[0].budget is not used[1].budget and used[0].budget.file is not used[1].budget.file


def test_one_account_loaded_twice_with_a_wrong_password_the_second_time_fails_with_the_auth_exit_code(
        sandbox, tmp_path):
    acc = sandbox.accounts[0]
    args = {"duckdb_path": tmp_path / "acc.duckdb", "resources": "phonebooks", "views": False,
            "base_url": sandbox.base_url, "username": acc.username}
    assert load(password=acc.password, **args).rows["phonebooks"] > 0
    sandbox.reset_stats()
    with pytest.raises(AuthError, match="refused the credentials") as caught:
        load(password="Wr0ng-" + acc.password, **args)
    assert caught.value.exit_code == 3
    assert sandbox.stats()["requests"] == {LOGIN: 1}, "the first load's token was used with the wrong password"
    # the right password still serves
    assert load(password=acc.password, **args).runs == 1


def test_the_clients_of_one_session_share_its_token(sandbox):
    account = AccountSession(client_config(sandbox))
    sandbox.reset_stats()
    with account.connect() as one, account.connect() as two:
        assert one.token() == two.token()
    assert sandbox.stats()["requests"][LOGIN] == 1


def test_the_connection_check_takes_its_turn_from_the_session_budget(sandbox):
    account = AccountSession(client_config(sandbox, max_requests_per_second=50))
    assert not account.budget.file.head().first_grant
    check_connection(account, CHECK_PATH)
    assert account.budget.file.head().first_grant, "the check's requests were not granted through the budget"
