"""Shared fixtures: every test gets its own dlt data dir, working dir and sandbox servers."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import forked
import pytest

from antbot_source.sandbox import SandboxHandle

POSTGRES_DSN = os.environ.get("ANTBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session", autouse=True)
def forkserver(request) -> None:
    """Sandboxes and commands fork from a process that imported them once (tests/forked.py): started
    before any test changes the environment, when the session runs end-to-end tests."""
    if any(item.get_closest_marker("e2e") for item in request.session.items):
        forked.start_forkserver()


@pytest.fixture(autouse=True)
def dlt_env(tmp_path, monkeypatch) -> None:
    """Isolate dlt: own data dir, no telemetry, no stray .dlt/ or AntBot settings from outside."""
    for name in list(os.environ):
        if name.startswith(("SOURCES__", "DESTINATION__", "ANTBOT_")) and name != "ANTBOT_TEST_POSTGRES":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., SandboxHandle]]:
    """Start sandboxes with any `run_sandbox` arguments; all are stopped when the test ends."""
    with contextlib.ExitStack() as stack:
        yield lambda **kwargs: stack.enter_context(forked.sandbox(**kwargs))


@pytest.fixture
def sandbox(start_sandbox) -> SandboxHandle:
    """A small, well-behaved sandbox world."""
    return start_sandbox(seed=11, cdrs=1_500)


def postgres_reachable() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), timeout=1):
        return True
    return False


def _postgres_admin(*statements: str) -> None:
    """Run statements on the local PostgreSQL, each in its own transaction (DROP DATABASE needs that)."""
    import psycopg2

    with contextlib.closing(psycopg2.connect(POSTGRES_DSN)) as conn, conn.cursor() as cur:
        conn.autocommit = True
        for statement in statements:
            cur.execute(statement)


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """(dsn, a fresh schema name) on the local PostgreSQL; the schema is dropped afterwards."""
    if not postgres_reachable():
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    schema = f"antbot_test_{uuid.uuid4().hex[:10]}"
    yield POSTGRES_DSN, schema
    _postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'DROP SCHEMA IF EXISTS "{schema}_staging" CASCADE',
                    f'DROP SCHEMA IF EXISTS "{schema}_push" CASCADE')


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """The DSN of a fresh database on the local PostgreSQL, for loads into the default dataset; dropped afterwards."""
    if not postgres_reachable():
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    name = f"antbot_test_{uuid.uuid4().hex[:10]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    yield POSTGRES_DSN.rsplit("/", 1)[0] + f"/{name}"
    _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# An end-to-end test uses a fixture that starts a sandbox server or reaches PostgreSQL (even through another
# fixture), or sits in a module that starts servers, commands or processes of its own; the rest are fast
# in-process tests (`make test-fast`).
E2E_FIXTURES = frozenset({"start_sandbox", "sandbox", "postgres_schema", "postgres_database"})
E2E_MODULE_WORDS = ("run_sandbox(", "subprocess", "CliRunner", "nbclient")


@functools.cache
def _module_is_e2e(path: str) -> bool:
    text = Path(path).read_text(encoding="utf-8")
    return any(word in text for word in E2E_MODULE_WORDS)


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())) or _module_is_e2e(str(item.path)):
            item.add_marker(pytest.mark.e2e)
