"""The calling rules, one home for every command that applies them (`antbot compliance`, the views,
the push guards). Defaults are Vietnam's Decree 91/2020/ND-CP for advertising calls: 08:00-17:00 local
time, at most one call to a number in 24 hours, never a number on a do-not-call list.

Settings: `calling_hours`, `timezone`, `max_calls_per_24h`, `exempt_campaigns` and `dnc_table` of
`config.AntBotSettings` (section `sources.antbot`, like every other setting).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from antbot_source.config import AntBotSettings, antbot_settings
from antbot_source.errors import ConfigError


@dataclass(frozen=True)
class CallingRules:
    """When and how often a number may be called, and which campaigns the rules skip (`calling_rules`
    makes them of the settings)."""

    first_hour: time
    last_hour: time  # calls must start before it
    timezone: str
    max_calls_per_24h: int
    exempt_campaigns: tuple[str, ...]  # ids or names, as configured
    dnc_table: str | None

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


def calling_rules(settings: AntBotSettings | None = None) -> CallingRules:
    """The calling rules of `settings` (default: as dlt resolves them, SOURCES__ANTBOT__* /
    `[sources.antbot]`), checked."""
    settings = settings or antbot_settings()
    first, last = parse_calling_hours(settings.calling_hours)
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {settings.timezone!r}") from None
    if settings.max_calls_per_24h < 1:
        raise ConfigError(f"max_calls_per_24h: at least 1, not {settings.max_calls_per_24h}")
    dnc_table = settings.dnc_table
    if dnc_table and not re.fullmatch(r"[A-Za-z_]\w*", dnc_table):
        raise ConfigError(f"dnc_table: not a table name of the dataset: {dnc_table!r}")
    exempt = tuple(part.strip() for part in (settings.exempt_campaigns or "").split(",") if part.strip())
    return CallingRules(first, last, settings.timezone, settings.max_calls_per_24h, exempt, dnc_table or None)
