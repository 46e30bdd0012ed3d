"""How every `antbot` command fails: one line on stderr naming the cause, and the documented exit code.

| code | cause |
|---|---|
| 1 | anything unforeseen (the line names its type) |
| 2 | bad configuration: a setting, an option, the destination (missing, not DuckDB, refusing, malformed) |
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

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click
import typer

from antbot_source.errors import AntBotError, ConfigError, InterruptedRun

HEALTH_WARNING = 10
COMPLIANCE_FOUND = 11


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise InterruptedRun(signum)


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
        # dlt's own configuration errors: missing or malformed settings, unknown destinations, bad DSNs
        if _is(current, "dlt.common.configuration", "ConfigurationException", "ConfigurationValueError") or \
                _is(current, "dlt.common.destination", "UnknownDestinationModule", "InvalidDestinationReference"):
            return ConfigError(_first_line(current))
    for current in chain:
        # the destination refusing: a file that is not DuckDB, a server refusing connections
        if _is(current, "duckdb", "IOException") or _is(current, "psycopg2", "OperationalError"):
            return ConfigError(f"destination: {_first_line(current)}")
    return None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def notice(line: str) -> None:
    """A one-line notice of a running command (waiting for a lock, taking over a stale one), on stderr."""
    print(line, file=sys.stderr, flush=True)


def redact(text: str) -> str:
    """`text` without the configured password or access token."""
    import dlt

    for key in ("password", "access_token"):
        secret = dlt.secrets.get(f"sources.antbot.{key}")
        if secret:
            text = text.replace(str(secret), "***")
    return text


def fail(command: str, exc: BaseException) -> typer.Exit:
    """Print `exc` as one line on stderr and return the Exit with its code (raise it `from None`)."""
    known = _classify(exc)
    if isinstance(known, InterruptedRun):
        line = f"antbot {command} {known}"
    else:
        line = f"antbot {command} failed: {_first_line(known) if known else f'{type(exc).__name__}: {_first_line(exc)}'}"
    print(redact(line), file=sys.stderr, flush=True)
    return typer.Exit(known.exit_code if known else 1)


@contextmanager
def reported(command: str) -> Iterator[None]:
    """Run a command's body: SIGTERM stops it like Ctrl-C, and any failure ends it with one line and its code."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except (typer.Exit, click.ClickException, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one line for any failure, never a traceback with config in it
        raise fail(command, exc) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
