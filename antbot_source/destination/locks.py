"""One run at a time: the pipeline's lock, the DuckDB file's single writer, PostgreSQL's advisory lock.

Each waits a bounded time for its holder, says once whom it waits for, and fails with `BusyError`
naming the holder when the wait runs out. None of them outlives a killed process: a file lock
(flock) and a PostgreSQL session lock are released by the kernel or the server when their
process dies, so a run killed with SIGKILL leaves nothing to clean up; the next run says that it
takes over.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from tenacity import RetryError, Retrying, retry_if_exception, retry_if_result, stop_after_delay, wait_fixed

from antbot_source.errors import BusyError, ConfigError

Notify = Callable[[str], None]

# the first bytes of every DuckDB database file hold this magic at offset 8
_DUCKDB_MAGIC = b"DUCK"
_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")
# the class DuckDB puts before an error's message ("IO Error: ", "Invalid Input Error: ")
DUCKDB_ERROR_CLASS = re.compile(r"^[A-Z][A-Za-z ]* Error: ")
POLL_S = 0.2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Holder:
    """Who holds a lock: written beside the lock file by the holder, read by those who wait."""

    def __init__(self, lock_path: Path):
        self.path = lock_path.with_name(lock_path.name + ".holder")

    def read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def describe(self) -> str:
        holder = self.read()
        if not holder:
            return "another process"
        return f"process {holder['pid']} on {holder['host']} ({holder['command']}, since {holder['since']})"

    def write(self, command: str) -> None:
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.path.write_text(json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": since}))

    def stale(self) -> dict[str, Any] | None:
        """The record a killed holder left behind (its process is gone), if any."""
        holder = self.read()
        if holder and holder.get("host") == socket.gethostname() and not _alive(int(holder["pid"])):
            return holder
        return None


@contextmanager
def exclusive(lock_path: Path, *, what: str, command: str, wait_s: float, notify: Notify) -> Iterator[None]:
    """Hold the lock at `lock_path` (an flock) while the block runs; wait at most `wait_s` for its holder."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock, holder = FileLock(str(lock_path)), _Holder(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if wait_s <= 0:
            raise BusyError(f"{what} is in use by {holder.describe()}: not waiting (--wait 0)") from None
        notify(f"waiting up to {wait_s:g} s for {what}, held by {holder.describe()}")
        try:
            lock.acquire(timeout=wait_s)
        except Timeout:
            raise BusyError(f"{what} is still in use by {holder.describe()} after {wait_s:g} s") from None
    else:
        if (gone := holder.stale()) is not None:
            notify(f"taking over {what}: process {gone['pid']} ({gone['command']}) ended without releasing it")
    try:
        holder.write(command)
        yield
    finally:
        holder.path.unlink(missing_ok=True)
        lock.release()


def check_duckdb_file(path: Path, *, must_exist: bool) -> None:
    """A ConfigError for a DuckDB path that cannot be what it should: its directory missing, a
    directory, a file that is not DuckDB, or (`must_exist`) no file where a loaded one must be."""
    if path.is_dir():
        raise ConfigError(f"DuckDB file {path} is a directory")
    if not path.exists():
        if must_exist:
            raise ConfigError(f"no DuckDB file at {path}: run `antbot load` first (or give --duckdb)")
        if not path.parent.is_dir():
            raise ConfigError(f"DuckDB file {path}: directory {path.parent} does not exist")
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as exc:
        raise ConfigError(f"DuckDB file {path} cannot be read: {exc.strerror}") from None
    if header and header[8:12] != _DUCKDB_MAGIC:
        raise ConfigError(f"{path} is not a DuckDB database file")


def _held_by(exc: BaseException) -> str | None:
    match = _DUCKDB_HOLDER.search(str(exc))
    if match is None:
        return None
    program, pid = match.groups()
    return f"process {pid} ({Path(program).name})"


def open_duckdb(path: Path, *, wait_s: float, notify: Notify, read_only: bool = False,
                must_exist: bool | None = None) -> Any:
    """A DuckDB connection to `path`, waiting at most `wait_s` while another process holds the file
    (a reader holds it against a writer; a writer against everyone). `must_exist` (default: when
    `read_only`): no file is created where none is."""
    import duckdb

    check_duckdb_file(path, must_exist=read_only if must_exist is None else must_exist)
    told: list[str] = []

    def locked(exc: BaseException) -> bool:
        holder = _held_by(exc) if isinstance(exc, duckdb.IOException) else None
        if holder and not told and wait_s > 0:
            told.append(holder)
            notify(f"waiting up to {wait_s:g} s for {path}, held by {holder}")
        return holder is not None

    retrying = Retrying(retry=retry_if_exception(locked), stop=stop_after_delay(wait_s), wait=wait_fixed(POLL_S),
                        reraise=True)
    try:
        return retrying(duckdb.connect, str(path), read_only=read_only)
    except duckdb.IOException as exc:
        holder = _held_by(exc)
        if holder:
            raise BusyError(f"{path} is still held by {holder} after {wait_s:g} s") from None
        raise ConfigError(f"DuckDB file {path}: {_cause(exc)}") from None
    except duckdb.Error as exc:  # a damaged file: "Corrupt database file: computed checksum ..."
        raise ConfigError(f"DuckDB file {path}: {_cause(exc)}") from None


def _cause(exc: Exception) -> str:
    """The first line of a DuckDB error without its class ("IO Error: "), which names no cause."""
    return DUCKDB_ERROR_CLASS.sub("", str(exc).splitlines()[0], count=1)


@contextmanager
def postgres_advisory_lock(dsn: str, key: str, *, what: str, wait_s: float, notify: Notify) -> Iterator[None]:
    """Hold a PostgreSQL session advisory lock on `key` while the block runs: runs on other machines
    writing the same dataset wait for it (the server drops it with the session of a killed run)."""
    import psycopg2

    try:
        conn = psycopg2.connect(dsn, application_name=f"antbot-dlt pid {os.getpid()} on {socket.gethostname()}",
                                connect_timeout=10)
    except psycopg2.OperationalError as exc:
        raise ConfigError(f"PostgreSQL: {str(exc).strip().splitlines()[0]}") from None
    conn.autocommit = True
    with closing(conn), conn.cursor() as cur:
        def take() -> bool:
            cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,))
            return bool(cur.fetchone()[0])

        def holder() -> str:
            cur.execute("""SELECT a.application_name, a.client_addr FROM pg_locks l
                           JOIN pg_stat_activity a ON a.pid = l.pid
                           WHERE l.locktype = 'advisory' AND l.granted AND l.objid = hashtext(%s)::oid""", (key,))
            row = cur.fetchone()
            return f"{row[0] or 'a session'} from {row[1] or 'a local socket'}" if row else "another session"

        if not take():
            if wait_s <= 0:
                raise BusyError(f"{what} is in use by {holder()}: not waiting (--wait 0)")
            notify(f"waiting up to {wait_s:g} s for {what}, held by {holder()}")
            retrying = Retrying(retry=retry_if_result(lambda taken: not taken), stop=stop_after_delay(wait_s),
                                wait=wait_fixed(1.0))
            try:
                retrying(take)
            except RetryError:
                raise BusyError(f"{what} is still held by {holder()} after {wait_s:g} s") from None
        yield
