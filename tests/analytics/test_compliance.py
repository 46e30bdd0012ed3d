"""The compliance views and `antbot compliance` against planted calls and an independent computation.

Calls are planted on the sandbox (its admin route), contacts and DNC entries written through its API;
the account is loaded by the real loader into DuckDB and PostgreSQL, and every breach and
ineffective DNC entry is recomputed here from the rows the API renders, with libphonenumber and
zoneinfo.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from support import fresh_numbers, login
from typer.testing import CliRunner

from antbot_source.analytics.views import create_views
from antbot_source.compliance.rule_views import number_key_select
from antbot_source.destination.target import build_pipeline
from antbot_source.pipeline import run_load
from antbot_source.push.validate import number_key
from pipelines.cli import app

VN = ZoneInfo("Asia/Ho_Chi_Minh")
COMPLIANCE_FOUND = 11


@dataclass
class Planted:
    """The planted calls by name, the exempted campaign's name and the other account's calls."""

    ids: dict[str, int]
    exempt: str
    other_ids: list[int]
    ineffective_dnc: int
    blocking_dnc: int
    day: date


def _at(day: date, clock: str, days: int = 0) -> str:
    return datetime.combine(day + timedelta(days=days), time.fromisoformat(clock), VN).isoformat()


def plant(sb) -> Planted:
    """The issue's cases, on a local day five days ago."""
    day = datetime.now(VN).date() - timedelta(days=5)
    campaigns = sb.rows("campaigns")
    counted, exempt = campaigns[0], campaigns[1]
    n = fresh_numbers(9, start=700)
    with login(sb) as http:
        book = http.post("phonebook/", json={"name": "compliance"}).json()["id"]
        dnc = http.post("dnc-list/", json={"name": "compliance"}).json()["id"]
        for number in (n[6], n[7]):
            http.post("contact/", json={"phonebook": book, "contact": number, "status": 1}).raise_for_status()
        ineffective = http.post("dnc-contact/", json={"dnc": dnc, "phone_number": "+84" + n[6][1:]}).json()["id"]
        blocking = http.post("dnc-contact/", json={"dnc": dnc, "phone_number": n[7]}).json()["id"]
    camp = counted["id"]
    calls = {
        "07:59:59": {"phone_number": n[0], "starting_date": _at(day, "07:59:59"), "campaign": camp},
        "08:00:00": {"phone_number": n[1], "starting_date": _at(day, "08:00:00"), "campaign": camp},
        "16:59:59": {"phone_number": n[2], "starting_date": _at(day, "16:59:59"), "campaign": camp},
        "17:00:00": {"phone_number": n[3], "starting_date": _at(day, "17:00:00"), "campaign": camp},
        "otp": {"phone_number": n[4], "starting_date": _at(day, "22:00:00"), "otp": True},
        "alarm": {"phone_number": n[4], "starting_date": _at(day, "22:30:00"), "campaign": camp, "alarm": True},
        "b_leg": {"phone_number": n[4], "starting_date": _at(day, "21:00:00"), "campaign": camp, "leg_type": 2},
        "first": {"phone_number": n[5], "starting_date": _at(day, "09:00:00"), "campaign": camp},
        "23:59 later": {"phone_number": "+84 " + n[5][1:4] + " " + n[5][4:], "campaign": camp,
                        "starting_date": _at(day, "08:59:00", days=1)},
        "24:01 later": {"phone_number": n[5], "starting_date": _at(day, "09:00:00", days=2), "campaign": camp},
        "dnc": {"phone_number": n[6], "starting_date": _at(day, "10:00:00"), "campaign": camp},
        "exempt": {"phone_number": n[8], "starting_date": _at(day, "20:00:00"), "campaign": exempt["id"]},
    }
    ids = dict(zip(calls, sb.plant_cdrs(list(calls.values())), strict=True))
    theirs = sb.rows("campaigns", account="other")[0]["id"]
    other_ids = sb.plant_cdrs([
        {"phone_number": n[1], "starting_date": _at(day, "08:30:00"), "campaign": theirs},
        {"phone_number": n[8], "starting_date": _at(day, "20:00:00"), "campaign": theirs},
    ], account="other")
    return Planted(ids, exempt["name"], other_ids, ineffective, blocking, day)


# --- the independent computation ---


def counted_calls(sb, exempt: set[str]) -> list[dict]:
    names = {c["id"]: c["name"] for c in sb.rows("campaigns")}
    out = []
    for r in sb.rows("cdr"):
        camp = r["campaign"]
        if r["leg_type"] != 1 or camp is None or r["otp"] or r["alarm"] or {str(camp), names.get(camp)} & exempt:
            continue
        start = datetime.fromisoformat(r["starting_date"])
        out.append({**r, "start": start, "local": start.astimezone(VN), "key": number_key(r["phone_number"])})
    return out


def expected_breaches(sb, exempt: set[str], max_calls: int = 1) -> set[tuple[int, str]]:
    calls = counted_calls(sb, exempt)
    dnc = {number_key(d["phone_number"]) for d in sb.rows("dnc_contacts")}
    found = {(c["id"], "outside_hours") for c in calls if not time(8) <= c["local"].time().replace(tzinfo=None) < time(17)}
    found |= {(c["id"], "dnc") for c in calls if c["key"] in dnc}
    by_number: dict[str, list[dict]] = {}
    for c in calls:
        by_number.setdefault(c["key"], []).append(c)
    for same in by_number.values():
        same.sort(key=lambda c: (c["start"], c["id"]))
        found |= {(c["id"], "repeat_24h") for i, c in enumerate(same)
                  if i >= max_calls and c["start"] - same[i - max_calls]["start"] < timedelta(hours=24)}
    return found


def expected_ineffective(sb) -> dict[int, set[str]]:
    """{DNC entry id: the forms contacts hold its number in that no entry of its list holds}."""
    forms: dict[str, set[str]] = {}
    for c in sb.rows("contacts"):
        forms.setdefault(number_key(c["contact"]), set()).add(c["contact"])
    held: dict[int, set[str]] = {}
    for d in sb.rows("dnc_contacts"):
        held.setdefault(d["dnc"], set()).add(d["phone_number"])
    out = {}
    for d in sb.rows("dnc_contacts"):
        unblocked = forms.get(number_key(d["phone_number"]), set()) - held[d["dnc"]]
        if unblocked:
            out[d["id"]] = unblocked
    return out


def check(query, sb, planted: Planted) -> None:
    exempt = {planted.exempt}
    breaches = query("SELECT cdr_id, rule, campaign_id, phone_e164, starting_local FROM {ds}.compliance_breaches")
    got = set(zip(breaches["cdr_id"].astype(int), breaches["rule"], strict=True))
    assert len(got) == len(breaches), "one row per call and rule"
    assert got == expected_breaches(sb, exempt)
    ids = planted.ids
    rules_of = {name: {rule for cdr_id, rule in got if cdr_id == i} for name, i in ids.items()}
    assert rules_of == {
        "07:59:59": {"outside_hours"}, "08:00:00": set(), "16:59:59": set(), "17:00:00": {"outside_hours"},
        "otp": set(), "alarm": set(), "b_leg": set(), "first": set(), "23:59 later": {"repeat_24h"},
        "24:01 later": set(), "dnc": {"dnc"}, "exempt": set(),
    }
    counted = set(query("SELECT cdr_id FROM {ds}.compliance_calls")["cdr_id"].astype(int))
    assert {ids["otp"], ids["alarm"], ids["b_leg"], ids["exempt"]}.isdisjoint(counted)
    assert not set(planted.other_ids) & (counted | {i for i, _ in got}), "another account's calls are never seen"

    ineffective = query("SELECT dnc_contact_id, unblocked_forms FROM {ds}.dnc_ineffective")
    found = {int(r.dnc_contact_id): set(r.unblocked_forms.split(", ")) for r in ineffective.itertuples()}
    assert found == expected_ineffective(sb)
    assert planted.ineffective_dnc in found and planted.blocking_dnc not in found

    daily = query("SELECT campaign_id, day, rule, counted_calls, breaches FROM {ds}.compliance_daily")
    calls = counted_calls(sb, exempt)
    per_day = Counter((c["campaign"], c["local"].date()) for c in calls)
    local_day = {c["id"]: (c["campaign"], c["local"].date()) for c in calls}
    per_rule = Counter((*local_day[i], rule) for i, rule in expected_breaches(sb, exempt))
    rows = {(int(r.campaign_id), pd.Timestamp(r.day).date(), r.rule): (int(r.counted_calls), int(r.breaches))
            for r in daily.itertuples()}
    assert rows == {(camp, day, rule): (n, per_rule[(camp, day, rule)])
                    for (camp, day), n in per_day.items() for rule in ("outside_hours", "repeat_24h", "dnc")}


def load(sb, pipeline) -> None:
    account = sb.accounts[0]
    run_load(pipeline, base_url=sb.base_url, username=account.username, password=account.password)
    assert create_views(pipeline)


def duckdb_query(path):
    def query(sql: str) -> pd.DataFrame:
        with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
            return con.sql(sql.replace("{ds}", "antbot")).df()
    return query


def test_planted_breaches_on_duckdb_and_the_command(sandbox, tmp_path, monkeypatch) -> None:
    planted = plant(sandbox)
    monkeypatch.setenv("SOURCES__ANTBOT__EXEMPT_CAMPAIGNS", planted.exempt)
    path = tmp_path / "warehouse.duckdb"
    load(sandbox, build_pipeline(duckdb_path=path, dataset="antbot"))
    check(duckdb_query(path), sandbox, planted)

    runner = CliRunner()
    found = runner.invoke(app, ["compliance", "--duckdb", str(path)])
    assert found.exit_code == COMPLIANCE_FOUND, found.output
    assert "outside_hours" in found.output and "repeat_24h" in found.output and "+84" + fresh_numbers(
        9, start=700)[6][1:] in found.output
    since = (planted.day + timedelta(days=1)).isoformat()
    later = runner.invoke(app, ["compliance", "--duckdb", str(path), "--since", since])
    assert later.exit_code == COMPLIANCE_FOUND, later.output  # the ineffective DNC entries stay
    bad = runner.invoke(app, ["compliance", "--duckdb", str(path), "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since" in bad.output


@pytest.mark.postgres
def test_planted_breaches_on_postgres(sandbox, postgres_schema, monkeypatch) -> None:
    import psycopg2

    dsn, schema = postgres_schema
    planted = plant(sandbox)
    monkeypatch.setenv("SOURCES__ANTBOT__EXEMPT_CAMPAIGNS", f"{planted.exempt}, 99999")
    load(sandbox, build_pipeline(destination="postgres", credentials=dsn, dataset=schema))

    def query(sql: str) -> pd.DataFrame:
        with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
            cur.execute(sql.replace("{ds}", f'"{schema}"'))
            return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])

    check(query, sandbox, planted)
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", dsn)
    found = CliRunner().invoke(app, ["compliance", "--destination", "postgres", "--dataset", schema])
    assert found.exit_code == COMPLIANCE_FOUND, found.output


def test_the_sql_number_key_is_the_push_key_on_duckdb() -> None:
    """Every usual form of valid and invalid Vietnamese numbers, and a few foreign ones."""
    numbers = ["0912345678", "+84 912 345 678", "84912345678", "912345678", "0084912345678", "+840912345678",
               "(091) 234-5678", "0912.345.678", "02439412345", "+84 24 3941 2345", "845123456", "0845123456",
               "18001234", "19001234", "0123", "12345", "0950000000", "+1 650 253 0000", "", None]
    with contextlib.closing(duckdb.connect()) as con:
        con.execute("CREATE TABLE t (n VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?)", [(n,) for n in numbers])
        got = dict(con.execute(f"SELECT t.n, k.phone_e164 FROM t CROSS JOIN LATERAL ({number_key_select('t.n')}) AS k")
                   .fetchall())
    assert got == {n: number_key(n) for n in numbers}
