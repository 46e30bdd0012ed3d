"""The analytics views against an independent pandas computation over the sandbox's raw rows.

The sandbox world is loaded by the real loader over HTTP into DuckDB (once per module, in each
pytest-xdist worker that runs tests of it) and into PostgreSQL; every KPI of every view is
recomputed here from `sb.rows(...)`, as the API renders them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from antbot_source.analytics.labels import CAUSE_GROUPS, LOOKUPS, MIN_SAMPLE
from antbot_source.analytics.views import create_views, view_name, view_statements
from antbot_source.destination.target import build_pipeline
from antbot_source.pipeline import run_load
from antbot_source.sandbox import run_sandbox
from pipelines.cli import app

VN = "Asia/Ho_Chi_Minh"
# ISO weekday numbers (1 Monday) and the names the views give them, independent of labels.py
WEEKDAYS = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}
NER_CODES = {16, 17, 18, 19, 21}
# independent of labels.py: the group of each FreeSWITCH cause the sandbox produces when not answered
EXPECTED_GROUP = {
    "USER_BUSY": "busy",
    "NO_ANSWER": "no answer",
    "NO_USER_RESPONSE": "no answer",
    "ORIGINATOR_CANCEL": "no answer",
    "SUBSCRIBER_ABSENT": "no answer",
    "CALL_REJECTED": "rejected",
    "UNALLOCATED_NUMBER": "invalid number",
    "INVALID_NUMBER_FORMAT": "invalid number",
    "NORMAL_CIRCUIT_CONGESTION": "network",
    "SWITCH_CONGESTION": "network",
    "NORMAL_TEMPORARY_FAILURE": "network",
    "RECOVERY_ON_TIMER_EXPIRE": "network",
}
KPIS = ["attempts", "answered", "asr", "ner", "acd_seconds", "billsec_total", "machine_share", "sample_ok"]

Query = Callable[[str], pd.DataFrame]


@dataclass
class Raw:
    """The sandbox's rows as the API renders them, with the columns the expectations need."""

    cdr: pd.DataFrame
    campaigns: pd.DataFrame
    subscribers: pd.DataFrame
    gateways: pd.DataFrame
    alarms: pd.DataFrame
    events: pd.DataFrame
    calendars: pd.DataFrame


def call_kind(row: pd.Series) -> str:
    if pd.notna(row["campaign"]):
        return "campaign"
    return "otp" if row["otp"] else "alarm" if row["alarm"] else "other"


def raw_rows(sb) -> Raw:
    cdr = pd.DataFrame(sb.rows("cdr"))
    utc = pd.to_datetime(cdr["starting_date"], utc=True, format="ISO8601")
    local = utc.dt.tz_convert(VN)
    cdr["utc_day"] = utc.dt.date
    cdr["day"] = local.dt.date
    cdr["hour"] = local.dt.hour
    cdr["weekday"] = local.dt.dayofweek + 1
    cdr["campaign_key"] = cdr["campaign"].fillna(-1).astype(int)
    cdr["is_a"] = cdr["leg_type"] == 1
    cdr["ans"] = cdr["disposition"] == "ANSWER"
    cdr["ner_ok"] = pd.to_numeric(cdr["hangup_cause_q850"], errors="coerce").isin(NER_CODES)
    cdr["machine"] = cdr["ans"] & (cdr["amd_status"] == 2)
    cdr["group"] = np.where(cdr["ans"], "answered", cdr["hangup_cause"].map(EXPECTED_GROUP).fillna("other"))
    cdr["call_kind"] = cdr.apply(call_kind, axis=1)
    cdr["gateway"] = cdr["used_gateway"].fillna(-1).astype(int)
    tables = ("campaigns", "subscribers", "gateways", "alarms", "events", "calendars")
    return Raw(cdr, *(pd.DataFrame(sb.rows(name)) for name in tables))


def expected_kpis(a_legs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The KPIs per `keys` group of A-legs, in plain pandas."""
    rows = []
    for key, g in a_legs.groupby(keys):
        answered = g[g["ans"]]
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "attempts": len(g),
                "answered": len(answered),
                "asr": len(answered) / len(g),
                "ner": g["ner_ok"].sum() / len(g),
                "acd_seconds": answered["billsec"].mean() if len(answered) else np.nan,
                "billsec_total": answered["billsec"].sum(),
                "machine_share": answered["machine"].mean() if len(answered) else np.nan,
                "sample_ok": len(g) >= MIN_SAMPLE,
            }
        )
    return pd.DataFrame(rows)


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], columns: list[str]) -> None:
    """Same key set, and every column equal per key (floats to 1e-9, NULL matching NaN)."""
    merged = actual.merge(expected, on=keys, how="outer", suffixes=("", "_expected"), indicator=True)
    unmatched = merged[merged["_merge"] != "both"]
    assert unmatched.empty, f"keys only on one side:\n{unmatched[[*keys, '_merge']]}"
    for column in columns:
        got = pd.to_numeric(merged[column], errors="coerce").astype(float).to_numpy()
        want = pd.to_numeric(merged[f"{column}_expected"], errors="coerce").astype(float).to_numpy()
        bad = ~np.isclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)
        assert not bad.any(), f"{column} differs:\n{merged.loc[bad, [*keys, column, f'{column}_expected']]}"


def keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """A view's rows with `campaign_id` as an int key (-1 for no campaign) and `day` as a date."""
    out = frame.copy()
    if "campaign_id" in out:
        out["campaign_key"] = pd.to_numeric(out["campaign_id"]).fillna(-1).astype(int)
    if "day" in out:
        out["day"] = pd.to_datetime(out["day"]).dt.date
    if "gateway_id" in out:
        out["gateway"] = pd.to_numeric(out["gateway_id"]).fillna(-1).astype(int)
    return out


# --- checks, each run on DuckDB and on PostgreSQL ---


def check_daily(query: Query, raw: Raw) -> None:
    actual = keyed(query("SELECT * FROM {ds}.cdr_campaign_daily"))
    expected = expected_kpis(raw.cdr[raw.cdr["is_a"]], ["campaign_key", "call_kind", "day"])
    assert list(actual.columns[:4]) == ["campaign_id", "campaign_name", "call_kind", "day"]
    assert_same(actual, expected, ["campaign_key", "call_kind", "day"], KPIS)


def check_campaign_kpis(query: Query, raw: Raw) -> None:
    actual = keyed(query("SELECT * FROM {ds}.cdr_campaign_kpis"))
    keys = ["campaign_key", "call_kind"]
    assert_same(actual, expected_kpis(raw.cdr[raw.cdr["is_a"]], keys), keys, KPIS)
    outside = set(actual.loc[actual["campaign_key"] < 0, "call_kind"])
    assert outside == {"otp", "alarm"}, "calls outside campaigns are told apart by kind, not lumped together"
    assert set(actual.loc[actual["campaign_key"] >= 0, "call_kind"]) == {"campaign"}
    names = raw.campaigns.set_index("id")["name"]
    named = actual[actual["campaign_key"] >= 0]
    assert list(named["campaign_name"]) == [names[i] for i in named["campaign_key"]]


def check_headline(query: Query, raw: Raw) -> None:
    a_legs = raw.cdr[raw.cdr["is_a"]].assign(everything=0)
    assert_same(
        query("SELECT * FROM {ds}.cdr_kpis").assign(everything=0),
        expected_kpis(a_legs, ["everything"]),
        ["everything"],
        KPIS,
    )


def check_hourly(query: Query, raw: Raw) -> None:
    actual = query("SELECT * FROM {ds}.cdr_hourly_profile")
    expected = expected_kpis(raw.cdr[raw.cdr["is_a"]], ["weekday", "hour"])
    assert_same(actual, expected, ["weekday", "hour"], KPIS)
    assert set(actual["weekday"]) == set(WEEKDAYS), "the sandbox world has calls on every weekday"
    pairs = set(zip(actual["weekday"], actual["weekday_name"], strict=True))
    assert pairs == set(WEEKDAYS.items()), "each row of a weekday names it, with its ISO number"


def check_hangup_causes(query: Query, raw: Raw) -> None:
    actual = keyed(query("SELECT * FROM {ds}.cdr_hangup_causes"))
    a_legs = raw.cdr[raw.cdr["is_a"]]
    calls = a_legs.groupby(["campaign_key", "call_kind", "group"]).size().rename("calls").reset_index()
    calls["share"] = calls["calls"] / calls.groupby(["campaign_key", "call_kind"])["calls"].transform("sum")
    calls = calls.rename(columns={"group": "cause_group"})
    assert set(actual["cause_group"]) <= set(CAUSE_GROUPS)
    assert {"answered", "busy", "no answer", "rejected", "invalid number", "network"} <= set(
        actual["cause_group"]
    )
    assert_same(actual, calls, ["campaign_key", "call_kind", "cause_group"], ["calls", "share"])


def check_progress(query: Query, raw: Raw) -> None:
    actual = query("SELECT * FROM {ds}.campaign_progress")
    subs = raw.subscribers
    a_ans = raw.cdr[raw.cdr["is_a"] & raw.cdr["ans"] & raw.cdr["subscriber"].notna()]
    rows = []
    for camp in raw.campaigns.itertuples():
        s = subs[subs["campaign"] == camp.id]
        n = len(s)
        rows.append(
            {
                "campaign_id": camp.id,
                "subscribers": n,
                **{
                    name: int((s["status"] == code).sum())
                    for code, name in [
                        (1, "pending"),
                        (2, "paused"),
                        (3, "aborted"),
                        (4, "failed"),
                        (5, "sent"),
                        (6, "in_process"),
                        (7, "dnc_refusals"),
                        (8, "completed"),
                    ]
                },
                "attempted": int((s["count_attempt"] > 0).sum()),
                "reached": a_ans.loc[a_ans["campaign"] == camp.id, "subscriber"].nunique(),
                "completion_rate": (s["status"] == 8).mean() if n else np.nan,
                "attempted_share": (s["count_attempt"] > 0).mean() if n else np.nan,
                "attempts_per_subscriber": s["count_attempt"].mean() if n else np.nan,
            }
        )
    expected = pd.DataFrame(rows)
    assert_same(actual, expected, ["campaign_id"], [c for c in expected.columns if c != "campaign_id"])
    labels = dict(zip(actual["campaign_id"], actual["status_label"], strict=True))
    statuses = dict(zip(raw.campaigns["id"], raw.campaigns["status"], strict=True))
    assert labels == {i: LOOKUPS["lookup_campaign_status"][s] for i, s in statuses.items()}
    assert actual["dnc_refusals"].sum() > 0, "the sandbox blocks some subscribers by DNC"


def check_enriched(query: Query, raw: Raw) -> None:
    """One row per CDR, with the Vietnam-local day and hour, the leg, the flags and the cause group."""
    actual = query(
        "SELECT id, day_local, hour_local, weekday_local, leg, is_a_leg, answered, cause_group, "
        "disposition_label, campaign_name, call_kind FROM {ds}.cdr_enriched"
    )
    merged = actual.merge(raw.cdr, on="id", how="outer", indicator=True, suffixes=("", "_raw"))
    assert (merged["_merge"] == "both").all()
    assert (merged["call_kind"] == merged["call_kind_raw"]).all()
    assert (pd.to_datetime(merged["day_local"]).dt.date == merged["day"]).all()
    assert (merged["hour_local"] == merged["hour"]).all()
    assert (merged["weekday_local"] == merged["weekday"]).all()
    assert (merged["leg"] == merged["leg_type"].map({1: "A-leg", 2: "B-leg"})).all()
    assert (merged["is_a_leg"].astype(bool) == merged["is_a"]).all()
    assert (merged["answered"].astype(bool) == merged["ans"]).all()
    assert (merged["cause_group"] == merged["group"]).all()
    assert merged["disposition_label"].notna().all()


def check_cdr_daily(query: Query, raw: Raw) -> None:
    actual = keyed(query("SELECT * FROM {ds}.cdr_daily"))
    expected = expected_kpis(raw.cdr[raw.cdr["is_a"]], ["day", "call_kind"])
    expected["talk_minutes"] = expected["billsec_total"] / 60
    assert_same(actual, expected, ["day", "call_kind"], [*KPIS, "talk_minutes"])
    assert set(actual["call_kind"]) == {"campaign", "otp", "alarm"}


def check_gateway_kpis(query: Query, raw: Raw) -> None:
    actual = keyed(query("SELECT * FROM {ds}.cdr_gateway_kpis"))
    a_legs = raw.cdr[raw.cdr["is_a"]]
    keys = ["gateway", "campaign_key", "call_kind"]
    expected = expected_kpis(a_legs, keys)
    ended = a_legs.groupby([*keys, "group"]).size().unstack(fill_value=0)
    for group in CAUSE_GROUPS[1:]:
        column = f"ended_{group.replace(' ', '_')}"
        expected[column] = [int(ended[group].get(tuple(k), 0)) if group in ended else 0
                            for k in expected[keys].itertuples(index=False)]
    ended_columns = [c for c in expected.columns if c.startswith("ended_")]
    assert_same(actual, expected, keys, [*KPIS, *ended_columns])
    assert (actual["answered"] + actual[ended_columns].sum(axis=1) == actual["attempts"]).all()
    names = raw.gateways.set_index("id")["name"]
    assert list(actual["gateway_name"]) == [names[i] for i in actual["gateway"]]
    dead = actual.groupby("gateway_name")[["attempts", "answered"]].sum()
    assert ((dead["attempts"] >= MIN_SAMPLE) & (dead["answered"] == 0)).any(), "a gateway that answers no call"


def flatten_answers(row: pd.Series) -> list[dict]:
    """The answers in one subscriber's collected_data, as the API renders it, in plain Python."""
    text = row["collected_data"]
    if text is None or text == "":
        return []
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    base = {"campaign_id": row["campaign"], "subscriber_id": row["id"], "contact_id": row["contact"]}
    if not isinstance(value, dict):
        readable = value if isinstance(value, str) else json.dumps(value)
        return [] if value is None or not readable.strip() else [
            {**base, "question": None, "answer": readable, "malformed": True}]

    def leaves(obj: dict, prefix: str) -> Iterator[tuple[str, object]]:
        for key, item in obj.items():
            if isinstance(item, dict):
                yield from leaves(item, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", item

    def as_text(item: object) -> str | None:
        if item is None or isinstance(item, str):
            return item
        return json.dumps(item)

    return [{**base, "question": q, "answer": as_text(a), "malformed": False} for q, a in leaves(value, "")]


def comparable(answer: object) -> object:
    """An answer as text, a JSON list as its items (the databases space JSON text differently)."""
    if isinstance(answer, str) and answer.startswith("["):
        return tuple(json.loads(answer))
    return None if pd.isna(answer) else answer


def expected_answers(raw: Raw) -> pd.DataFrame:
    return pd.DataFrame([a for _, row in raw.subscribers.iterrows() for a in flatten_answers(row)])


def check_survey_answers(query: Query, raw: Raw) -> None:
    actual = query("SELECT * FROM {ds}.survey_answers")
    expected = expected_answers(raw)
    assert expected["malformed"].any() and expected["question"].str.contains(".", regex=False).any()

    def rows(frame: pd.DataFrame) -> list[tuple]:
        return sorted(
            (int(r.subscriber_id), int(r.contact_id), int(r.campaign_id), r.question or "", comparable(r.answer) or "",
             bool(r.malformed))
            for r in frame.itertuples()
        )

    assert rows(actual) == rows(expected)
    names = raw.campaigns.set_index("id")["name"]
    assert list(actual["campaign_name"]) == [names[i] for i in actual["campaign_id"]]
    questions = expected[~expected["malformed"]].groupby("campaign_id")["question"].nunique()
    assert questions.max() >= 4, "a survey asks several questions"


def check_survey_shares(query: Query, raw: Raw) -> None:
    actual = query("SELECT * FROM {ds}.survey_answer_shares")
    answers = expected_answers(raw)
    answers = answers[~answers["malformed"]].assign(answer=lambda f: f["answer"].map(comparable).fillna("(null)"))
    counts = answers.groupby(["campaign_id", "question", "answer"]).size().rename("subscribers").reset_index()
    counts["respondents"] = counts.groupby(["campaign_id", "question"])["subscribers"].transform("sum")
    counts["share"] = counts["subscribers"] / counts["respondents"]
    counts["sample_ok"] = counts["respondents"] >= MIN_SAMPLE
    actual = actual.assign(answer=actual["answer"].map(comparable).fillna("(null)"))
    assert_same(actual, counts, ["campaign_id", "question", "answer"], ["subscribers", "respondents", "share",
                                                                       "sample_ok"])


def check_reminder_outcomes(query: Query, raw: Raw) -> None:
    actual = keyed(query("SELECT * FROM {ds}.reminder_outcomes"))
    alarms = raw.alarms.merge(raw.events[["id", "calendar"]].rename(columns={"id": "event"}), on="event", how="left")
    alarms["day"] = pd.to_datetime(alarms["date_start_notice"], utc=True, format="ISO8601").dt.tz_convert(VN).dt.date
    alarms = alarms.rename(columns={"calendar": "calendar_id"})
    keys = ["day", "calendar_id", "status", "result"]
    expected = alarms.groupby(keys).agg(alarms=("id", "size"), call_attempts=("num_attempt", "sum")).reset_index()
    assert_same(actual, expected, keys, ["alarms", "call_attempts"])
    assert set(actual["status"]) == set(range(1, 6)) and set(actual["result"]) == set(range(4))
    calendars = raw.calendars.set_index("id")["name"]
    assert list(actual["calendar_name"]) == [calendars[i] for i in actual["calendar_id"]]
    assert set(zip(actual["result"], actual["result_label"], strict=True)) == set(
        LOOKUPS["lookup_alarm_result"].items())


CHECKS = [
    check_daily,
    check_campaign_kpis,
    check_headline,
    check_hourly,
    check_hangup_causes,
    check_progress,
    check_enriched,
    check_cdr_daily,
    check_gateway_kpis,
    check_survey_answers,
    check_survey_shares,
    check_reminder_outcomes,
]


# --- the loaded worlds ---


@dataclass
class Warehouse:
    query: Query
    raw: Raw
    path: Path | None = None


def load_sandbox(sb, pipeline) -> None:
    """Load the sandbox's main account with the real loader, then create the views."""
    account = sb.accounts[0]
    run_load(pipeline, base_url=sb.base_url, username=account.username, password=account.password)
    assert create_views(pipeline), "the views were not created"


def with_password(dsn: str) -> str:
    """`dsn` with a placeholder password when it has none: dlt requires one, a trusting server ignores it."""
    parts = urlsplit(dsn)
    if parts.password is not None:
        return dsn
    netloc = parts.netloc.replace("@", ":unused@", 1) if "@" in parts.netloc else parts.netloc
    return urlunsplit(parts._replace(netloc=netloc))


def duckdb_query(path: Path, dataset: str) -> Query:
    import duckdb

    def query(sql: str) -> pd.DataFrame:
        with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
            return con.sql(sql.replace("{ds}", dataset)).df()

    return query


@pytest.fixture(scope="module")
def duck(tmp_path_factory) -> Iterator[Warehouse]:
    """The default sandbox world loaded over HTTP into a DuckDB file, once for this module (per xdist worker)."""
    tmp = tmp_path_factory.mktemp("analytics")
    with pytest.MonkeyPatch.context() as mp, run_sandbox(seed=11, cdrs=1_500) as sb:
        mp.setenv("DLT_DATA_DIR", str(tmp / "dlt"))
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        path = tmp / "warehouse.duckdb"
        load_sandbox(sb, build_pipeline(duckdb_path=path, dataset="antbot", pipeline_name="analytics_views"))
        yield Warehouse(duckdb_query(path, "antbot"), raw_rows(sb), path)


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_views_match_pandas_on_duckdb(duck: Warehouse, check) -> None:
    check(duck.query, duck.raw)


@pytest.mark.postgres
def test_views_match_pandas_on_postgres(sandbox, postgres_schema) -> None:
    import psycopg2

    dsn, schema = postgres_schema
    pipeline = build_pipeline(destination="postgres", credentials=with_password(dsn), dataset=schema)
    load_sandbox(sandbox, pipeline)

    def query(sql: str) -> pd.DataFrame:
        with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
            cur.execute(sql.replace("{ds}", f'"{schema}"'))
            return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])

    raw = raw_rows(sandbox)
    for check in CHECKS:
        check(query, raw)

    # PostgreSQL refuses to drop a table a view reads: a full refresh must still work, views and all
    account = sandbox.accounts[0]
    sandbox.advance(new_cdrs=30)
    run_load(
        pipeline,
        full_refresh=True,
        base_url=sandbox.base_url,
        username=account.username,
        password=account.password,
    )
    assert create_views(pipeline)
    check_headline(query, raw_rows(sandbox))


def test_campaign_without_answer_has_zero_asr_and_no_acd(duck: Warehouse) -> None:
    kpis = keyed(duck.query("SELECT * FROM {ds}.cdr_campaign_kpis"))
    never = (
        duck.raw.cdr[duck.raw.cdr["is_a"] & duck.raw.cdr["campaign"].notna()].groupby("campaign")["ans"].sum()
    )
    silent = set(never[never == 0].index.astype(int))
    assert silent, "the sandbox world has a campaign whose calls all fail"
    rows = kpis[kpis["campaign_key"].isin(silent)]
    assert len(rows) == len(silent)
    assert (rows["attempts"] > 0).all() and (rows["answered"] == 0).all() and (rows["asr"] == 0).all()
    assert rows["acd_seconds"].isna().all() and rows["machine_share"].isna().all()
    assert (rows["billsec_total"] == 0).all()


def test_b_legs_are_not_attempts(duck: Warehouse) -> None:
    cdr = duck.raw.cdr
    b_legs = cdr[cdr["leg_type"] == 2]
    assert len(b_legs) > 0, "the sandbox world has transfers"
    kpis = keyed(duck.query("SELECT * FROM {ds}.cdr_campaign_kpis"))
    total = duck.query("SELECT * FROM {ds}.cdr_kpis")
    assert int(total["attempts"].iloc[0]) == len(cdr) - len(b_legs)
    for campaign, n_b in b_legs.groupby("campaign_key").size().items():
        row = kpis[kpis["campaign_key"] == campaign].iloc[0]
        assert row["attempts"] == int((cdr["is_a"] & (cdr["campaign_key"] == campaign)).sum())
        assert row["attempts"] < int((cdr["campaign_key"] == campaign).sum()), n_b


def test_day_is_the_vietnam_day_not_the_utc_day(duck: Warehouse) -> None:
    cdr = duck.raw.cdr
    crossing = cdr[cdr["is_a"] & (cdr["day"] != cdr["utc_day"])]
    assert len(crossing) > 0, "some calls happen between 00:00 and 07:00 Vietnam time"
    probe = crossing.iloc[0]
    got = duck.query(f"SELECT day_local, hour_local FROM {{ds}}.cdr_enriched WHERE id = {int(probe['id'])}")
    assert pd.Timestamp(got["day_local"].iloc[0]).date() == probe["day"] != probe["utc_day"]
    assert got["hour_local"].iloc[0] < 7
    daily = keyed(duck.query("SELECT * FROM {ds}.cdr_campaign_daily"))
    key = (daily["campaign_key"] == probe["campaign_key"]) & (daily["call_kind"] == probe["call_kind"]) & (
        daily["day"] == probe["day"])
    in_vn_day = (cdr["is_a"] & (cdr["campaign_key"] == probe["campaign_key"]) & (cdr["call_kind"] == probe["call_kind"])
                 & (cdr["day"] == probe["day"]))
    assert int(daily.loc[key, "attempts"].iloc[0]) == int(in_vn_day.sum())


def test_lookups_label_every_code_in_the_data(duck: Warehouse) -> None:
    cdr = duck.raw.cdr
    labels = duck.query("SELECT code, label FROM {ds}.lookup_disposition")
    assert set(cdr["disposition"]) <= set(labels["code"])
    causes = duck.query("SELECT code, name, cause_group, counts_for_ner FROM {ds}.lookup_hangup_cause")
    by_code = causes.set_index("code")
    for q850, name in set(zip(cdr["hangup_cause_q850"].astype(int), cdr["hangup_cause"], strict=True)):
        assert by_code.loc[q850, "name"] == name
        assert bool(by_code.loc[q850, "counts_for_ner"]) == (q850 in NER_CODES)
    for view, codes in LOOKUPS.items():
        assert dict(duck.query(f"SELECT code, label FROM {{ds}}.{view}").itertuples(index=False)) == codes
    statuses = duck.query("SELECT DISTINCT status_label FROM {ds}.campaign_progress")
    assert statuses["status_label"].notna().all()


def test_views_follow_each_load(sandbox, tmp_path) -> None:
    """The views read the tables, so a second (incremental) load shows its new calls; re-creating is safe."""
    path = tmp_path / "warehouse.duckdb"
    pipeline = build_pipeline(duckdb_path=path, dataset="antbot")
    load_sandbox(sandbox, pipeline)
    query = duckdb_query(path, "antbot")
    before = int(query("SELECT attempts FROM {ds}.cdr_kpis")["attempts"].iloc[0])
    sandbox.advance(new_cdrs=60)
    load_sandbox(sandbox, pipeline)
    after = int(query("SELECT attempts FROM {ds}.cdr_kpis")["attempts"].iloc[0])
    a_legs = sum(1 for row in sandbox.rows("cdr") if row["leg_type"] == 1)
    assert before < after == a_legs
    names = {view_name(s) for s in view_statements('"antbot"')}
    present = query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'antbot' AND table_type = 'VIEW'"
    )
    assert names == set(present["table_name"])


def test_views_command(duck: Warehouse, tmp_path) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["views", "--duckdb", str(duck.path)])
    assert made.exit_code == 0, made.output
    assert f"created {len(view_statements('x'))} analytics views" in made.output
    assert "Thu hồi nợ" in made.output and "0.0%" in made.output  # the campaign without an answered call
    missing = runner.invoke(app, ["views", "--duckdb", str(tmp_path / "missing.duckdb")])
    assert missing.exit_code == 2
    assert "no DuckDB file at" in missing.output and "run `antbot load` first" in missing.output
    assert not (tmp_path / "missing.duckdb").exists(), "no file is created for a path that does not exist"
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    empty = runner.invoke(app, ["views", "--duckdb", str(tmp_path / "empty.duckdb")])
    assert empty.exit_code == 2
    assert "has no table" in empty.output and "load it first" in empty.output
