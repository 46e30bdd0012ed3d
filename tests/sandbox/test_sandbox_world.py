"""The seeded world is coherent and realistic (checked on the rendered rows, in process)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta

import pytest

from antbot_source.sandbox.fields import CAUSES
from antbot_source.sandbox.world import World

NOW = 1_780_000_000_000_000  # a fixed "now" (epoch microseconds) so two worlds can be compared


@pytest.fixture(scope="module")
def world() -> World:
    return World(seed=21, cdrs=6_000, now=NOW)


def rows(world: World, table: str, account: str = "demo") -> list[dict]:
    return world.rows(account, table)


def test_same_seed_same_world_other_seed_other_world(world):
    again = World(seed=21, cdrs=6_000, now=NOW)
    other = World(seed=22, cdrs=6_000, now=NOW)
    for table in ("cdr", "contacts", "subscribers", "events"):
        assert rows(again, table) == rows(world, table)
    assert rows(other, "cdr") != rows(world, "cdr")


def test_call_mix(world):
    cdrs = rows(world, "cdr")
    assert len(cdrs) == 6_000
    answered = sum(c["disposition"] == "ANSWER" for c in cdrs) / len(cdrs)
    assert 0.4 <= answered <= 0.6
    assert set(Counter(c["disposition"] for c in cdrs)) == {"ANSWER", "BUSY", "NOANSWER", "CANCEL", "CONGESTION",
                                                           "FAILED"}
    causes = {(c[1], c[2], c[3]) for c in CAUSES}
    for c in cdrs:
        assert 0 <= c["billsec"] <= c["duration"]
        assert (c["hangup_cause"], c["hangup_cause_q850"], c["sip_term_status"]) in causes
        assert (c["billsec"] > 0) == (c["disposition"] == "ANSWER")
        assert c["amd_status"] in (None, 1, 2, 3)
    talk = sorted(c["billsec"] for c in cdrs if c["disposition"] == "ANSWER")
    assert talk[-1] > 5 * talk[len(talk) // 2], "talk times have a long tail"
    assert Counter(c["leg_type"] for c in cdrs)[2] > 0
    assert sum(c["alarm"] for c in cdrs) > 0 and sum(c["otp"] for c in cdrs) > 0
    assert {c["amd_status"] for c in cdrs} >= {None, 1, 2, 3}


def test_numbers_come_in_mixed_formats(world):
    numbers = [c["contact"] for c in rows(world, "contacts")]
    assert any(n.startswith("0") and len(n) == 10 for n in numbers)
    assert any(n.startswith("+84") for n in numbers)
    assert any(n.startswith("84") for n in numbers)


def test_calls_inside_campaign_windows_and_some_late_utc(world):
    camps = {c["id"]: c for c in rows(world, "campaigns")}
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    late_utc = 0
    for c in rows(world, "cdr"):
        start = datetime.fromisoformat(c["starting_date"])  # Vietnam local time
        late_utc += start.utcoffset() == timedelta(hours=7) and 17 <= (start - timedelta(hours=7)).hour < 24
        if c["campaign"] is None or c["leg_type"] == 2:
            continue
        camp = camps[c["campaign"]]
        assert time.fromisoformat(camp["daily_start_time"]) <= start.time() < time.fromisoformat(
            camp["daily_stop_time"])
        assert camp[days[start.weekday()]]
        assert datetime.fromisoformat(camp["startingdate"]) <= start <= datetime.fromisoformat(
            camp["expirationdate"])
    assert late_utc > 0, "some calls fall on another Vietnam day than their UTC day"


def test_campaign_statuses_and_one_campaign_without_answers(world):
    camps = rows(world, "campaigns")
    assert {c["status"] for c in camps} == {1, 2, 3, 4, 5}
    answered = Counter(c["campaign"] for c in rows(world, "cdr") if c["disposition"] == "ANSWER")
    called = {c["campaign"] for c in rows(world, "cdr")}
    assert any(c["id"] in called and answered[c["id"]] == 0 for c in camps)


def test_subscribers_agree_with_their_calls(world):
    calls = defaultdict(list)
    for c in rows(world, "cdr"):
        if c["subscriber"] is not None and c["leg_type"] == 1:
            calls[c["subscriber"]].append(c)
    dnc = {d["phone_number"] for d in rows(world, "dnc_contacts")}
    pairs = set()
    for s in rows(world, "subscribers"):
        mine = sorted(calls[s["id"]], key=lambda c: c["starting_date"])
        assert s["count_attempt"] == len(mine)
        assert (s["campaign"], s["contact"]) not in pairs
        pairs.add((s["campaign"], s["contact"]))
        if mine:
            assert s["disposition"] == mine[-1]["disposition"]
            assert (s["status"] in (5, 8)) == (mine[-1]["disposition"] == "ANSWER")
            assert s["last_attempt"] >= mine[-1]["starting_date"]
        else:
            assert s["status"] in (1, 2, 3, 6, 7) and s["last_attempt"] is None
        if s["status"] == 7:
            assert s["duplicate_contact"] in dnc and not mine


def test_relations_point_at_existing_rows(world):
    ids = {t: {r["id"] for r in rows(world, t)} for t in ("phonebooks", "contacts", "campaigns", "gateways",
                                                           "survey_templates", "events", "calendar_users")}
    assert all(c["phonebook"] in ids["phonebooks"] for c in rows(world, "contacts"))
    for camp in rows(world, "campaigns"):
        assert set(camp["phonebook"]) <= ids["phonebooks"] and camp["aleg_gateway"] in ids["gateways"]
        assert camp["object_id"] in ids["survey_templates"]
    assert all(s["contact"] in ids["contacts"] for s in rows(world, "subscribers"))
    assert all(a["event"] in ids["events"] for a in rows(world, "alarms"))
    assert all(e["creator"] in ids["calendar_users"] for e in rows(world, "events"))


def test_accounts_share_id_sequences_but_not_rows(world):
    for table in ("cdr", "contacts", "campaigns"):
        demo = {r["id"] for r in rows(world, table)}
        other = {r["id"] for r in rows(world, table, "other")}
        assert demo and other and not demo & other
