"""How every `antbot` command fails: one line on stderr naming the cause, and the documented exit code.

| code | cause |
|---|---|
| 1 | anything unforeseen (the line names its type) |
| 2 | bad configuration: a setting, an option, a `.dlt/*.toml` file, the destination (missing, not DuckDB, damaged, full, refusing, malformed) |
| 3 | bad AntBot credentials |
| 4 | AntBot unreachable |
| 5 | AntBot answered with an error, or with data that is not what the API promises |
| 6, 7, 8 | `antbot push` only: rows rejected, rows failed, confirmation needed (antbot_source.errors) |
| 9 | another run holds the pipeline, the DuckDB file or the dataset (after `--wait`) |
| 10 | `antbot health` only: the last load run recorded a warning (late rows, healed rows, rows deleted at the server) |
| 11 | `antbot compliance` only: a call broke a calling rule, or a DNC entry does not block |
| 130, 143 | interrupted by SIGINT / SIGTERM: run again to resume |
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click
import duckdb
import typer

from antbot_source.errors import AntBotError, ConfigError, InterruptedRun, hide_userinfo

HEALTH_WARNING = 10
COMPLIANCE_FOUND = 11

# the signals received while a command's body runs: a library that turns the exception a handler raises
# into its own (DuckDB's "Query interrupted") cannot hide that the run was interrupted
_received: list[int] = []


def _terminate(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise InterruptedRun(signum)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps: causes, contexts and dlt's `exception` attribute, outermost first."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "exception", None), current.__cause__, current.__context__])


def _is(exc: BaseException, module: str, *names: str) -> bool:
    return any(cls.__module__.startswith(module) and cls.__name__ in names for cls in type(exc).__mro__)


def _classify(exc: BaseException) -> AntBotError | None:
    """The error behind `exc` as one of ours, with its exit code; None when nothing known is behind it."""
    chain = list(_chain(exc))
    for current in chain:
        if isinstance(current, AntBotError):
            return current
    for current in chain:
        if isinstance(current, KeyboardInterrupt):  # dlt's SignalReceivedException is one
            return InterruptedRun(getattr(current, "signal_code", signal.SIGINT))
    for current in chain:
        if _is(current, "dlt.common.configuration", "TomlProviderReadException"):
            return ConfigError(_toml_problem(current))
    for current in reversed(chain):  # the innermost names the file
        if getattr(current, "errno", None) == errno.ENOSPC or "No space left on device" in _first_line(current):
            return ConfigError(f"disk full: {_first_line(current)} (where DLT_DATA_DIR or the destination is)")
    for current in chain:
        # dlt's own configuration errors: missing or malformed settings, unknown destinations, bad DSNs
        if _is(current, "dlt.common.configuration", "ConfigurationException", "ConfigurationValueError") or \
                _is(current, "dlt.common.destination", "UnknownDestinationModule", "InvalidDestinationReference"):
            return ConfigError(_first_line(current))
    for current in chain:
        # the destination refusing: a file that is not DuckDB or is damaged, a server refusing
        # connections, a role without the privileges a load needs
        if isinstance(current, duckdb.IOException) or _is(current, "psycopg2", "OperationalError") or (
                isinstance(current, duckdb.Error) and "Corrupt database file" in str(current)):
            return ConfigError(f"destination: {_first_line(current)}")
        if _is(current, "psycopg2", "InsufficientPrivilege"):
            return ConfigError(f"destination: {_first_line(current)} (the PostgreSQL role lacks a privilege "
                               "the load needs: CREATE on the database, or on the dataset's schema)")
    return None


def _toml_problem(exc: BaseException) -> str:
    """dlt's TomlProviderReadException as one line: the file and where its TOML breaks."""
    paths = [path for path in getattr(exc, "full_paths", []) if Path(path).is_file()]
    detail = str(exc).strip().splitlines()[-1]
    return f"{' or '.join(paths) or getattr(exc, 'file_name', 'a .dlt file')} is not valid TOML: {detail}"


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def notice(line: str) -> None:
    """A one-line notice of a running command (waiting for a lock, taking over a stale one), on stderr."""
    print(line, file=sys.stderr, flush=True)


def redact(text: str) -> str:
    """`text` without the configured password or access token, nor the user info of any URL in it (when the
    settings cannot be read, as with a broken .dlt/secrets.toml, the environment's are masked)."""
    import dlt

    from antbot_source.config import AntBotSettings

    for key in AntBotSettings.secret_fields():
        try:
            secret = dlt.secrets.get(f"sources.antbot.{key}")
        except Exception:  # noqa: BLE001 - the settings themselves are what failed
            secret = os.environ.get(f"SOURCES__ANTBOT__{key.upper()}")
        if secret:
            text = text.replace(str(secret), "***")
    return hide_userinfo(text)


def fail(command: str, exc: BaseException) -> typer.Exit:
    """Print `exc` as one line on stderr and return the Exit with its code (raise it `from None`)."""
    known = _classify(exc)
    if isinstance(known, InterruptedRun):
        line = f"antbot {command} {known}"
    else:
        line = f"antbot {command} failed: {_first_line(known) if known else f'{type(exc).__name__}: {_first_line(exc)}'}"
    print(redact(line), file=sys.stderr, flush=True)
    return typer.Exit(known.exit_code if known else 1)


class _WithoutTraceback(logging.Filter):
    """dlt's log records without the tracebacks some carry (a warning that it could not save its trace
    on a full disk): a command's stderr stays one line per problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


@contextmanager
def reported(command: str) -> Iterator[None]:
    """Run a command's body: SIGTERM stops it like Ctrl-C, and any failure ends it with one line and its code."""
    _received.clear()
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _terminate),
                signal.SIGINT: signal.signal(signal.SIGINT, _interrupt)}
    without_traceback = _WithoutTraceback()
    logging.getLogger("dlt").addFilter(without_traceback)
    try:
        yield
    except (typer.Exit, click.ClickException, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one line for any failure, never a traceback with config in it
        raise fail(command, InterruptedRun(_received[0]) if _received else exc) from None
    finally:
        logging.getLogger("dlt").removeFilter(without_traceback)
        for signum, handler in previous.items():
            if handler is not None:  # None: not installed from Python, nothing to restore
                signal.signal(signum, handler)
