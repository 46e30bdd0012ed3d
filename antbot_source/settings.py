"""The endpoint table: one row per AntBot GET endpoint; it drives every resource of the source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from dlt.common.schema.typing import TWriteDispositionConfig

ReadMode = Literal["full", "per_campaign", "cdr"]

MERGE: TWriteDispositionConfig = {"disposition": "merge", "strategy": "delete-insert"}

DEFAULT_BASE_URL = "https://alice.antbuddy.com/rest-api"
DEFAULT_DATASET = "antbot"
# not antbot.duckdb: DuckDB names a file's catalog after its stem, and a catalog `antbot` holding the
# dataset `antbot` makes every `antbot.<table>` reference ambiguous (a Binder Error)
DEFAULT_DUCKDB = "antbot_data.duckdb"
# the pipeline's name on destinations other than DuckDB (there it is the file's stem: pipeline.pipeline_name_for)
DEFAULT_PIPELINE = "antbot"
DEFAULT_LOOKBACK_HOURS = 3.0
# How often every table is read in full, for the edits change detection cannot see (a contact's name, a campaign's
# settings, an event's status). A day: edits land by the next morning's reports, as with the daily
# re-backfill other connectors use by default, and a reconcile costs what a full read costs, once
# a day instead of on each of the 96 runs of a 15-minute schedule.
DEFAULT_RECONCILE_HOURS = 24.0
# where CDR history begins on a first load when `start_date` is not configured
DEFAULT_START_DATE = "2019-01-01T00:00:00+00:00"
# campaign status (read scale): 4 ended, 5 completed; their subscribers no longer change
CLOSED_CAMPAIGN_STATUSES = frozenset({4, 5})
# subscriber status: 1 pending, 2 pause, 3 abort, 4 fail, 5 sent, 6 in process, 7 not authorized, 8 completed
SUBSCRIBER_STATUSES = tuple(range(1, 9))


@dataclass(frozen=True)
class Endpoint:
    """How one destination table is read.

    `read`: "full" reads the whole list at a reconcile and merges it, deleting rows the API no longer
    has, and between reconciles detects its new rows and deletes (`ordered_by_id`: the API lists
    it by id, new rows last; an unordered list is read in full every run); "per_campaign" reads
    `subscriber-list/` campaign by campaign, and between reconciles detects its changes and counts it per
    status; "cdr" is the windowed, look-back read of call records. `params` are fixed filters sent
    on every read; `types` names the entry of `schema.TABLE_TYPES` when it is not the table name;
    `split_by` reads a full table in parts, one per parent row.
    """

    table: str
    path: str
    read: ReadMode = "full"
    primary_key: str = "id"
    write_disposition: TWriteDispositionConfig = field(default_factory=lambda: dict(MERGE))  # type: ignore[arg-type]
    params: Mapping[str, str] = field(default_factory=dict)
    types: str | None = None
    # (filter, parent table): read the list in parts side by side, one per row of the parent table,
    # through that filter (a far-away service answers one page at a time per walk)
    split_by: tuple[str, str] | None = None
    ordered_by_id: bool = True
    # a table whose rows this one reads at the destination: when both are loaded, this one is loaded in
    # a run after that table's (subscribers read the calls the CDRs just loaded name)
    after: str | None = None

    @property
    def type_key(self) -> str:
        """The key of this table's column types in `schema.TABLE_TYPES` (the table name by default)."""
        return self.types or self.table


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("cdr", "cdr/", read="cdr", ordered_by_id=False),
    Endpoint("subscribers", "subscriber-list/", read="per_campaign", after="cdr"),
    Endpoint("campaigns", "campaigns/"),
    Endpoint("contacts", "contact/", split_by=("phonebook", "phonebooks")),
    Endpoint("phonebooks", "phonebook/"),
    Endpoint("surveys", "survey-list/"),
    Endpoint("survey_templates", "survey-template/"),
    Endpoint("section_templates", "section-template/"),
    Endpoint("gateways", "gateway/"),
    Endpoint("dnc_lists", "dnc-list/"),
    Endpoint("dnc_contacts", "dnc-contact/"),
    Endpoint("calendar_settings", "calendar-setting/"),
    Endpoint("calendar_users", "calendar-user/"),
    Endpoint("calendars", "calendar/"),
    Endpoint("events", "event/"),
    Endpoint("alarms", "alarm/"),
)

TABLE_NAMES: tuple[str, ...] = tuple(e.table for e in ENDPOINTS)


def endpoint(table: str) -> Endpoint:
    """The endpoint row of a destination table."""
    for row in ENDPOINTS:
        if row.table == table:
            return row
    raise KeyError(table)
