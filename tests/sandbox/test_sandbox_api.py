"""Contract tests of the sandbox's read side: auth, pagination, filters, tenancy (HTTP over loopback)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import psutil
import pytest
from support import login, walk

from antbot_source.sandbox import Habits, SandboxHandle, run_sandbox

VN = "+07:00"


@pytest.fixture(scope="module")
def shared() -> Iterator[SandboxHandle]:
    """One read-only sandbox for the whole module (nothing here writes or changes habits)."""
    with run_sandbox(seed=5, cdrs=1_200) as sb:
        yield sb


@pytest.fixture(scope="module")
def api(shared) -> Iterator[httpx.Client]:
    with login(shared) as client:
        yield client


def test_token_required_and_credentials_checked(shared):
    with httpx.Client(base_url=shared.base_url + "/") as c:
        missing = c.get("cdr/")
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        assert c.get("cdr/", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.get("cdr/", headers={"Authorization": "Token nope"}).status_code == 401
        bad = c.post("get-token/", json={"username": "demo", "password": "wrong"})
        assert bad.status_code == 401 and "wrong" not in bad.text
        assert c.post("get-token/", json={"username": "nobody", "password": "demo-pass"}).status_code == 401
        assert c.post("get-token/", json={"username": "demo"}).status_code == 400
        form = c.post("get-token/", data={"username": "demo", "password": "demo-pass"})
        assert form.status_code == 200 and form.json()["access"]


def test_a_password_of_any_characters_is_refused_like_a_wrong_one(shared):
    """The service answers 401 to a wrong password whatever its characters (never a 500)."""
    with httpx.Client(base_url=shared.base_url + "/") as c:
        for password in ("pässwörd-ü", "демо-пароль", "密码🔑", "demo-pass\u00e9"):
            as_json = c.post("get-token/", json={"username": "demo", "password": password})
            assert as_json.status_code == 401, (password, as_json.text)
            as_form = c.post("get-token/", data={"username": "demo", "password": password})
            assert as_form.status_code == 401, (password, as_form.text)
        assert c.post("get-token/", json={"username": "démo", "password": "demo-pass"}).status_code == 401
        not_utf8 = c.post("get-token/", content=b"username=demo&password=\xff\xfe",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert not_utf8.status_code == 401, not_utf8.text
        assert c.post("get-token/", json={"username": "demo", "password": "demo-pass"}).status_code == 200


def test_token_expires(start_sandbox):
    sb = start_sandbox(seed=1, cdrs=200, token_ttl=600)
    assert sb.habits().token_ttl_s == 600
    with login(sb) as client:
        assert client.get("gateway/").status_code == 200
        sb.set_habits(token_ttl_s=0)  # every token handed out is now older than its lifetime
        r = client.get("gateway/")
        assert r.status_code == 401 and r.json()["code"] == "token_not_valid"
        sb.set_habits(token_ttl_s=600)
        assert client.get("gateway/").status_code == 200, "the lifetime counts from when the token was issued"


def test_token_expires_after_its_uses(start_sandbox):
    sb = start_sandbox(seed=1, cdrs=200, habits=Habits(token_uses=2))
    with login(sb) as client:
        assert [client.get("gateway/").status_code for _ in range(3)] == [200, 200, 401]
    with login(sb) as fresh:
        assert fresh.get("gateway/").status_code == 200, "each token counts its own uses"


def test_walk_to_the_end_then_404(api, shared):
    rows = walk(api, "cdr/", page_size=250)
    truth = shared.truth()["cdr"]
    assert len(rows) == truth["count"] == 1_200
    assert {r["id"] for r in rows} == truth["ids"]
    dates = [r["starting_date"] for r in rows]
    assert dates == sorted(dates, reverse=True), "CDRs come newest first"
    last = api.get("cdr/", params={"page_size": 250, "page": 5}).json()
    assert last["next"] is None and len(last["results"]) == 200
    assert last["previous"].startswith(shared.root) and "page=4" in last["previous"]
    second = api.get("cdr/", params={"page_size": 250, "page": 2}).json()
    assert "page=" not in second["previous"] and second["previous"].startswith("http://")
    assert api.get("cdr/", params={"page_size": 250, "page": 6}).status_code == 404
    assert api.get("cdr/", params={"page": "zero"}).status_code == 404


def test_page_size_default_and_maximum(api):
    assert len(api.get("contact/").json()["results"]) == 100
    assert len(api.get("cdr/", params={"page_size": 5000}).json()["results"]) == 1_000


def test_empty_list_is_a_page_not_a_404(api):
    r = api.get("cdr/", params={"campaign": 999_999})
    assert r.status_code == 200 and r.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_detail_and_missing_ids(api, shared):
    contact = shared.rows("contacts")[0]
    assert api.get(f"contact/{contact['id']}/").json() == contact
    assert api.get("contact/999999999/").status_code == 404
    assert api.get("no-such-endpoint/").status_code == 404


# (endpoint, table, param, field, how the field must relate to the value)
FILTERS = [
    ("cdr/", "cdr", "callid", "callid", "eq"), ("cdr/", "cdr", "callerid", "callerid", "eq"),
    ("cdr/", "cdr", "phone_number", "phone_number", "eq"), ("cdr/", "cdr", "duration", "duration", "eq"),
    ("cdr/", "cdr", "billsec", "billsec", "eq"), ("cdr/", "cdr", "disposition", "disposition", "eq"),
    ("cdr/", "cdr", "hangup_cause", "hangup_cause", "eq"),
    ("cdr/", "cdr", "sip_term_status", "sip_term_status", "eq"),
    ("cdr/", "cdr", "sip_term_cause", "sip_term_cause", "eq"),
    ("cdr/", "cdr", "endpoint_disposition", "endpoint_disposition", "eq"),
    ("cdr/", "cdr", "campaign", "campaign", "eq"), ("cdr/", "cdr", "alarm", "alarm", "eq"),
    ("cdr/", "cdr", "otp", "otp", "eq"),
    ("subscriber-list/", "subscribers", "campaign", "campaign", "eq"),
    ("subscriber-list/", "subscribers", "contact", "duplicate_contact", "eq"),
    ("subscriber-list/", "subscribers", "status", "status", "eq"),
    ("subscriber-list/", "subscribers", "duration", "duration", "eq"),
    ("subscriber-list/", "subscribers", "billsec", "billsec", "eq"),
    ("campaigns/", "campaigns", "name", "name", "icontains"),
    ("campaigns/", "campaigns", "phonebook", "phonebook", "has"),
    ("campaigns/", "campaigns", "status", "status", "eq"),
    ("survey-template/", "survey_templates", "search", "name", "icontains"),
    ("survey-template/", "survey_templates", "description", "description", "icontains"),
    ("survey-template/", "survey_templates", "is_onboarding", "is_onboarding", "eq"),
    ("survey-template/", "survey_templates", "user", "user", "eq"),
    ("phonebook/", "phonebooks", "search", "name", "icontains"),
    ("contact/", "contacts", "phonebook", "phonebook", "eq"),
    ("survey-list/", "surveys", "search", "name", "icontains"),
    ("survey-list/", "surveys", "tts_language", "tts_language", "eq"),
    ("survey-list/", "surveys", "description", "description", "icontains"),
    ("survey-list/", "surveys", "campaign", "campaign", "eq"),
]


def _query_value(value, how: str):
    if how == "has":
        return value[0]
    if isinstance(value, bool):
        return str(value).lower()
    if how == "icontains":
        return value[-5:].upper()  # a part, in another case
    return value


def _matches(row_value, query: str, how: str) -> bool:
    if how == "has":
        return int(query) in row_value
    if how == "icontains":
        return query.lower() in row_value.lower()
    if isinstance(row_value, bool):
        return str(row_value).lower() == query
    return str(row_value) == str(query)


@pytest.mark.parametrize(("endpoint", "table", "param", "field", "how"), FILTERS,
                         ids=[f"{e}{p}" for e, _, p, _, _ in FILTERS])
def test_every_documented_filter_filters(api, shared, endpoint, table, param, field, how):
    rows = shared.rows(table)
    # a value that selects some rows but not all
    candidates = [r for r in rows if r[field] not in (None, "", [])]
    query = None
    for row in candidates:
        q = _query_value(row[field], how)
        expected = {r["id"] for r in rows if r[field] is not None and _matches(r[field], q, how)}
        if 0 < len(expected) < len(rows):
            query = q
            break
    if query is None:  # every row holds the same value: a value nobody holds must select nothing
        query, expected = ("987654" if isinstance(rows[0][field], int) else "zz-nobody"), set()
    got = {r["id"] for r in walk(api, endpoint, page_size=1000, **{param: query})}
    assert got == expected


def test_contact_search_finds_number_and_name(api, shared):
    contacts = shared.rows("contacts")
    number, name = contacts[3]["contact"], contacts[3]["last_name"]
    assert contacts[3]["id"] in {r["id"] for r in walk(api, "contact/", search=number[-6:])}
    by_name = {r["id"] for r in walk(api, "contact/", search=name, page_size=1000)}
    assert by_name == {r["id"] for r in contacts if name.lower() in (r["first_name"] + r["last_name"]).lower()
                       or name in r["contact"]}


def test_misspelled_filter_is_ignored(api):
    full = api.get("cdr/").json()["count"]
    assert api.get("cdr/", params={"campain": 1, "dispositon": "ANSWER"}).json()["count"] == full
    assert api.get("cdr/", params={"campaign": 1}).json()["count"] < full


def test_date_window_inclusive_and_local_time(api, shared):
    rows = shared.rows("cdr")
    dates = sorted(datetime.fromisoformat(r["starting_date"]) for r in rows)
    assert all(r["starting_date"].endswith(VN) for r in rows)
    lo, hi = dates[100], dates[600]
    window = walk(api, "cdr/", from_date=lo.isoformat(), to_date=hi.isoformat(), page_size=1000)
    assert len(window) == 501, "from_date and to_date are both inclusive"
    # the same instants written in other offsets (explicit ones: the machine's zone plays no part) select the
    # same rows
    for zone in (UTC, timezone(timedelta(hours=9)), timezone(-timedelta(hours=3, minutes=30))):
        lo_text, hi_text = lo.astimezone(zone).isoformat(), hi.astimezone(zone).isoformat()
        assert not lo_text.endswith(VN) and not hi_text.endswith(VN)
        shifted = walk(api, "cdr/", from_date=lo_text, to_date=hi_text, page_size=1000)
        assert {r["id"] for r in shifted} == {r["id"] for r in window}, zone
    # a naive datetime is read as Vietnam time: the local wall-clock text selects the same window
    naive = walk(api, "cdr/", from_date=lo.replace(tzinfo=None).isoformat(),
                 to_date=hi.replace(tzinfo=None).isoformat(), page_size=1000)
    assert {r["id"] for r in naive} == {r["id"] for r in window}
    assert api.get("cdr/", params={"from_date": "yesterday"}).status_code == 400
    later = walk(api, "cdr/", from_date=(hi + timedelta(microseconds=1)).isoformat(), page_size=1000)
    assert len(later) == len(rows) - 601


def test_bad_filter_values_are_400(api):
    assert api.get("cdr/", params={"campaign": "abc"}).status_code == 400
    assert api.get("cdr/", params={"alarm": "maybe"}).status_code == 400


def test_each_account_sees_only_its_own_data(shared):
    with login(shared, 0) as demo, login(shared, 1) as other:
        truth_demo, truth_other = shared.truth("demo"), shared.truth("other")
        for endpoint, table in (("cdr/", "cdr"), ("contact/", "contacts"), ("campaigns/", "campaigns"),
                                ("subscriber-list/", "subscribers"), ("dnc-contact/", "dnc_contacts")):
            mine = {r["id"] for r in walk(demo, endpoint, page_size=1000)}
            theirs = {r["id"] for r in walk(other, endpoint, page_size=1000)}
            assert mine == truth_demo[table]["ids"] and theirs == truth_other[table]["ids"]
            assert not mine & theirs
        foreign = next(iter(truth_other["contacts"]["ids"]))
        assert demo.get(f"contact/{foreign}/").status_code == 404
        assert demo.put(f"contact/{foreign}/", json={"first_name": "X"}).status_code == 404
        assert demo.delete(f"contact/{foreign}/").status_code == 404
        assert shared.truth("other")["contacts"]["count"] == truth_other["contacts"]["count"]


def test_truth_and_rows_cover_every_table(shared):
    truth = shared.truth()
    assert set(truth) == {"cdr", "subscribers", "campaigns", "contacts", "phonebooks", "surveys",
                          "survey_templates", "section_templates", "gateways", "dnc_lists", "dnc_contacts",
                          "calendar_settings", "calendar_users", "calendars", "events", "alarms"}
    for table, t in truth.items():
        assert t["count"] > 0 and len(t["ids"]) == t["count"], table
        assert {r["id"] for r in shared.rows(table)} == t["ids"], table


def test_cli_serve_answers_with_the_documented_shapes():
    cmd = [sys.executable, "-m", "pipelines.cli", "sandbox", "serve", "--port", "0", "--cdrs", "50", "--seed", "4"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            banner = proc.stdout.readline()
            root = re.search(r"(http://\S+)/rest-api", banner).group(1)
            accounts = [proc.stdout.readline() for _ in range(2)]
            assert "demo / demo-pass" in accounts[0] and "other / other-pass" in accounts[1]
            with httpx.Client(base_url=root + "/rest-api/") as c:
                token = c.post("get-token/", json={"username": "demo", "password": "demo-pass"}).json()["access"]
                body = c.get("cdr/", headers={"Authorization": f"Bearer {token}"}).json()
            assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 50
        finally:
            proc.terminate()


def test_admin_routes_need_the_key(shared):
    with httpx.Client(base_url=shared.root) as c:
        assert c.get("/_sandbox/truth").status_code == 403
        assert c.get("/_sandbox/truth", headers={"X-Sandbox-Key": "wrong"}).status_code == 403
        assert c.get("/_sandbox/truth", headers={"X-Sandbox-Key": "clé".encode()}).status_code == 403
        assert c.put("/_sandbox/habits", json={"error_rate": 1.0}).status_code == 403
        assert c.get("/_sandbox/truth", headers={"X-Sandbox-Key": shared.admin_key}).status_code == 200
    assert shared.habits().error_rate == 0.0


def test_admin_calls_leave_no_idle_connection(sandbox) -> None:
    """The server closes a connection idle for 5 s; an admin call sent on a pooled one as it closes fails,
    so the handle opens a connection per call and keeps none open between calls."""
    port = httpx.URL(sandbox.root).port
    sandbox.reset_stats()
    assert sandbox.stats()["requests"] == {}
    held = [c for c in psutil.Process().net_connections(kind="tcp")
            if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED]
    assert held == []
