"""Each habit of the real service, switched on and off at run time (sb.set_habits) or at start (Habits)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support import login, walk

from antbot_source.sandbox import Habits


@pytest.fixture
def sb(start_sandbox):
    return start_sandbox(seed=3, cdrs=600)


@pytest.fixture
def api(sb):
    with login(sb) as client:
        yield client


def test_rendering_habits(sb, api):
    row = api.get("cdr/").json()["results"][0]
    contact = api.get("contact/").json()["results"][1]
    assert row["starting_date"].endswith("+07:00") and isinstance(contact["additional_vars"], str)
    sb.set_habits(vn_offset=False, json_as_string=False)
    utc = api.get("cdr/").json()["results"][0]
    assert utc["starting_date"].endswith("Z") and utc["id"] == row["id"]
    assert datetime.fromisoformat(utc["starting_date"]) == datetime.fromisoformat(row["starting_date"])
    assert isinstance(api.get("contact/").json()["results"][1]["additional_vars"], dict)


def test_shape_habits_of_older_builds(sb, api):
    account = sb.accounts[0]
    login_body = {"username": account.username, "password": account.password}
    assert set(httpx.post(f"{sb.base_url}/get-token/", json=login_body).json()) == {"refresh", "access"}
    contact = api.get("contact/").json()["results"][0]
    cdr = next(r for r in api.get("cdr/", params={"page_size": 200}).json()["results"] if r["campaign"])
    sb.set_habits(token_key="access_token", urls_not_ids=True, bare_lists=["phonebook"])
    assert set(httpx.post(f"{sb.base_url}/get-token/", json=login_body).json()) == {"access_token"}

    old = api.get("contact/").json()["results"][0]
    assert "id" not in old and old["url"] == f"{sb.base_url}/contact/{contact['id']}/"
    assert old["phonebook"] == f"{sb.base_url}/phonebook/{contact['phonebook']}/"
    old_cdr = api.get(f"cdr/{cdr['id']}/").json()
    assert old_cdr["campaign"] == f"{sb.base_url}/campaigns/{cdr['campaign']}/"
    assert old_cdr["subscriber"] == (cdr["subscriber"] and f"{sb.base_url}/subscriber-list/{cdr['subscriber']}/")

    phonebooks = api.get("phonebook/", params={"page_size": 1}).json()
    assert isinstance(phonebooks, list) and len(phonebooks) == sb.truth("demo")["phonebooks"]["count"] > 1


def test_naive_filter_datetime_habit(sb, api):
    rows = walk(api, "cdr/", page_size=1000)
    newest = datetime.fromisoformat(rows[0]["starting_date"])
    naive_local = newest.replace(tzinfo=None).isoformat()  # Vietnam wall-clock text
    assert api.get("cdr/", params={"from_date": naive_local}).json()["count"] == 1
    sb.set_habits(naive_as_local=False)  # now read as UTC: 7 hours later than meant, nothing is that new
    assert api.get("cdr/", params={"from_date": naive_local}).json()["count"] == 0
    utc_text = newest.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert api.get("cdr/", params={"from_date": utc_text}).json()["count"] == 1


def test_order_habit(sb, api):
    newest_first = [r["id"] for r in walk(api, "cdr/", page_size=1000)]
    sb.set_habits(cdr_newest_first=False)
    oldest_first = walk(api, "cdr/", page_size=1000)
    assert [r["id"] for r in oldest_first] == newest_first[::-1]
    dates = [r["starting_date"] for r in oldest_first]
    assert dates == sorted(dates)


def test_unknown_params_habit(sb, api):
    assert api.get("cdr/", params={"campain": 1}).status_code == 200
    sb.set_habits(ignore_unknown_params=False)
    r = api.get("cdr/", params={"campain": 1})
    assert r.status_code == 400 and "campain" in r.json()
    assert api.get("cdr/", params={"campaign": 1, "page_size": 5}).status_code == 200


def test_page_size_habits(sb, api):
    assert len(api.get("cdr/", params={"page_size": 7}).json()["results"]) == 7
    sb.set_habits(fixed_page_size=10)
    first = api.get("cdr/", params={"page_size": 1000}).json()
    assert len(first["results"]) == 10 and "page=2" in first["next"]
    assert len(walk(api, "cdr/", page_size=1000)) == 600, "following next still reaches every row"
    sb.set_habits(fixed_page_size=None, default_page_size=25, max_page_size=50)
    assert len(api.get("cdr/").json()["results"]) == 25
    assert len(api.get("cdr/", params={"page_size": 500}).json()["results"]) == 50


def test_page_last_is_the_last_page_as_in_drf_unless_switched_off(sb, api):
    last = api.get("contact/", params={"page_size": 100, "page": "last"}).json()
    ids = [row["id"] for row in walk(api, "contact/", page_size=100)]
    assert last["next"] is None and [row["id"] for row in last["results"]] == ids[-(len(ids) % 100 or 100):]
    assert ids == sorted(ids), "lists other than CDRs are ordered by id"
    sb.set_habits(last_page_alias=False)
    assert api.get("contact/", params={"page": "last"}).status_code == 404


def test_write_habits(sb, api):
    pb = sb.rows("phonebooks")[0]["id"]
    existing = sb.rows("contacts")[0]["contact"]
    sb.set_habits(bulk_stop_at_duplicate=False)
    r = api.post("bulkcontact/", json={"phonebook": pb, "contacts": [
        {"contact": existing, "status": 1}, {"contact": "0911222333", "status": 1}]})
    assert r.status_code == 201 and r.json()["count"] == 2
    sb.set_habits(post_duplicates=False)
    dup = api.post("contact/", json={"phonebook": pb, "contact": existing, "status": 1})
    assert dup.status_code == 400 and "contact" in dup.json()
    assert api.post("contact/", json={"phonebook": pb, "contact": "0911222444", "status": 1}).status_code == 201
    dnc = sb.rows("dnc_contacts")[0]
    assert api.post("dnc-contact/", json={"phone_number": dnc["phone_number"], "dnc": dnc["dnc"]}).status_code == 400


def test_cascade_habit(sb, api):
    sb.set_habits(cascade_deletes=False)
    sub = next(s for s in sb.rows("subscribers") if s["count_attempt"] > 0)
    assert api.delete(f"contact/{sub['contact']}/").status_code == 204
    truth = sb.truth()
    assert sub["contact"] not in truth["contacts"]["ids"]
    assert sub["id"] in truth["subscribers"]["ids"], "without the cascade the subscriber stays, orphaned"


def test_rate_limit_answers_429_with_retry_after(sb, api):
    sb.set_habits(rate_limit_per_s=5, retry_after_s=2)
    statuses = [api.get("gateway/") for _ in range(20)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and limited[0].headers["Retry-After"] == "2"
    assert sum(r.status_code == 200 for r in statuses) >= 5
    sb.set_habits(rate_limit_per_s=None)
    assert all(api.get("gateway/").status_code == 200 for _ in range(20))


def test_error_rate_answers_502_and_503_and_applies_nothing(sb, api):
    sb.set_habits(error_rate=1.0)
    pb = sb.rows("phonebooks")[0]["id"]
    before = sb.truth()["contacts"]["count"]
    codes = {api.get("cdr/").status_code for _ in range(30)}
    assert codes == {502, 503}
    assert api.post("contact/", json={"phonebook": pb, "contact": "0911", "status": 1}).status_code in (502, 503)
    assert sb.truth()["contacts"]["count"] == before
    sb.set_habits(error_rate=0.3)
    mixed = [api.get("gateway/").status_code for _ in range(60)]
    assert 200 in mixed and (502 in mixed or 503 in mixed)
    sb.set_habits(error_rate=0.0)
    assert {api.get("gateway/").status_code for _ in range(10)} == {200}


def test_latency_habit(sb, api):
    # the server's own record of the delay it applied (a client's stopwatch flakes on a busy machine)
    sb.set_habits(latency_ms=300)
    sb.reset_stats()
    assert api.get("gateway/").status_code == 200
    assert api.get("cdr/", params={"page_size": 5}).status_code == 200
    stats = sb.stats()
    assert (stats["delayed"], stats["delay_ms"]) == (2, 600), "every /rest-api/ request is held, admin ones not"
    sb.set_habits(latency_ms=0)
    sb.reset_stats()
    assert api.get("gateway/").status_code == 200
    stats = sb.stats()
    assert stats["requests"] == {"GET /rest-api/gateway/": 1} and (stats["delayed"], stats["delay_ms"]) == (0, 0)


def test_late_cdrs_land_behind_the_newest_served(sb, api):
    before = sb.truth()["cdr"]["ids"]
    sb.set_habits(late_cdrs_per_page=4)
    first = api.get("cdr/", params={"page_size": 50}).json()
    newest = datetime.fromisoformat(first["results"][0]["starting_date"])
    late = [r for r in sb.rows("cdr") if r["id"] not in before]
    assert len(late) == 4
    for r in late:
        assert timedelta(minutes=5) <= newest - datetime.fromisoformat(r["starting_date"]) <= timedelta(minutes=60)
    sb.set_habits(late_cdrs_per_page=0)
    api.get("cdr/")
    assert sb.truth()["cdr"]["count"] == 604


def test_rows_inserted_while_walking_shift_pages(sb, api):
    before = sb.truth()["cdr"]["ids"]
    newest_before = max(datetime.fromisoformat(r["starting_date"]) for r in sb.rows("cdr"))
    sb.set_habits(live_inserts_per_page=5)
    sb.reset_stats()
    seen = walk(api, "cdr/", page_size=50)
    pages = sb.stats()["requests"]["GET /rest-api/cdr/"]
    ids = [r["id"] for r in seen]
    after = sb.truth()["cdr"]["ids"]
    inserted = after - before
    assert pages >= 12 and len(inserted) == 5 * pages, "each page served inserts live_inserts_per_page CDRs"
    dates = {r["id"]: datetime.fromisoformat(r["starting_date"]) for r in sb.rows("cdr") if r["id"] in inserted}
    old = {i for i, d in dates.items() if d < newest_before}
    assert 0 < len(old) < len(inserted), "some carry old dates, the others are newer than every CDR before"
    # newest first, an insert pushes the rows after it one place on: rows at a page's end are served again
    assert len(ids) > len(set(ids)), "rows pushed across a page boundary are served twice"
    assert before <= set(ids), "a push of 5 rows is less than a page: no row of the table before is skipped"
    missed = after - set(ids)
    assert missed and missed <= inserted, "rows inserted where the walk had already been are never served"
    sb.set_habits(live_inserts_per_page=0)
    assert {r["id"] for r in walk(api, "cdr/", page_size=1000)} == sb.truth()["cdr"]["ids"]


def test_habits_at_start_and_unknown_names(start_sandbox):
    sb = start_sandbox(seed=2, cdrs=100, habits=Habits(fixed_page_size=10, vn_offset=False))
    with login(sb) as api:
        page = api.get("cdr/", params={"page_size": 100}).json()
        assert len(page["results"]) == 10 and page["results"][0]["starting_date"].endswith("Z")
    with pytest.raises(httpx.HTTPStatusError):
        sb.set_habits(no_such_habit=True)


def test_held_cdr_pages_wait_for_the_release_and_counts_do_not(sb, api):
    sb.set_habits(hold_cdr_pages=True)
    answers: list[int] = []
    thread = threading.Thread(target=lambda: answers.append(api.get("cdr/", timeout=60).status_code), daemon=True)
    thread.start()
    assert sb.wait_for_held(1, timeout=20) == 1
    assert api.get("cdr/", params={"page_size": 1}).json()["count"] == 600, "a count is answered"
    assert thread.is_alive() and not answers, "the page waits"
    with pytest.raises(TimeoutError):
        sb.wait_for_held(2, timeout=0.2)
    sb.set_habits(hold_cdr_pages=False)
    thread.join(timeout=30)
    assert answers == [200]


@pytest.mark.parametrize("applies", [True, False])
def test_hung_write_is_never_answered_and_wait_for_writes(sb, api, applies):
    pb = sb.rows("phonebooks")[0]["id"]
    sb.set_habits(hang_writes_after=2, hang_applies_write=applies)
    for n in ("0912000001", "0912000002"):
        assert api.post("contact/", json={"phonebook": pb, "contact": n, "status": 1}).status_code == 201
    outcome: list[BaseException] = []

    def hung_post() -> None:
        try:
            api.post("contact/", json={"phonebook": pb, "contact": "0912000003", "status": 1}, timeout=60)
        except BaseException as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcome.append(exc)

    thread = threading.Thread(target=hung_post, daemon=True)
    thread.start()
    assert sb.wait_for_writes(3, timeout=20) == 3
    assert api.get("gateway/").status_code == 200, "a hung write blocks no other request"
    numbers = {c["contact"] for c in sb.rows("contacts")}
    assert ("0912000003" in numbers) is applies
    assert thread.is_alive() and not outcome, "the hung request has no answer"
    with pytest.raises(TimeoutError):
        sb.wait_for_writes(4, timeout=0.2)
