"""The `antbot` dlt source: every AntBot read endpoint as a resource, driven by `settings.ENDPOINTS`,
configured by `config.AntBotSettings` (section `sources.antbot`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from antbot_source.api.client import AccountSession, SharedClient
from antbot_source.config import AntBotSettings, takes_settings
from antbot_source.destination.held import HeldRows
from antbot_source.errors import ConfigError, check_positive
from antbot_source.health.lateness import parse_lookback
from antbot_source.health.tally import RunTally
from antbot_source.resources.cdr.resource import cdr_resource
from antbot_source.resources.cdr.verify import MAX_VERIFY_DAYS
from antbot_source.resources.full import Reconcile, full_resource
from antbot_source.resources.subscribers import subscribers_resource
from antbot_source.rows.dictionary import table_description
from antbot_source.rows.normalise import parse_timestamp
from antbot_source.rows.schema import json_fields
from antbot_source.settings import DEFAULT_START_DATE, ENDPOINTS

__all__ = ["antbot", "to_utc"]

# tables with a JSON column (Arrow has no JSON type that dlt reads: those columns travel as JSON text)
JSON_TABLES = frozenset(ep.table for ep in ENDPOINTS if json_fields(ep.type_key))


class JsonAsTextNotice(logging.Filter):
    """Drops dlt's warning that an Arrow column's type differs from the resource's hint, for this
    source's tables with JSON columns: JSON text in an Arrow string column, hinted `json`, is what they
    are meant to be. Every other record passes, this warning for other resources too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        prefix = "In resource: "
        if not message.startswith(prefix) or "several column hints were different" not in message:
            return True
        return message[len(prefix):].partition(",")[0] not in JSON_TABLES


def quiet_json_as_text() -> None:
    """Install `JsonAsTextNotice` on dlt's logger, once however many sources are built."""
    logger = logging.getLogger("dlt")
    if not any(isinstance(f, JsonAsTextNotice) for f in logger.filters):
        logger.addFilter(JsonAsTextNotice())


def to_utc(value: str | datetime | None, setting: str = "timestamp") -> datetime | None:
    """A configured moment as a timezone-aware UTC datetime (a value without offset is taken as UTC);
    a value that does not parse is a ConfigError naming `setting`."""
    if value is None or value == "":
        return None
    try:
        return parse_timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{setting}: not an ISO-8601 date or timestamp: {value!r}") from None


def check_history_settings(start_date: datetime, since: datetime | None, verify_days: int, now: datetime) -> None:
    """Refuse the settings that would make a run read nothing while it moves its marks on: a start in
    the future (a typo, a year off) would leave history that a corrected setting must then backfill."""
    if start_date > now:
        raise ConfigError(f"start_date {start_date.isoformat()} is in the future: CDR history would begin after "
                          "every call (a year off?)")
    if since is not None and since > now:
        raise ConfigError(f"since: {since.isoformat()} is in the future")
    if not 0 <= verify_days <= MAX_VERIFY_DAYS:
        raise ConfigError(f"verify_days: between 0 and {MAX_VERIFY_DAYS}, not {verify_days}")


@dlt.source(name="antbot", section="antbot", max_table_nesting=0, spec=AntBotSettings)
@takes_settings
def antbot(settings: AntBotSettings, account: AccountSession | None = None, held: HeldRows | None = None,
           tally: RunTally | None = None, **_each_setting: Any) -> Iterator[DltResource]:
    """Every AntBot read endpoint, one resource per row of `settings.ENDPOINTS`.

    Takes every setting of AntBotSettings (`config.py` says what each does) as a keyword argument,
    which wins over SOURCES__ANTBOT__* and `[sources.antbot]`. `account`: the session (request budget
    and token) to read with, for a load that runs several source instances on one session (default: a
    new one of this source instance's own). `held`: the destination the resources compare with
    (default: the pipeline dlt runs the source in); `tally`: where the resources count what the run
    cost and found (default: a fresh one, not kept).
    """
    quiet_json_as_text()
    for setting in ("cdr_window_rows", "cdr_run_rows", "max_concurrency", "reconcile_hours"):
        check_positive(setting, getattr(settings, setting))
    account = account or settings.account()
    shared = SharedClient(account)
    full_reads = Reconcile(every=timedelta(hours=settings.reconcile_hours), forced=settings.reconcile)
    first = to_utc(settings.start_date, "start_date") or to_utc(DEFAULT_START_DATE)
    since_at, until_at = to_utc(settings.since, "since"), to_utc(settings.until, "until")
    check_history_settings(first, since_at, settings.verify_days, datetime.now(UTC))
    held = held if held is not None else HeldRows.of_running_pipeline()
    tally = tally if tally is not None else RunTally()
    readers = settings.max_concurrency
    for ep in ENDPOINTS:
        if ep.read == "cdr":
            resource = cdr_resource(
                account, start_date=first, lookback=parse_lookback(settings.lookback_hours),
                verify_days=settings.verify_days, since=since_at, until=until_at,
                window_rows=settings.cdr_window_rows, run_rows=settings.cdr_run_rows, concurrency=readers,
                held=held, tally=tally,
            )
        elif ep.read == "per_campaign":
            resource = subscribers_resource(shared, ep, readers=readers, reconcile=full_reads, held=held, tally=tally)
        else:
            resource = full_resource(shared, ep, readers=readers, reconcile=full_reads, held=held, tally=tally)
        yield resource.apply_hints(additional_table_hints={"description": table_description(ep.type_key)})
