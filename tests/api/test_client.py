"""AntBotClient against the sandbox: walks, shapes, errors, tokens and retries."""

from __future__ import annotations

import math
import socket

import pytest
from support import client_config

from antbot_source.config import AntBotSettings
from antbot_source.errors import ApiError, AuthError, UnreachableError, hide_userinfo
from antbot_source.sandbox import Habits


def _config(sb, **settings):
    return client_config(sb, **settings)


def test_walk_follows_next_when_the_server_ignores_page_size(start_sandbox):
    sb = start_sandbox(seed=2, cdrs=1_000, habits=Habits(fixed_page_size=7))
    with _config(sb, page_size=1000).connect() as client:
        pages = list(client.iter_pages("contact/"))
    truth = sb.truth("demo")["contacts"]
    assert {row["id"] for page in pages for row in page} == set(truth["ids"])
    assert len(pages) == math.ceil(truth["count"] / 7)
    assert max(len(page) for page in pages) == 7


@pytest.mark.parametrize("token_key", ["access_token", "token"])
def test_token_under_any_documented_key_and_a_bare_list(start_sandbox, token_key):
    sb = start_sandbox(seed=2, cdrs=300, habits=Habits(token_key=token_key, bare_lists=["contact"]))
    with _config(sb, page_size=50).connect() as client:
        pages = list(client.iter_pages("contact/"))
    assert len(pages) == 1
    assert sorted(row["id"] for row in pages[0]) == sorted(sb.truth("demo")["contacts"]["ids"])


def test_a_bare_object_is_one_page_of_one_row(sandbox):
    phonebook = min(sandbox.truth("demo")["phonebooks"]["ids"])
    with _config(sandbox).connect() as client:
        pages = list(client.iter_pages(f"phonebook/{phonebook}/"))
    assert len(pages) == 1 and len(pages[0]) == 1 and pages[0][0]["id"] == phonebook


def test_http_200_with_error_raises_api_error(sandbox):
    with _config(sandbox).connect() as client:
        existing = next(client.iter_pages("contact/"))[0]
        with pytest.raises(ApiError, match="duplicated") as caught:
            client.request("POST", "bulkcontact/", json={
                "phonebook": existing["phonebook"], "contacts": [{"contact": existing["contact"], "status": 1}],
            })
    assert caught.value.status_code == 200


def test_wrong_password_raises_auth_error_without_the_password(sandbox):
    config = AntBotSettings(base_url=sandbox.base_url, username="demo", password="not-the-Pa55word").client()
    assert "not-the-Pa55word" not in repr(config)
    with config.connect() as client, pytest.raises(AuthError) as caught:
        client.request("GET", "contact/")
    assert "not-the-Pa55word" not in str(caught.value)


def test_a_ready_access_token_is_used_and_a_refused_one_is_an_auth_error(sandbox):
    with _config(sandbox).connect() as client:
        token, _ = client._current_token()
    with AntBotSettings(base_url=sandbox.base_url, access_token=token).client().connect() as client:
        assert next(client.iter_pages("gateway/"))
    sandbox.reset_stats()
    with AntBotSettings(base_url=sandbox.base_url, access_token="expired").client().connect() as client, \
            pytest.raises(AuthError):
        client.request("GET", "gateway/")
    assert "POST /rest-api/get-token/" not in sandbox.stats()["requests"]


def test_429s_and_5xxs_are_retried(sandbox):
    sandbox.set_habits(error_rate=0.3, rate_limit_per_s=2, retry_after_s=1)
    sandbox.reset_stats()
    with _config(sandbox, page_size=100).connect() as client:
        ids = {row["id"] for page in client.iter_pages("contact/") for row in page}
    assert ids == set(sandbox.truth("demo")["contacts"]["ids"])
    statuses = sandbox.stats()["statuses"]
    assert "429" in statuses and any(code in statuses for code in ("502", "503")), statuses


def test_an_unreachable_host_raises_unreachable_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = AntBotSettings(base_url=f"http://127.0.0.1:{port}/rest-api", username="u", password="p",
                            max_attempts=2).client()
    with config.connect() as client, pytest.raises(UnreachableError, match="cannot reach"):
        client.request("GET", "contact/")


def test_the_user_info_of_a_url_is_masked_in_messages_and_nothing_else():
    assert hide_userinfo("cannot reach AntBot at http://me:s3cret@host:80/rest-api/") == \
        "cannot reach AntBot at http://***@host:80/rest-api/"
    assert hide_userinfo("postgresql://u:pw@127.0.0.1:5432/x and https://token@h/") == \
        "postgresql://***@127.0.0.1:5432/x and https://***@h/"
    assert hide_userinfo("base_url must start with http://: 'me:s3cret@host/rest-api'") == \
        "base_url must start with http://: '***@host/rest-api'"
    for untouched in ("AntBot refused the credentials of user 'you@example.com'", "http://[::1]:8000/rest-api",
                      "since 2026-01-01T10:00:00+00:00"):
        assert hide_userinfo(untouched) == untouched


def test_an_unreachable_base_url_with_user_info_is_named_without_it():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://me:S3cret-in-url@127.0.0.1:{port}/rest-api"
    with pytest.raises(UnreachableError) as caught, AntBotSettings(
            base_url=url, username="demo", password="pw", max_attempts=1).client().connect() as c:
        c.request("GET", "campaigns/")
    assert "S3cret-in-url" not in str(caught.value) and "http://***@127.0.0.1:" in str(caught.value)
