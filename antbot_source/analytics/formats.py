"""How KPI values and campaigns are written for people, shared by the terminal tables, the report and
the charts; free of pandas and matplotlib, so that commands printing a table start quickly."""

from __future__ import annotations

from antbot_source.analytics.labels import LOOKUPS

MISSING = "–"


def missing(value: object) -> bool:
    """None, NaN, NaT or pandas' NA (each of which is not equal to itself, or refuses to say)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # noqa: PLR0124 - only NaN and NaT differ from themselves
    except TypeError:  # pandas' NA: its comparisons are NA, which has no truth value
        return True


def fmt_percent(value: object) -> str:
    return MISSING if missing(value) else f"{float(value):.1%}"


def fmt_seconds(value: object) -> str:
    return MISSING if missing(value) else f"{float(value):.1f} s"


def fmt_count(value: object) -> str:
    return MISSING if missing(value) else f"{int(value):,}"


def fmt_hours(value: object) -> str:
    return MISSING if missing(value) else f"{int(value) / 3600:,.1f} h"


def campaign_label(campaign_id: object, campaign_name: object, call_kind: object = None) -> str:
    """How a campaign is named: its name, else its id; calls outside campaigns by their kind, "(OTP calls)"."""
    if missing(campaign_id):
        kind = LOOKUPS["lookup_call_kind"].get(str(call_kind), "no campaign")
        return f"({kind})"
    if missing(campaign_name):
        return f"campaign {int(campaign_id)}"
    return str(campaign_name)


def gateway_label(gateway_id: object, gateway_name: object) -> str:
    """How a gateway is named: its name, else its id, else "(no gateway)"."""
    if not missing(gateway_name):
        return str(gateway_name)
    return "(no gateway)" if missing(gateway_id) else f"gateway {int(gateway_id)}"
