"""Errors the connector raises, each with the exit code the `antbot` command gives for it."""

import math
import re

# the user info of a URL (`scheme://user:password@`), or `user:password@` before a host without a scheme
_USERINFO = re.compile(r"(?<=://)[^\s/@]+@|(?<![\w:/])[^\s/@'\":]+:[^\s/@'\"]+@")


def hide_userinfo(text: str) -> str:
    """`text` with the user info of every URL in it (`http://user:pass@host`) masked as `***@`."""
    return _USERINFO.sub("***@", text)


class AntBotError(Exception):
    """Base class: an AntBot call failed in a way the user must hear about."""

    exit_code = 5


class AuthError(AntBotError):
    """Bad credentials, or a token the API refuses twice."""

    exit_code = 3


class UnreachableError(AntBotError):
    """The host cannot be reached (DNS, refused connection, timeouts after retries)."""

    exit_code = 4


class ApiError(AntBotError):
    """The API answered with an error: an HTTP error status or HTTP 200 carrying `error`."""

    exit_code = 5

    def __init__(self, message: str, status_code: int | None = None, body: object = None):
        super().__init__(message)
        self.status_code = status_code
        self.body = body


# Exit codes of `antbot push` when it ran to the end without an error above (0: every row sent or present).
PUSH_REJECTED = 6  # some input rows were rejected (see push_rejects); every valid row was sent or present
PUSH_FAILED = 7  # some rows could not be sent (see push_ledger); wins over PUSH_REJECTED
PUSH_NEEDS_CONFIRMATION = 8  # stopped before sending: started campaigns would dial new contacts (use --yes)


class ConfigError(AntBotError):
    """The configuration is missing or malformed (no credentials, a timestamp that does not parse)."""

    exit_code = 2


class BusyError(AntBotError):
    """Another run holds the pipeline, the DuckDB file or the warehouse dataset, and did not let go in time."""

    exit_code = 9


class InterruptedRun(AntBotError):
    """SIGINT or SIGTERM stopped the run; what it committed stays, the next run resumes."""

    def __init__(self, signum: int):
        super().__init__("interrupted: run again to resume")
        self.exit_code = 128 + signum


def require_extra(extra: str, *modules: str) -> None:
    """A ConfigError naming the extra to install when one of `modules` is missing."""
    from importlib.util import find_spec

    missing = [name for name in modules if find_spec(name) is None]
    if missing:
        raise ConfigError(f"this needs the {extra} extra: pip install 'antbot-dlt[{extra}]' "
                          f"(missing {', '.join(missing)})")


def check_positive(setting: str, value: float) -> None:
    """A ConfigError naming `setting` unless `value` is a finite number above 0."""
    if not 0 < value < math.inf:
        raise ConfigError(f"{setting} must be a number above 0, not {value!r}")
