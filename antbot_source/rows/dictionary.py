"""The data dictionary: one description for every table, view and column the connector writes.

Loaded tables carry theirs in dlt's schema (column `description` hints, table `description`; see
`rows.schema.columns`); `destination.comments` writes them all into the database as comments; and
`python -m antbot_source.destination.tables_doc > docs/tables.md` prints them. Codes are the API's
(see labels in `analytics.labels`). Imports nothing heavy: the CDR walker processes load it with
`rows.schema`.

A new view is one entry in VIEWS: its description and the columns no entry of VIEW_COLUMNS covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class Relation(NamedTuple):
    """A table's or view's description and its columns' (a view's `base` lends it the columns it selects)."""

    description: str
    columns: Mapping[str, str]
    base: str | None = None


_UTC = "(UTC)"
_CREATED_UPDATED = {
    "created_date": f"When the object was created at AntBot {_UTC}.",
    "updated_date": f"When the object was last changed at AntBot {_UTC}; some changes do not bump it.",
}
_USER = {"user": "AntBot user (account) id that owns the object."}

# columns that mean the same in every table that has them
COMMON_COLUMNS: Mapping[str, str] = {
    "id": "AntBot id of the object (primary key).",
    "_antbot_deleted": "Delete marker of the merge: rows the API no longer lists are deleted, so always NULL here.",
    "_dlt_load_id": "dlt load id of the run that wrote the row (see _dlt_loads).",
    "_dlt_id": "Row id dlt generated.",
}

TABLES: Mapping[str, Relation] = {
    "cdr": Relation("Call detail records from cdr/: one row per call leg, insert-only at AntBot.", {
        "callid": "Call id the switch gave the call.",
        "request_uuid": "UUID of the dial request that placed the call.",
        "callerid": "Caller id the call was placed with.",
        "phone_number": "Number called, as AntBot dialled it.",
        "starting_date": f"When the call started {_UTC}; stamped after hangup, so rows arrive out of order.",
        "duration": "Seconds from the start of the call to hangup, ringing included.",
        "billsec": "Seconds of talk time after the answer (0 when unanswered).",
        "disposition": "Outcome: ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION or FAILED (see lookup_disposition).",
        "hangup_cause": "FreeSWITCH hangup cause name, e.g. NORMAL_CLEARING, USER_BUSY, NO_ANSWER.",
        "hangup_cause_q850": "ITU-T Q.850 cause code of the hangup, as text (see lookup_hangup_cause).",
        "sip_term_status": "SIP response code that ended the call, e.g. 200, 404, 486.",
        "sip_term_cause": "SIP termination cause as the gateway reported it.",
        "endpoint_disposition": "FreeSWITCH endpoint disposition, e.g. ANSWER, EARLY MEDIA.",
        "leg_type": "1 A-leg (the call the dialler placed), 2 B-leg (a transfer's second leg).",
        "amd_status": "Answering-machine detection: 1 person, 2 machine, 3 unsure; NULL when not run.",
        "campaign": "campaigns.id of the campaign that placed the call; NULL outside campaigns.",
        "subscriber": "subscribers.id of the campaign member called.",
        "used_gateway": "gateways.id the call went out through.",
        "alarm": "True for a reminder call (alarms).",
        "otp": "True for an OTP call.",
        "user": "AntBot user (account) id that placed the call.",
    }),
    "subscribers": Relation(
        "Campaign members from subscriber-list/: one row per (campaign, contact), with its dialling state.", {
            "campaign": "campaigns.id.",
            "contact": "contacts.id.",
            "duplicate_contact": "The contact's phone number, copied when the member was enrolled.",
            "status": "1 pending, 2 pause, 3 abort, 4 fail, 5 sent, 6 in process, 7 not authorized (DNC or "
                      "blacklist), 8 completed (see lookup_subscriber_status).",
            "count_attempt": "Calls placed to this member so far.",
            "completion_count_attempt": "Calls placed to complete the survey after the first answer.",
            "last_attempt": f"When the member was last called {_UTC}.",
            "duration": "Seconds of the last call, ringing included.",
            "billsec": "Seconds of talk time of the last call.",
            "disposition": "Outcome of the last call (as cdr.disposition).",
            "collected_data": "The member's survey answers, as JSON (absent or empty on some deployments).",
            **_CREATED_UPDATED,
        }),
    "campaigns": Relation("Call campaigns from campaigns/: who is called, when, how often, and the status.", {
        "name": "Campaign name (not unique).",
        "description": "Free-text description.",
        "callerid": "Caller id shown to the people called.",
        "caller_name": "Caller name shown to the people called.",
        "status": "1 started, 2 waiting, 3 paused, 4 ended, 5 completed (see lookup_campaign_status).",
        "phonebook": "JSON list of the phonebooks.id whose contacts the campaign calls.",
        "aleg_gateway": "gateways.id the calls go out through.",
        "object_id": "surveys.id of the call flow (the template's id until the first start copies it).",
        "frequency": "Calls started per minute.",
        "callmaxduration": "Longest call allowed, seconds.",
        "maxretry": "Retries of a call that failed.",
        "intervalretry": "Seconds between retries.",
        "completion_maxretry": "Retries to complete the survey after an answer.",
        "completion_intervalretry": "Seconds between completion retries.",
        "startingdate": f"When the campaign may start calling {_UTC}.",
        "expirationdate": f"When the campaign stops calling {_UTC}.",
        "daily_start_time": "Time of day calls may start (HH:MM:SS, the service's local time: Vietnam, UTC+7).",
        "daily_stop_time": "Time of day calls stop (HH:MM:SS, the service's local time: Vietnam, UTC+7).",
        **{day: f"True when the campaign calls on {day.capitalize()}s." for day in
           ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
        "totalcontact": "Contacts of the campaign, as AntBot counts them.",
        "completed": "Members completed, as AntBot counts them.",
    }),
    "contacts": Relation("Phonebook entries from contact/: the people campaigns call.", {
        "phonebook": "phonebooks.id the contact belongs to.",
        "contact": "Phone number, as stored (no normalisation).",
        "status": "1 active (dialled), 0 inactive (see lookup_contact_status).",
        "last_name": "Last name.",
        "first_name": "First name.",
        "email": "E-mail address.",
        "description": "Free-text description.",
        "address": "Postal address.",
        "city": "City.",
        "country": "Country.",
        "additional_vars": "Custom variables for the call scripts, as JSON.",
        **_CREATED_UPDATED,
    }),
    "phonebooks": Relation("Phonebooks from phonebook/: named lists of contacts.", {
        "name": "Phonebook name.", "description": "Free-text description.", **_USER, **_CREATED_UPDATED,
    }),
    "survey_templates": Relation("Call-flow templates from survey-template/.", {
        "name": "Template name.",
        "tts_language": "Text-to-speech language: vi Vietnamese, en English.",
        "description": "Free-text description.",
        "is_onboarding": "True for a template AntBuddy's onboarding created.",
        **_USER, **_CREATED_UPDATED,
    }),
    "surveys": Relation("Call flows from survey-list/: a campaign's own copy of a template, made at its first start.", {
        "name": "Survey name.",
        "tts_language": "Text-to-speech language: vi Vietnamese, en English.",
        "description": "Free-text description.",
        "campaign": "campaigns.id the survey belongs to.",
        **_USER, **_CREATED_UPDATED,
    }),
    "section_templates": Relation("Steps of the call flows from section-template/.", {
        "type": "1 play message, 2 multi-choice, 3 rating, 4 capture digits, 5 record, 6 transfer, 7 hangup, "
                "8 conference, 9 DNC opt-out, 10 SMS (see lookup_section_type).",
        "survey": "survey_templates.id (or surveys.id) the section belongs to.",
        "question": "Section name.",
        "script": "Text the bot speaks (IVR content).",
        "order": "Position of the section in its flow.",
        **_CREATED_UPDATED,
    }),
    "gateways": Relation("SIP gateways from gateway/: the trunks calls go out through.", {
        "name": "Gateway name.",
        "status": "1 active, 0 inactive.",
        "description": "Free-text description.",
        "addprefix": "Prefix added to each number dialled.",
        "removeprefix": "Prefix removed from each number dialled.",
        "gateways": "FreeSWITCH dial string of the gateway, e.g. sofia/gateway/<name>/.",
        "subdomain": "Account subdomain the gateway belongs to.",
        "gateway_codecs": "Codecs offered, comma-separated.",
        "gateway_timeouts": "Ring timeouts, seconds, comma-separated.",
        "gateway_retries": "Retries per gateway, comma-separated.",
        "originate_dial_string": "Extra FreeSWITCH originate variables.",
        "secondused": "Seconds of calls sent through the gateway.",
        "addparameter": "Extra dial-string parameters.",
        "count_call": "Calls sent through the gateway.",
        "count_in_use": "Calls in progress on the gateway.",
        "maximum_call": "Most calls the gateway takes at once.",
        "is_trial": "True for AntBuddy's trial gateway.",
        "failover": "gateways.id used when this one fails.",
        **_CREATED_UPDATED,
    }),
    "dnc_lists": Relation("Do-not-call lists from dnc-list/.", {
        "name": "List name.", "description": "Free-text description.", **_USER, **_CREATED_UPDATED,
    }),
    "dnc_contacts": Relation("Numbers on the do-not-call lists, from dnc-contact/.", {
        "dnc": "dnc_lists.id.",
        "phone_number": "Number never to call; matched exactly against the contact's number as stored.",
        **_CREATED_UPDATED,
    }),
    "calendar_settings": Relation("How appointment reminder calls are placed, from calendar-setting/.", {
        "label": "Setting name.",
        "callerid": "Caller id number of the reminder calls.",
        "caller_name": "Caller name of the reminder calls.",
        "call_timeout": "Seconds a reminder call rings before it gives up.",
        "survey": "surveys.id of the reminder call's flow.",
        "aleg_gateway": "gateways.id the reminder calls go out through.",
        **_USER, **_CREATED_UPDATED,
    }),
    "calendar_users": Relation("Calendar users from calendar-user/: who owns calendars and events.", {
        "username": "Login of the calendar user.",
        "calendar_setting": "calendar_settings.id the user's reminders use.",
        "created_date": _CREATED_UPDATED["created_date"],
    }),
    "calendars": Relation("Appointment calendars from calendar/.", {
        "name": "Calendar name.",
        "user": "calendar_users.id that owns the calendar.",
        "max_concurrent": "Most events at one time.",
        "created_date": _CREATED_UPDATED["created_date"],
    }),
    "events": Relation("Appointments from event/: each can carry reminder calls (alarms).", {
        "title": "Event title.",
        "description": "Free-text description.",
        "start": f"When the event starts {_UTC}.",
        "end": f"When the event ends {_UTC}.",
        "creator": "calendar_users.id assigned to the event.",
        "calendar": "calendars.id.",
        "status": "1 pending, 2 completed, 3 paused (see lookup_event_status); changes without a timestamp.",
        "data": "Extra event data, as JSON.",
        "created_on": f"When the event was created {_UTC}.",
        "parent_event": "events.id this event repeats.",
        "occ_count": "Occurrences of a repeating event.",
    }),
    "alarms": Relation("Reminder calls from alarm/: one row per call to place for an event.", {
        "alarm_phonenumber": "Number the reminder calls.",
        "date_start_notice": f"When the reminder call is due {_UTC}.",
        "phonenumber_transfer": "Number the call is transferred to, if any.",
        "event": "events.id the reminder is for.",
        "status": "1 pending, 2 in process, 3 failure, 4 retry, 5 success (see lookup_alarm_status).",
        "result": "What the person answered: 0 none, 1 confirmed, 2 cancelled, 3 rescheduled "
                  "(see lookup_alarm_result).",
        "survey": "surveys.id of the call flow.",
        "maxretry": "Retries allowed.",
        "retry_count": "Retries made.",
        "num_attempt": "Calls placed.",
        **_CREATED_UPDATED,
    }),
    "load_health": Relation(
        "What each pipeline run of `antbot load` did, one row per run and table (CDR columns: cdr only).", {
            "load_id": "dlt load id of the run the row describes.",
            "table_name": "Table the row describes.",
            "started_at": f"When the run started {_UTC}.",
            "finished_at": f"When the run finished {_UTC}.",
            "rows_loaded": "Rows the run handed to the destination for the table (delete markers included).",
            "requests": "API requests sent for the table.",
            "retries": "Requests retried (429, 5xx and timeouts together).",
            "retries_429": "Requests retried after HTTP 429 (throttled).",
            "retries_5xx": "Requests retried after an HTTP 5xx answer.",
            "retries_timeout": "Requests retried after a timeout.",
            "throttled_s": "Seconds waited for the request budget and for Retry-After.",
            "token_renewals": "Access tokens fetched again after the run's first one.",
            "rows_seen_twice": "Rows read twice while pages shifted (kept once).",
            "rewalks": "Windows walked again because the server counted rows the walk missed.",
            "cursor_before": f"Newest starting_date read before the run {_UTC}.",
            "cursor_after": f"Newest starting_date read after the run {_UTC}.",
            "lookback_s": "Look-back of the run behind the cursor, seconds.",
            "late_rows": "Rows first seen in this run whose starting_date lies behind the previous cursor.",
            "max_lateness_s": "Deepest lateness of those rows, seconds behind the previous cursor.",
            "p95_lateness_s": "95th percentile of their lateness, seconds.",
            "healed_rows": "Rows later than the look-back, found and read by the verification.",
            "surplus_rows": "Rows the destination holds that the server no longer counts (deleted there).",
            "lateness_warning": "True when late rows reached deeper than 80 % of the look-back.",
            "warnings": "The run's warnings for the table, one per line; NULL when none.",
        }),
    "push_runs": Relation("One row per `antbot push` run.", {
        "run_id": "Push run id.",
        "kind": "What was pushed: contacts or dnc.",
        "started_at": f"When the run started {_UTC}.",
        "finished_at": f"When the run finished {_UTC}; NULL while it runs or after a crash.",
        "dry_run": "True for a run that only planned.",
        "source": "Input table or query.",
        "input_rows": "Rows read from the input.",
        "rejected": "Input rows rejected (see push_rejects).",
        "present": "Rows already at AntBot, left as they were.",
        "created": "Rows created.",
        "updated": "Rows updated.",
        "failed": "Rows AntBot refused.",
        "unknown": "Rows whose request got no answer; looked up before anything is resent.",
        "requests": "Write requests sent.",
        "exit_code": "Exit code of the run.",
    }),
    "push_ledger": Relation("One record per pushed row and step; the last record of a key is its state.", {
        "run_id": "push_runs.run_id.",
        "kind": "contacts or dnc.",
        "seq": "Order of the records, over all runs.",
        "key": "<phonebook or DNC list id>:<E.164 number>.",
        "target": "phonebooks.id or dnc_lists.id.",
        "number": "Number as sent.",
        "action": "bulk_create, single_create, dnc_create, update, look or none.",
        "status": "sending, created, updated, present, unknown or failed.",
        "http_status": "HTTP status of the answer.",
        "error": "Error AntBot answered (first 1,000 characters).",
        "attempts": "Requests sent for the row.",
        "recorded_at": f"When the record was written {_UTC}.",
    }),
    "push_rejects": Relation("Input rows of `antbot push` rejected before sending, with the reason.", {
        "run_id": "push_runs.run_id.",
        "kind": "contacts or dnc.",
        "row_no": "Row number in the input.",
        "row_data": "The input row, as JSON.",
        "reason": "Why it was rejected.",
        "recorded_at": f"When the record was written {_UTC}.",
    }),
}

# view columns that mean the same in every view that has them
VIEW_COLUMNS: Mapping[str, str] = {
    "campaign_id": "campaigns.id; NULL for calls outside any campaign.",
    "campaign_name": "campaigns.name.",
    "attempts": "A-leg CDRs (seizures; ITU-T E.411).",
    "answered": "A-legs with disposition ANSWER.",
    "asr": "Answer-seizure ratio: answered / attempts (ITU-T E.411).",
    "ner": "Network effectiveness ratio: A-legs ending with Q.850 cause 16, 17, 18, 19 or 21 / attempts "
           "(ITU-T E.425).",
    "acd_seconds": "Mean billsec (talk time) over answered A-legs, seconds; NULL when none answered.",
    "billsec_total": "Talk time of answered A-legs, seconds.",
    "machine_share": "Answered A-legs that answering-machine detection marked machine / answered; NULL when "
                     "none answered.",
    "code": "The code as the API sends it.",
    "label": "Its readable label.",
    "cause_group": "Hangup-cause group: answered, busy, no answer, rejected, invalid number, network or other.",
    "call_kind": "What placed the call: campaign, otp, alarm (a reminder call) or other.",
    "sample_ok": "True when the row rests on at least 50 attempts (MIN_SAMPLE): enough to rank or compare.",
    "day": "Vietnam-local day.",
}


def _lookup(what: str) -> Relation:
    return Relation(f"Labels of {what}.", {})


VIEWS: Mapping[str, Relation] = {
    "cdr_enriched": Relation(
        "Each CDR with its labels, Vietnam-local time (UTC+7), the leg and the flags the KPIs count.", {
            "starting_local": "starting_date in Vietnam local time (UTC+7), without a time zone.",
            "day_local": "Vietnam-local day of the call.",
            "hour_local": "Vietnam-local hour of the call, 0-23.",
            "weekday_local": "Vietnam-local ISO weekday of the call, 1 Monday to 7 Sunday.",
            "leg": "A-leg or B-leg.",
            "is_a_leg": "True for an A-leg (leg_type 1), the call the dialler placed.",
            "answered": "True when disposition is ANSWER.",
            "disposition_label": "Readable disposition (lookup_disposition).",
            "amd_label": "Readable answering-machine detection result (lookup_amd_status).",
            "ner_effective": "True when the Q.850 cause counts as effective for NER (16, 17, 18, 19, 21).",
            "call_kind": "What placed the call: campaign, otp, alarm (a reminder call) or other.",
        }, base="cdr"),
    "cdr_kpis": Relation("Headline call KPIs over every A-leg (one row).", {}),
    "cdr_campaign_kpis": Relation("Call KPIs per campaign, over A-legs.", {}),
    "cdr_campaign_daily": Relation("Call KPIs per campaign and Vietnam-local day, over A-legs.", {
        "day": "Vietnam-local day.",
    }),
    "cdr_hourly_profile": Relation("Call KPIs per Vietnam-local ISO weekday and hour, over all campaigns.", {
        "weekday": "ISO weekday, 1 Monday to 7 Sunday.",
        "weekday_name": "Weekday name (Mon..Sun).",
        "hour": "Hour of the day, 0-23.",
    }),
    "cdr_daily": Relation("Call KPIs per Vietnam-local day and call kind, over A-legs: the daily trend.", {
        "talk_minutes": "billsec_total in minutes.",
    }),
    "cdr_gateway_kpis": Relation("Call KPIs per gateway (cdr.used_gateway), campaign and call kind, with the "
                                 "unanswered A-legs per hangup-cause group.", {
        "gateway_id": "gateways.id (cdr.used_gateway).",
        "gateway_name": "gateways.name.",
        "ended_busy": "Unanswered A-legs whose cause group is busy.",
        "ended_no_answer": "Unanswered A-legs whose cause group is no answer.",
        "ended_rejected": "Unanswered A-legs whose cause group is rejected.",
        "ended_invalid_number": "Unanswered A-legs whose cause group is invalid number.",
        "ended_network": "Unanswered A-legs whose cause group is network.",
        "ended_other": "Unanswered A-legs whose cause group is other.",
    }),
    "survey_answers": Relation("One row per subscriber and survey answer, from subscribers.collected_data.", {
        "subscriber_id": "subscribers.id.",
        "contact_id": "contacts.id.",
        "question": "The answer's key in collected_data, nested keys joined by '.'; NULL when malformed.",
        "answer": "The answer as text (a list as JSON text).",
        "malformed": "True when collected_data was not a JSON object (its text is the answer).",
    }),
    "survey_answer_shares": Relation("The distribution of the answers to each question of a campaign's survey "
                                     "(malformed answers left out).", {
        "question": "The question (survey_answers.question).",
        "answer": "The answer (survey_answers.answer).",
        "subscribers": "Subscribers who gave this answer.",
        "respondents": "Subscribers who answered the question.",
        "share": "subscribers / respondents.",
        "sample_ok": "True when at least 50 subscribers answered the question (MIN_SAMPLE).",
    }),
    "reminder_outcomes": Relation("Reminder calls (alarms) per Vietnam-local day of their notice, calendar, "
                                  "status and result.", {
        "day": "Vietnam-local day of alarms.date_start_notice.",
        "calendar_id": "calendars.id (through the alarm's event).",
        "calendar_name": "calendars.name.",
        "status": "alarms.status: 1 pending, 2 in process, 3 failure, 4 retry, 5 success.",
        "status_label": "Readable alarm status.",
        "result": "alarms.result: 0 none, 1 confirmed, 2 cancelled, 3 rescheduled.",
        "result_label": "Readable alarm result.",
        "alarms": "Reminder calls in the group.",
        "call_attempts": "Sum of the alarms' num_attempt.",
    }),
    "compliance_calls": Relation("The calls the calling rules count: A-legs of a campaign, never OTP or alarm "
                                 "calls, nor calls of an exempted campaign (SOURCES__ANTBOT__EXEMPT_CAMPAIGNS).", {
        "cdr_id": "cdr.id.",
        "phone_number": "The number as called (cdr.phone_number).",
        "phone_e164": "The number's key: E.164 for a valid number of the account's region, else 'raw:' and its "
                      "digits.",
        "starting_date": "cdr.starting_date (UTC).",
        "starting_local": "starting_date in the calling rules' time zone (SOURCES__ANTBOT__TIMEZONE).",
        "day_local": "Local day of the call, in the calling rules' time zone.",
        "hour_local": "Local hour of the call, 0-23, in the calling rules' time zone.",
    }),
    "compliance_dnc_numbers": Relation("Every number on a do-not-call list: the account's lists, and the table "
                                       "SOURCES__ANTBOT__DNC_TABLE names if any.", {
        "dnc_contact_id": "dnc_contacts.id; NULL for a number of the configured DNC table.",
        "dnc_list_id": "dnc_lists.id; NULL for a number of the configured DNC table.",
        "phone_number": "The number as the list stores it.",
        "phone_e164": "The number's key: E.164 for a valid number of the account's region, else 'raw:' and its "
                      "digits.",
    }),
    "compliance_breaches": Relation("One row per counted call and calling rule it broke.", {
        "cdr_id": "cdr.id.",
        "phone_number": "The number as called (cdr.phone_number).",
        "phone_e164": "The number's key: E.164 for a valid number of the account's region, else 'raw:' and its "
                      "digits.",
        "starting_date": "cdr.starting_date (UTC).",
        "starting_local": "starting_date in the calling rules' time zone.",
        "day_local": "Local day of the call, in the calling rules' time zone.",
        "rule": "outside_hours (started before the first hour or from the last hour on), repeat_24h (the N-th "
                "earlier counted call to the number started less than 24 hours before) or dnc (the number is on a "
                "DNC list now).",
        "related_cdr_id": "For repeat_24h: the earlier call (cdr.id) within 24 hours; else NULL.",
    }),
    "dnc_ineffective": Relation("DNC entries that do not block: a contact stores the number in a form no entry "
                                "of that list holds, and the dialer matches the exact string.", {
        "dnc_contact_id": "dnc_contacts.id.",
        "dnc_list_id": "dnc_lists.id.",
        "dnc_list_name": "dnc_lists.name.",
        "phone_number": "The number as the entry stores it.",
        "phone_e164": "The number's key: E.164 for a valid number of the account's region, else 'raw:' and its "
                      "digits.",
        "unblocked_forms": "The forms contacts store the number in that no entry of the list holds, comma-separated.",
    }),
    "compliance_daily": Relation("Counted calls and breaches per campaign, local day and calling rule.", {
        "day": "Local day, in the calling rules' time zone.",
        "rule": "outside_hours, repeat_24h or dnc.",
        "counted_calls": "Counted calls of the campaign that day.",
        "breaches": "Of those, the calls that broke the rule.",
    }),
    "cdr_hangup_causes": Relation("A-legs per campaign and hangup-cause group.", {
        "calls": "A-legs of the campaign in the group.",
        "share": "The group's share of the campaign's A-legs.",
    }),
    "campaign_progress": Relation("One row per campaign: members by status and how far it has got.", {
        "campaign_id": "campaigns.id.",
        "status": "campaigns.status.",
        "status_label": "Readable campaign status.",
        "subscribers": "Members of the campaign.",
        "pending": "Members with status 1 pending.",
        "paused": "Members with status 2 pause.",
        "aborted": "Members with status 3 abort.",
        "failed": "Members with status 4 fail.",
        "sent": "Members with status 5 sent.",
        "in_process": "Members with status 6 in process.",
        "dnc_refusals": "Members with status 7 not authorized (on a DNC list or blacklist).",
        "completed": "Members with status 8 completed.",
        "attempted": "Members called at least once (count_attempt > 0).",
        "reached": "Members with at least one answered A-leg.",
        "completion_rate": "completed / subscribers.",
        "attempted_share": "attempted / subscribers.",
        "attempts_per_subscriber": "Sum of the members' count_attempt / subscribers.",
    }),
    "lookup_campaign_status": _lookup("campaigns.status"),
    "lookup_subscriber_status": _lookup("subscribers.status"),
    "lookup_contact_status": _lookup("contacts.status"),
    "lookup_disposition": Relation("Labels of cdr.disposition, with the cause group of a call without a "
                                   "known Q.850 cause.", {}),
    "lookup_leg_type": _lookup("cdr.leg_type"),
    "lookup_amd_status": _lookup("cdr.amd_status"),
    "lookup_alarm_status": _lookup("alarms.status"),
    "lookup_alarm_result": _lookup("alarms.result"),
    "lookup_event_status": _lookup("events.status"),
    "lookup_weekday": _lookup("ISO weekdays (1 Monday)"),
    "lookup_section_type": _lookup("section_templates.type"),
    "lookup_call_kind": _lookup("cdr_enriched.call_kind"),
    "lookup_hangup_cause": Relation("ITU-T Q.850 causes (cdr.hangup_cause_q850): FreeSWITCH name, group, NER.", {
        "code": "Q.850 cause code (FreeSWITCH's own above 127).",
        "name": "FreeSWITCH cause name.",
        "counts_for_ner": "True when the cause counts as effective for NER (ITU-T E.425).",
    }),
}


def table_description(name: str) -> str | None:
    """The description of a table or view (None: not in the dictionary)."""
    relation = TABLES.get(name) or VIEWS.get(name)
    return relation.description if relation else None


def column_description(relation: str, column: str) -> str | None:
    """The description of a column of a table or view (None: not in the dictionary)."""
    if relation in TABLES:
        return TABLES[relation].columns.get(column) or COMMON_COLUMNS.get(column)
    view = VIEWS.get(relation)
    if view is None:
        return None
    return (view.columns.get(column) or (column_description(view.base, column) if view.base else None)
            or VIEW_COLUMNS.get(column))
