"""The `antbot` dlt source: every AntBot read endpoint as a resource, driven by `settings.ENDPOINTS`.

Configuration (section `antbot`): `SOURCES__ANTBOT__BASE_URL`, `..__USERNAME`, `..__PASSWORD`,
`..__ACCESS_TOKEN`, `..__START_DATE` and the tuning knobs, or the same keys under `[sources.antbot]`
in `.dlt/config.toml` / `.dlt/secrets.toml`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from antbot_source.api.client import ClientConfig, SharedClient
from antbot_source.destination.held import HeldRows
from antbot_source.errors import ConfigError, check_positive
from antbot_source.health.lateness import parse_lookback
from antbot_source.health.tally import RunTally
from antbot_source.resources.cdr.resource import CdrTuning, cdr_resource
from antbot_source.resources.cdr.verify import DEFAULT_VERIFY_DAYS, MAX_VERIFY_DAYS
from antbot_source.resources.full import Reconcile, full_resource
from antbot_source.resources.subscribers import subscribers_resource
from antbot_source.rows.dictionary import table_description
from antbot_source.rows.normalise import parse_timestamp
from antbot_source.rows.schema import json_fields
from antbot_source.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_LOOKBACK_HOURS,
    DEFAULT_RECONCILE_HOURS,
    DEFAULT_START_DATE,
    ENDPOINTS,
)

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


@dlt.source(name="antbot", section="antbot", max_table_nesting=0)
def antbot(
    base_url: str = DEFAULT_BASE_URL,
    username: str | None = None,
    password: TSecretStrValue | None = None,
    access_token: TSecretStrValue | None = None,
    # plain `str` (a datetime is taken too): dlt leaves a parameter typed `str | datetime` out of the
    # source's configuration, and SOURCES__ANTBOT__START_DATE would never reach it
    start_date: str = DEFAULT_START_DATE,
    token_path: str = ClientConfig.token_path,
    page_size: int = ClientConfig.page_size,
    timeout: float = ClientConfig.timeout,
    max_attempts: int = ClientConfig.max_attempts,
    # text: a number of hours, or "auto" (health.lateness)
    lookback_hours: str = str(DEFAULT_LOOKBACK_HOURS),
    verify_days: int = DEFAULT_VERIFY_DAYS,
    cdr_window_rows: int = CdrTuning.window_rows,
    cdr_run_rows: int = CdrTuning.run_rows,
    max_concurrency: int = CdrTuning.concurrency,
    max_requests_per_second: float | None = None,
    reconcile_hours: float = DEFAULT_RECONCILE_HOURS,
    reconcile: bool = False,
    since: str | None = None,
    until: str | None = None,
    held: HeldRows | None = None,
    tally: RunTally | None = None,
) -> Iterator[DltResource]:
    """Every AntBot read endpoint, one resource per row of `settings.ENDPOINTS`.

    `start_date`: where CDR history begins on a first load. `lookback_hours`: how far behind the CDR
    cursor each run starts again, to catch call records written late (`auto`: as far as they were
    seen to arrive). `verify_days`: days behind the look-back whose CDR counts every run verifies. `since` / `until`: backfill
    that CDR range without moving the live cursor. `cdr_window_rows` / `cdr_run_rows`: CDRs per date
    window / per pipeline run at most (a killed load resumes after the last finished run).
    `max_concurrency`: requests in flight at most for the CDR read, and for each table read in parts. `max_requests_per_second`: a cap on the whole
    run's request rate, to leave the account's throttle headroom for the dialer's users.
    `reconcile_hours`: how often each table is read in full, for the edits change detection cannot see (between
    reconciles a run reads what change detection says changed); `reconcile`: read every table in full now.
    `held`: the destination the resources compare with (default: the pipeline dlt runs the source in);
    `tally`: where the resources count what the run cost and found (default: a fresh one, not kept).
    """
    quiet_json_as_text()
    for setting, value in (("cdr_window_rows", cdr_window_rows), ("cdr_run_rows", cdr_run_rows),
                           ("max_concurrency", max_concurrency), ("reconcile_hours", reconcile_hours)):
        check_positive(setting, value)
    config = ClientConfig(
        base_url=base_url, username=username, password=password, access_token=access_token,
        token_path=token_path, page_size=page_size, timeout=timeout, max_attempts=max_attempts,
        max_requests_per_second=max_requests_per_second,
    )
    shared = SharedClient(config)
    full_reads = Reconcile(every=timedelta(hours=reconcile_hours), forced=reconcile)
    first = to_utc(start_date, "start_date") or to_utc(DEFAULT_START_DATE)
    since_at, until_at = to_utc(since, "since"), to_utc(until, "until")
    check_history_settings(first, since_at, verify_days, datetime.now(UTC))
    held = held if held is not None else HeldRows.of_running_pipeline()
    tally = tally if tally is not None else RunTally()
    for ep in ENDPOINTS:
        if ep.read == "cdr":
            resource = cdr_resource(
                config, start_date=first, lookback=parse_lookback(lookback_hours), verify_days=verify_days,
                since=since_at, until=until_at, window_rows=cdr_window_rows,
                run_rows=cdr_run_rows, concurrency=max_concurrency, held=held, tally=tally,
            )
        elif ep.read == "per_campaign":
            resource = subscribers_resource(shared, ep, readers=max_concurrency, reconcile=full_reads, held=held,
                                            tally=tally)
        else:
            resource = full_resource(shared, ep, readers=max_concurrency, reconcile=full_reads, held=held,
                                     tally=tally)
        yield resource.apply_hints(additional_table_hints={"description": table_description(ep.type_key)})
