"""AntBotSettings: the one declaration of every setting of section `sources.antbot`.

dlt resolves it as it resolves any configspec: `SOURCES__ANTBOT__<KEY>` environment variables win
over `[sources.antbot]` in `.dlt/config.toml` / `.dlt/secrets.toml`, which win over the defaults
below. The source (`antbot()`, whose keyword arguments are these fields), the connection check, the
push, the calling rules and every command derive what they need from it.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.configuration.specs.base_configuration import is_secret_hint
from dlt.common.typing import TSecretStrValue

from antbot_source.api.client import AccountSession, ClientConfig
from antbot_source.resources.cdr.resource import CdrTuning
from antbot_source.resources.cdr.verify import DEFAULT_VERIFY_DAYS
from antbot_source.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_LOOKBACK_HOURS,
    DEFAULT_RECONCILE_HOURS,
    DEFAULT_START_DATE,
)

SECTIONS = ("sources", "antbot")
F = TypeVar("F", bound=Callable[..., Any])


@configspec
class AntBotSettings(BaseConfiguration):
    """Every setting of section `sources.antbot` (README, Configuration)."""

    # -- the account ------------------------------------------------------------------------------
    base_url: str = DEFAULT_BASE_URL
    """The API's root: `https://host/rest-api` (an IPv6 host in brackets)."""
    username: str | None = None
    """The account's user, who logs in at `token_path` with `password`."""
    password: TSecretStrValue | None = None
    """The user's password."""
    access_token: TSecretStrValue | None = None
    """A ready bearer token, used instead of a login (renewed with username/password when given)."""
    token_path: str = "get-token/"
    """Where the login goes: a path under `base_url`, never a URL."""
    # -- every request ----------------------------------------------------------------------------
    page_size: int = 1000
    """Rows asked for per page: sent, never relied on."""
    timeout: float = 30.0
    """Seconds per request."""
    max_attempts: int = 8
    """Tries per request (429, 5xx, timeouts, dropped connections)."""
    max_requests_per_second: float | None = None
    """A cap on the request rate of a whole load or push (every thread and walker, the connection check
    too), to leave the account's throttle headroom for the dialer's users; none: the throttle's."""
    max_concurrency: int = CdrTuning.concurrency
    """Requests in flight at most: for the CDR read, each table read in parts, and a push."""
    # -- what a load reads ------------------------------------------------------------------------
    # plain `str` (a datetime is taken too): dlt leaves a field typed `str | datetime` out of the resolution
    start_date: str = DEFAULT_START_DATE
    """Where CDR history begins on a first load (ISO-8601; no offset = UTC)."""
    lookback_hours: str = str(DEFAULT_LOOKBACK_HOURS)
    """How far behind the CDR cursor each run starts again, in hours (0 to 8760), or `auto`: as far as
    late call records were seen to arrive (health.lateness)."""
    verify_days: int = DEFAULT_VERIFY_DAYS
    """Days behind the look-back whose CDR counts every run compares with the destination."""
    cdr_window_rows: int = CdrTuning.window_rows
    """CDRs per date window at most."""
    cdr_run_rows: int = CdrTuning.run_rows
    """CDRs per pipeline run at most (a killed load resumes after the last finished run)."""
    reconcile_hours: float = DEFAULT_RECONCILE_HOURS
    """How often each table is read in full, for the edits change detection cannot see."""
    reconcile: bool = False
    """Read every table in full on this run."""
    since: str | None = None
    """Backfill the CDRs from this moment on, without moving the live cursor."""
    until: str | None = None
    """Backfill the CDRs up to this moment, without moving the live cursor."""
    publish: str | None = None
    """A DuckDB file replaced with a read-only copy after each load (destination/publish.py)."""
    # -- the calling rules (compliance/rules.py) --------------------------------------------------
    calling_hours: str = "08:00-17:00"
    """When counted calls may start, local time (HH:MM-HH:MM)."""
    timezone: str = "Asia/Ho_Chi_Minh"
    """The time zone of the calling hours."""
    max_calls_per_24h: int = 1
    """Counted calls to one number in 24 hours at most."""
    exempt_campaigns: str | None = None
    """Campaigns the rules skip, by id or name, comma-separated."""
    dnc_table: str | None = None
    """A table of the dataset with a `phone_number` column checked besides the account's DNC lists."""

    # the client's part of the settings: ClientConfig's fields, but for what a run adds
    CLIENT_FIELDS: ClassVar[tuple[str, ...]] = tuple(
        f.name for f in dataclasses.fields(ClientConfig) if f.name != "budget_path")

    def client(self) -> ClientConfig:
        """The AntBot client's configuration (checked: a bad URL, a value out of range or no
        credentials is a ConfigError)."""
        return ClientConfig(**{name: getattr(self, name) for name in self.CLIENT_FIELDS})

    def account(self) -> AccountSession:
        """A new session of the account (request budget and token) for one load, source or push."""
        return AccountSession(self.client())

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """The settings that are secrets (never shown)."""
        return tuple(name for name, hint in cls.get_resolvable_fields().items() if is_secret_hint(hint))


def antbot_settings(**overrides: Any) -> AntBotSettings:
    """The settings as dlt resolves them (SOURCES__ANTBOT__*, `[sources.antbot]`, defaults), `overrides`
    (not None) winning over all."""
    given = {name: value for name, value in overrides.items() if value is not None}
    unknown = set(given) - set(AntBotSettings.get_resolvable_fields())
    if unknown:
        raise TypeError(f"not a setting of sources.antbot: {', '.join(sorted(unknown))}")
    return resolve_configuration(AntBotSettings(), sections=SECTIONS, explicit_value=given)


def takes_settings(f: F) -> F:
    """Give `f` one keyword argument per setting in its signature, for dlt to bind explicit values to
    and resolve the others, and to pass the whole AntBotSettings to `f`'s argument annotated with it
    (the per-setting arguments reach `f` in its `**kwargs`, which it ignores)."""
    own = [p for p in inspect.signature(f).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    settings = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=getattr(AntBotSettings, name),
                                  annotation=hint)
                for name, hint in AntBotSettings.get_resolvable_fields().items()]
    f.__signature__ = inspect.signature(f).replace(parameters=[*own, *settings])  # type: ignore[attr-defined]
    return f
