"""Field lists of every sandbox table, in the order the API renders them, and the CDR cause table."""

from __future__ import annotations

import numpy as np

from antbot_source.sandbox.table import Field, Table

# FreeSWITCH hangup causes: (disposition, hangup_cause, Q.850 code, SIP status, endpoint_disposition)
CAUSES: list[tuple[str, str, str, str, str]] = [
    ("ANSWER", "NORMAL_CLEARING", "16", "200", "ANSWER"),
    ("BUSY", "USER_BUSY", "17", "486", "EARLY MEDIA"),
    ("NOANSWER", "NO_ANSWER", "19", "480", "EARLY MEDIA"),
    ("NOANSWER", "NO_USER_RESPONSE", "18", "408", "EARLY MEDIA"),
    ("CANCEL", "ORIGINATOR_CANCEL", "487", "487", "EARLY MEDIA"),
    ("CONGESTION", "NORMAL_CIRCUIT_CONGESTION", "34", "503", "CONGESTION"),
    ("CONGESTION", "SWITCH_CONGESTION", "42", "503", "CONGESTION"),
    ("FAILED", "UNALLOCATED_NUMBER", "1", "404", "FAILED"),
    ("FAILED", "CALL_REJECTED", "21", "603", "FAILED"),
    ("FAILED", "NORMAL_TEMPORARY_FAILURE", "41", "503", "FAILED"),
    ("FAILED", "INVALID_NUMBER_FORMAT", "28", "484", "FAILED"),
    ("FAILED", "RECOVERY_ON_TIMER_EXPIRE", "102", "408", "FAILED"),
    ("FAILED", "SUBSCRIBER_ABSENT", "20", "480", "FAILED"),
]
ANSWER = 0
_CAUSE_COLS = list(zip(*CAUSES, strict=True))
DISPOSITION, HANGUP_CAUSE, Q850, SIP_STATUS, ENDPOINT = (np.array(c, dtype=object) for c in _CAUSE_COLS)
# weights of the unanswered causes (index 1..) for a healthy gateway and for a broken one
NOANSWER_WEIGHTS = np.array([0.22, 0.30, 0.08, 0.12, 0.06, 0.02, 0.06, 0.06, 0.03, 0.02, 0.01, 0.02])
BROKEN_WEIGHTS = np.array([0, 0, 0, 0, 0.35, 0.15, 0.1, 0.1, 0.25, 0, 0.05, 0])
DURATION_RING = {  # ring seconds (low, high) per disposition, before any talk time
    "ANSWER": (3, 20), "BUSY": (1, 8), "NOANSWER": (30, 60), "CANCEL": (5, 40),
    "CONGESTION": (0, 3), "FAILED": (0, 4),
}


def _f(spec: str) -> list[Field]:
    """Fields from 'name:kind name:kind ...' (kind defaults to obj)."""
    out = []
    for item in spec.split():
        name, _, kind = item.partition(":")
        out.append(Field(name, kind or "obj"))
    return out


CDR_FIELDS = [
    Field("id", "int"), Field("callid", "uuid"), Field("request_uuid", "uuid"), Field("callerid", "obj"),
    Field("phone_number", "obj"), Field("starting_date", "ts"), Field("duration", "int"),
    Field("billsec", "int"),
    Field("disposition", "cat", "cause", DISPOSITION), Field("hangup_cause", "cat", "cause", HANGUP_CAUSE),
    Field("hangup_cause_q850", "cat", "cause", Q850), Field("sip_term_status", "cat", "cause", SIP_STATUS),
    Field("sip_term_cause", "cat", "cause", Q850), Field("endpoint_disposition", "cat", "cause", ENDPOINT),
    Field("leg_type", "int"), Field("amd_status", "nint"), Field("campaign", "nint"),
    Field("subscriber", "nint"), Field("used_gateway", "int"), Field("alarm", "bool"), Field("otp", "bool"),
    Field("user", "int"),
]

TABLE_FIELDS: dict[str, list[Field]] = {
    "cdr": CDR_FIELDS,
    "subscribers": _f(
        "id:int campaign:int contact:int duplicate_contact status:int count_attempt:int "
        "completion_count_attempt:int last_attempt:ts duration:int billsec:int disposition "
        "collected_data:json created_date:ts updated_date:ts"
    ),
    "campaigns": _f(
        "id:int name description callerid caller_name status:int phonebook aleg_gateway:int object_id:int "
        "frequency:int callmaxduration:int maxretry:int intervalretry:int completion_maxretry:int "
        "completion_intervalretry:int startingdate:ts expirationdate:ts daily_start_time daily_stop_time "
        "monday:bool tuesday:bool wednesday:bool thursday:bool friday:bool saturday:bool sunday:bool "
        "totalcontact:int completed:int"
    ),
    "contacts": _f(
        "id:int phonebook:int contact status:int last_name first_name email description address city "
        "country additional_vars:json created_date:ts updated_date:ts"
    ),
    "phonebooks": _f("id:int name description user:int created_date:ts updated_date:ts"),
    "surveys": _f("id:int name tts_language description campaign:int user:int created_date:ts updated_date:ts"),
    "survey_templates": _f(
        "id:int name tts_language description is_onboarding:bool user:int created_date:ts updated_date:ts"
    ),
    "section_templates": _f(
        "id:int type:int survey:int question script order:int created_date:ts updated_date:ts"
    ),
    "gateways": _f(
        "id:int name status:int description addprefix removeprefix gateways subdomain gateway_codecs "
        "gateway_timeouts gateway_retries originate_dial_string secondused created_date:ts updated_date:ts "
        "addparameter count_call:int count_in_use maximum_call is_trial:bool failover"
    ),
    "dnc_lists": _f("id:int name description user:int created_date:ts updated_date:ts"),
    "dnc_contacts": _f("id:int dnc:int phone_number created_date:ts updated_date:ts"),
    "calendar_settings": _f(
        "id:int label callerid caller_name call_timeout:int survey:int aleg_gateway:int user:int "
        "created_date:ts updated_date:ts"
    ),
    "calendar_users": _f("id:int username calendar_setting:int created_date:ts"),
    "calendars": _f("id:int name user:int max_concurrent:int created_date:ts"),
    "events": _f(
        "id:int title description start:ts end:ts creator:int calendar:int status:int data:json "
        "created_on:ts parent_event:nint occ_count:int"
    ),
    "alarms": _f(
        "id:int alarm_phonenumber date_start_notice:ts phonenumber_transfer event:int status:int result:int "
        "survey:int maxretry:int retry_count:int num_attempt:int created_date:ts updated_date:ts"
    ),
}
TABLES = list(TABLE_FIELDS)

# endpoint path (under /rest-api/) -> table name
TABLE_OF_PATH: dict[str, str] = {
    "cdr": "cdr", "subscriber-list": "subscribers", "campaigns": "campaigns", "contact": "contacts",
    "phonebook": "phonebooks", "survey-list": "surveys", "survey-template": "survey_templates",
    "section-template": "section_templates", "gateway": "gateways", "dnc-list": "dnc_lists",
    "dnc-contact": "dnc_contacts", "calendar-setting": "calendar_settings",
    "calendar-user": "calendar_users", "calendar": "calendars", "event": "events", "alarm": "alarms",
}

# relation fields (integer ids, or lists of them) and the endpoint of the row they point at
RELATIONS: dict[str, dict[str, str]] = {
    "cdr": {"campaign": "campaigns", "subscriber": "subscriber-list", "used_gateway": "gateway"},
    "subscribers": {"campaign": "campaigns", "contact": "contact"},
    "campaigns": {"phonebook": "phonebook", "aleg_gateway": "gateway"},
    "contacts": {"phonebook": "phonebook"},
    "surveys": {"campaign": "campaigns"},
    "section_templates": {"survey": "survey-template"},
    "dnc_contacts": {"dnc": "dnc-list"},
    "calendar_settings": {"survey": "survey-template", "aleg_gateway": "gateway"},
    "calendar_users": {"calendar_setting": "calendar-setting"},
    "events": {"calendar": "calendar", "parent_event": "event"},
    "alarms": {"event": "event", "survey": "survey-template"},
}


def new_table(name: str) -> Table:
    """An empty table with the fields of `name` (CDRs are kept sorted by starting_date)."""
    if name == "cdr":
        return Table(name, TABLE_FIELDS[name], sort_col="starting_date", vn_text=("starting_date",))
    return Table(name, TABLE_FIELDS[name])
