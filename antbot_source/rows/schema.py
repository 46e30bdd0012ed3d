"""Explicit destination column types per table, for the fields listed in docs/sandbox.md.

Fields the API adds later still load (dlt infers their type); the ones below are pinned so that
timestamps are timezone-aware, relations are integers and JSON stays one JSON column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from antbot_source.rows.dictionary import column_description

if TYPE_CHECKING:  # dlt stays out of the CDR walker processes, which import this module
    from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

TS, INT, BOOL, JSON, TEXT = "timestamp", "bigint", "bool", "json", "text"

# the column that marks a tombstone: rows carrying it are deleted from the destination by the merge
DELETED_COLUMN = "_antbot_deleted"

_CREATED_UPDATED = {"created_date": TS, "updated_date": TS}

TABLE_TYPES: Mapping[str, Mapping[str, str]] = {
    "cdr": {
        "id": INT, "callid": TEXT, "request_uuid": TEXT, "callerid": TEXT, "phone_number": TEXT,
        "starting_date": TS, "duration": INT, "billsec": INT, "disposition": TEXT, "hangup_cause": TEXT,
        "hangup_cause_q850": TEXT, "sip_term_status": TEXT, "sip_term_cause": TEXT,
        "endpoint_disposition": TEXT, "leg_type": INT, "amd_status": INT, "campaign": INT,
        "subscriber": INT, "used_gateway": INT, "alarm": BOOL, "otp": BOOL, "user": INT,
    },
    "subscribers": {
        "id": INT, "campaign": INT, "contact": INT, "duplicate_contact": TEXT, "status": INT,
        "count_attempt": INT, "completion_count_attempt": INT, "last_attempt": TS, "duration": INT,
        "billsec": INT, "disposition": TEXT, "collected_data": JSON, **_CREATED_UPDATED,
    },
    "campaigns": {
        "id": INT, "name": TEXT, "description": TEXT, "callerid": TEXT, "caller_name": TEXT, "status": INT,
        "phonebook": JSON, "aleg_gateway": INT, "object_id": INT, "frequency": INT, "callmaxduration": INT,
        "maxretry": INT, "intervalretry": INT, "completion_maxretry": INT, "completion_intervalretry": INT,
        "startingdate": TS, "expirationdate": TS, "daily_start_time": TEXT, "daily_stop_time": TEXT,
        "monday": BOOL, "tuesday": BOOL, "wednesday": BOOL, "thursday": BOOL, "friday": BOOL,
        "saturday": BOOL, "sunday": BOOL, "totalcontact": INT, "completed": INT,
    },
    "contacts": {
        "id": INT, "phonebook": INT, "contact": TEXT, "status": INT, "last_name": TEXT, "first_name": TEXT,
        "email": TEXT, "description": TEXT, "address": TEXT, "city": TEXT, "country": TEXT,
        "additional_vars": JSON, **_CREATED_UPDATED,
    },
    "phonebooks": {"id": INT, "name": TEXT, "description": TEXT, "user": INT, **_CREATED_UPDATED},
    "survey_templates": {
        "id": INT, "name": TEXT, "tts_language": TEXT, "description": TEXT, "is_onboarding": BOOL,
        "user": INT, **_CREATED_UPDATED,
    },
    "surveys": {
        "id": INT, "name": TEXT, "tts_language": TEXT, "description": TEXT, "campaign": INT, "user": INT,
        **_CREATED_UPDATED,
    },
    "section_templates": {
        "id": INT, "type": INT, "survey": INT, "question": TEXT, "script": TEXT, "order": INT,
        **_CREATED_UPDATED,
    },
    "gateways": {
        "id": INT, "name": TEXT, "status": INT, "description": TEXT, "addprefix": TEXT, "removeprefix": TEXT,
        "gateways": TEXT, "subdomain": TEXT, "gateway_codecs": TEXT, "gateway_timeouts": TEXT,
        "gateway_retries": TEXT, "originate_dial_string": TEXT, "secondused": INT, "addparameter": TEXT,
        "count_call": INT, "count_in_use": INT, "maximum_call": INT, "is_trial": BOOL, "failover": INT,
        **_CREATED_UPDATED,
    },
    "dnc_lists": {"id": INT, "name": TEXT, "description": TEXT, "user": INT, **_CREATED_UPDATED},
    "dnc_contacts": {"id": INT, "dnc": INT, "phone_number": TEXT, **_CREATED_UPDATED},
    "calendar_settings": {
        "id": INT, "label": TEXT, "callerid": TEXT, "caller_name": TEXT, "call_timeout": INT, "survey": INT,
        "aleg_gateway": INT, "user": INT, **_CREATED_UPDATED,
    },
    "calendar_users": {"id": INT, "username": TEXT, "calendar_setting": INT, "created_date": TS},
    "calendars": {"id": INT, "name": TEXT, "user": INT, "max_concurrent": INT, "created_date": TS},
    "events": {
        "id": INT, "title": TEXT, "description": TEXT, "start": TS, "end": TS, "creator": INT, "calendar": INT,
        "status": INT, "data": JSON, "created_on": TS, "parent_event": INT, "occ_count": INT,
    },
    "alarms": {
        "id": INT, "alarm_phonenumber": TEXT, "date_start_notice": TS, "phonenumber_transfer": TEXT,
        "event": INT, "status": INT, "result": INT, "survey": INT, "maxretry": INT, "retry_count": INT,
        "num_attempt": INT, **_CREATED_UPDATED,
    },
}


def _column(table: str, name: str, data_type: str) -> TColumnSchema:
    column: TColumnSchema = {"name": name, "data_type": data_type, "nullable": name != "id"}  # type: ignore[typeddict-item]
    if description := column_description(table, name):
        column["description"] = description
    if data_type == TS:
        column["timezone"] = True
    return column


def columns(table: str, *, tombstones: bool = False) -> TTableSchemaColumns:
    """dlt column hints of `table`, with their descriptions (`rows.dictionary`); with `tombstones`, the
    hard-delete marker column as well."""
    hints = {name: _column(table, name, data_type) for name, data_type in TABLE_TYPES[table].items()}
    if tombstones:
        hints[DELETED_COLUMN] = {"name": DELETED_COLUMN, "data_type": BOOL, "nullable": True, "hard_delete": True,
                                 "description": column_description(table, DELETED_COLUMN)}  # type: ignore[typeddict-item]
    return hints


def timestamp_fields(table: str) -> tuple[str, ...]:
    """The fields of `table` that hold timestamps."""
    return tuple(name for name, data_type in TABLE_TYPES[table].items() if data_type == TS)


def json_fields(table: str) -> tuple[str, ...]:
    """The fields of `table` that hold JSON (objects, lists, or JSON-encoded strings)."""
    return tuple(name for name, data_type in TABLE_TYPES[table].items() if data_type == JSON)
