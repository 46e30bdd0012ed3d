"""The calling rules, one home for every command that applies them (`antbot compliance`, the views,
the push guards). Defaults are Vietnam's Decree 91/2020/ND-CP for advertising calls: 08:00-17:00 local
time, at most one call to a number in 24 hours, never a number on a do-not-call list.

Settings (section `sources.antbot`, like every other setting): `SOURCES__ANTBOT__CALLING_HOURS`
("08:00-17:00"), `..__TIMEZONE` ("Asia/Ho_Chi_Minh"), `..__MAX_CALLS_PER_24H` (1),
`..__EXEMPT_CAMPAIGNS` (comma-separated campaign ids or names), `..__DNC_TABLE` (a table of the
dataset with a `phone_number` column, such as a national registry; none by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dlt.common.configuration.inject import with_config

from antbot_source.errors import ConfigError

DEFAULT_CALLING_HOURS = "08:00-17:00"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_MAX_CALLS_PER_24H = 1


@dataclass(frozen=True)
class CallingRules:
    """When and how often a number may be called, and which campaigns the rules skip."""

    first_hour: time = time(8)
    last_hour: time = time(17)  # calls must start before it
    timezone: str = DEFAULT_TIMEZONE
    max_calls_per_24h: int = DEFAULT_MAX_CALLS_PER_24H
    exempt_campaigns: tuple[str, ...] = ()  # ids or names, as configured
    dnc_table: str | None = None

    def allows(self, start: time, stop: time) -> bool:
        """Whether a daily dialling window [start, stop] lies within the calling hours."""
        return self.first_hour <= start and stop <= self.last_hour and start < stop


def _clock(text: str, setting: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{setting}: not a time of day (HH:MM): {text.strip()!r}") from None


def parse_calling_hours(value: str) -> tuple[time, time]:
    """'08:00-17:00' as (08:00, 17:00); anything else is a ConfigError naming the setting."""
    first, sep, last = str(value).partition("-")
    if not sep:
        raise ConfigError(f"calling_hours: expected HH:MM-HH:MM, not {value!r}")
    start, stop = _clock(first, "calling_hours"), _clock(last, "calling_hours")
    if start >= stop:
        raise ConfigError(f"calling_hours: the first hour must be before the last: {value!r}")
    return start, stop


@with_config(sections=("sources", "antbot"))
def calling_rules(
    calling_hours: str = DEFAULT_CALLING_HOURS,
    timezone: str = DEFAULT_TIMEZONE,
    max_calls_per_24h: int = DEFAULT_MAX_CALLS_PER_24H,
    exempt_campaigns: str | None = None,
    dnc_table: str | None = None,
) -> CallingRules:
    """The calling rules of SOURCES__ANTBOT__* / `[sources.antbot]`, checked."""
    first, last = parse_calling_hours(calling_hours)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {timezone!r}") from None
    if max_calls_per_24h < 1:
        raise ConfigError(f"max_calls_per_24h: at least 1, not {max_calls_per_24h}")
    if dnc_table and not re.fullmatch(r"[A-Za-z_]\w*", dnc_table):
        raise ConfigError(f"dnc_table: not a table name of the dataset: {dnc_table!r}")
    exempt = tuple(part.strip() for part in (exempt_campaigns or "").split(",") if part.strip())
    return CallingRules(first, last, timezone, max_calls_per_24h, exempt, dnc_table or None)
