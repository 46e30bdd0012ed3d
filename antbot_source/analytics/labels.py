"""Readable labels for every AntBot status and type code, published as `lookup_*` views.

Codes are Newfies-Dialer's (see docs/analytics.md); the hangup-cause table maps each ITU-T
Q.850 cause to its FreeSWITCH name and to the group used by `cdr_hangup_causes`.
"""

from __future__ import annotations

from typing import Final

# The smallest sample a rate (ASR, an answer's share) is read from: attempts of a KPI row, respondents
# of a survey question. Below it a row is kept but flagged (`sample_ok` FALSE), never ranked, and
# greyed in the charts: at 50, the 95% margin of a rate near 50% is about +-14 points
# (1.96 * sqrt(0.25 / 50)); at the 27 attempts of an edge-of-day hour it is +-19.
MIN_SAMPLE: Final = 50

# The groups of `cdr_hangup_causes`, in display order.
CAUSE_GROUPS: Final = ("answered", "busy", "no answer", "rejected", "invalid number", "network", "other")

# lookup view name -> {code: label}; `lookup_disposition` and `lookup_hangup_cause` get a cause group too.
LOOKUPS: Final[dict[str, dict[int | str, str]]] = {
    "lookup_campaign_status": {1: "started", 2: "waiting", 3: "paused", 4: "ended", 5: "completed"},
    "lookup_subscriber_status": {
        1: "pending",
        2: "pause",
        3: "abort",
        4: "fail",
        5: "sent",
        6: "in process",
        7: "not authorized",
        8: "completed",
    },
    "lookup_contact_status": {1: "active", 0: "inactive"},
    "lookup_disposition": {
        "ANSWER": "answered",
        "BUSY": "busy",
        "NOANSWER": "no answer",
        "CANCEL": "cancelled",
        "CONGESTION": "congestion",
        "FAILED": "failed",
    },
    "lookup_leg_type": {1: "A-leg", 2: "B-leg"},
    "lookup_call_kind": {"campaign": "campaign calls", "otp": "OTP calls", "alarm": "reminder calls",
                         "other": "other calls"},
    "lookup_amd_status": {1: "person", 2: "machine", 3: "unsure"},
    "lookup_alarm_status": {1: "pending", 2: "in process", 3: "failure", 4: "retry", 5: "success"},
    "lookup_alarm_result": {0: "none", 1: "confirmed", 2: "cancelled", 3: "rescheduled"},
    "lookup_event_status": {1: "pending", 2: "completed", 3: "paused"},
    "lookup_weekday": {
        1: "Mon",
        2: "Tue",
        3: "Wed",
        4: "Thu",
        5: "Fri",
        6: "Sat",
        7: "Sun",
    },
    "lookup_section_type": {
        1: "play message",
        2: "multi-choice",
        3: "rating",
        4: "capture digits",
        5: "record",
        6: "transfer",
        7: "hangup",
        8: "conference",
        9: "DNC opt-out",
        10: "SMS",
    },
}

# Q.850 cause code -> (FreeSWITCH name, group). A call answered is "answered" whatever its cause.
Q850_CAUSES: Final[dict[int, tuple[str, str]]] = {
    1: ("UNALLOCATED_NUMBER", "invalid number"),
    2: ("NO_ROUTE_TRANSIT_NET", "network"),
    3: ("NO_ROUTE_DESTINATION", "invalid number"),
    6: ("CHANNEL_UNACCEPTABLE", "network"),
    16: ("NORMAL_CLEARING", "other"),
    17: ("USER_BUSY", "busy"),
    18: ("NO_USER_RESPONSE", "no answer"),
    19: ("NO_ANSWER", "no answer"),
    20: ("SUBSCRIBER_ABSENT", "no answer"),
    21: ("CALL_REJECTED", "rejected"),
    22: ("NUMBER_CHANGED", "invalid number"),
    27: ("DESTINATION_OUT_OF_ORDER", "network"),
    28: ("INVALID_NUMBER_FORMAT", "invalid number"),
    29: ("FACILITY_REJECTED", "network"),
    31: ("NORMAL_UNSPECIFIED", "other"),
    34: ("NORMAL_CIRCUIT_CONGESTION", "network"),
    38: ("NETWORK_OUT_OF_ORDER", "network"),
    41: ("NORMAL_TEMPORARY_FAILURE", "network"),
    42: ("SWITCH_CONGESTION", "network"),
    44: ("REQUESTED_CHAN_UNAVAIL", "network"),
    47: ("RESOURCE_UNAVAILABLE", "network"),
    50: ("FACILITY_NOT_SUBSCRIBED", "network"),
    58: ("BEARERCAPABILITY_NOTAVAIL", "network"),
    88: ("INCOMPATIBLE_DESTINATION", "network"),
    102: ("RECOVERY_ON_TIMER_EXPIRE", "network"),
    127: ("INTERWORKING", "network"),
    # FreeSWITCH-specific causes beyond Q.850's range
    487: ("ORIGINATOR_CANCEL", "no answer"),
    603: ("DECLINE", "rejected"),
}

# Group for a call whose Q.850 cause is missing or unknown, from its disposition.
DISPOSITION_GROUPS: Final[dict[str, str]] = {
    "ANSWER": "answered",
    "BUSY": "busy",
    "NOANSWER": "no answer",
    "CANCEL": "no answer",
    "CONGESTION": "network",
    "FAILED": "other",
}

# Q.850 causes that count as an effective call for NER (ITU-T E.425).
NER_CAUSES: Final = (16, 17, 18, 19, 21)
