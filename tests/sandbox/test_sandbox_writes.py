"""Contract tests of the sandbox's write side and of time passing: the effects every write has."""

from __future__ import annotations

from datetime import datetime

import pytest
from support import login


@pytest.fixture
def api(sandbox):
    with login(sandbox) as client:
        yield client


def started_phonebook(sb) -> tuple[int, list[int]]:
    """A phonebook used by started campaigns, and those campaigns' ids."""
    for camp in sb.rows("campaigns"):
        if camp["status"] == 1 and camp["phonebook"]:
            pb = camp["phonebook"][0]
            return pb, [c["id"] for c in sb.rows("campaigns") if c["status"] == 1 and pb in c["phonebook"]]
    raise AssertionError("no started campaign")


def test_post_contact_creates_duplicates_and_enrols_in_started_campaigns(api, sandbox):
    pb, campaigns = started_phonebook(sandbox)
    before = sandbox.truth()
    body = {"phonebook": pb, "contact": "0934890883", "status": 1, "first_name": "Linh",
            "additional_vars": {"params_1": "123456"}}
    first, second = api.post("contact/", json=body), api.post("contact/", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"], "the same POST twice makes two contacts"
    assert first.json()["additional_vars"] == '{"params_1":"123456"}'
    assert first.json()["created_date"].endswith("+07:00")
    after = sandbox.truth()
    assert after["contacts"]["ids"] - before["contacts"]["ids"] == {first.json()["id"], second.json()["id"]}
    subs = [s for s in sandbox.rows("subscribers") if s["contact"] == first.json()["id"]]
    assert sorted(s["campaign"] for s in subs) == sorted(campaigns)
    assert all(s["status"] == 1 and s["count_attempt"] == 0 for s in subs)
    inactive = api.post("contact/", json={**body, "contact": "0934890884", "status": 0}).json()
    assert not [s for s in sandbox.rows("subscribers") if s["contact"] == inactive["id"]]


def test_post_contact_validates(api, sandbox):
    r = api.post("contact/", json={"contact": "0934890883"})
    assert r.status_code == 400 and set(r.json()) == {"phonebook", "status"}
    foreign_pb = min(sandbox.truth("other")["phonebooks"]["ids"])
    assert api.post("contact/", json={"phonebook": foreign_pb, "contact": "09", "status": 1}).status_code == 400
    assert api.post("cdr/", json={}).status_code == 405


def test_bulkcontact_stops_at_the_first_duplicate(api, sandbox):
    pb = sandbox.rows("phonebooks")[-1]["id"]
    existing = sandbox.rows("contacts")[5]["contact"]  # in another phonebook: still a duplicate
    before = sandbox.truth()["contacts"]["ids"]
    numbers = ["0911000001", "0911000002", existing, "0911000003"]
    r = api.post("bulkcontact/", json={"phonebook": pb, "contacts": [
        {"contact": n, "first_name": "A", "status": 1} for n in numbers]})
    assert r.status_code == 200 and r.json() == {"error": f"The contact duplicated ({existing})!"}
    created = [c for c in sandbox.rows("contacts") if c["id"] not in before]
    assert sorted(c["contact"] for c in created) == ["0911000001", "0911000002"]
    ok = api.post("bulkcontact/", json={"phonebook": pb, "contacts": [{"contact": "0911000009", "status": 1}]})
    assert ok.status_code == 201 and ok.json()["count"] == 1
    again = api.post("bulkcontact/", json={"phonebook": pb, "contacts": [{"contact": "0911000009", "status": 1}]})
    assert again.json() == {"error": "The contact duplicated (0911000009)!"}


def test_dnc_phonebook_and_list_posts(api, sandbox):
    dnc = api.post("dnc-list/", json={"name": "name dnc", "description": "test"})
    assert dnc.status_code == 201
    number = api.post("dnc-contact/", json={"phone_number": "0324324343", "dnc": str(dnc.json()["id"])})
    assert number.status_code == 201 and number.json()["dnc"] == dnc.json()["id"]
    twice = api.post("dnc-contact/", json={"phone_number": "0324324343", "dnc": dnc.json()["id"]})
    assert twice.status_code == 201 and twice.json()["id"] != number.json()["id"]
    pb = api.post("phonebook/", json={"name": "Phonebook Name"})
    assert pb.status_code == 201 and pb.json()["description"] == ""
    truth = sandbox.truth()
    assert dnc.json()["id"] in truth["dnc_lists"]["ids"] and pb.json()["id"] in truth["phonebooks"]["ids"]
    assert {number.json()["id"], twice.json()["id"]} <= truth["dnc_contacts"]["ids"]
    renamed = api.put(f"phonebook/{pb.json()['id']}/", json={"name": "Changed Name", "description": "x"})
    assert renamed.json()["name"] == "Changed Name"


def test_put_contact_changes_fields_and_updated_date(api, sandbox):
    contact = sandbox.rows("contacts")[0]
    r = api.put(f"contact/{contact['id']}/", json={"contact": "0934890884", "status": 1, "country": "VN",
                                                   "first_name": "A", "last_name": "B"})
    assert r.status_code == 200
    row = api.get(f"contact/{contact['id']}/").json()
    assert (row["contact"], row["first_name"], row["last_name"]) == ("0934890884", "A", "B")
    assert datetime.fromisoformat(row["updated_date"]) > datetime.fromisoformat(contact["updated_date"])
    assert row["created_date"] == contact["created_date"]
    assert api.put("contact/999999999/", json={"first_name": "A"}).status_code == 404


def test_delete_contact_cascades_to_subscribers_and_cdrs(api, sandbox):
    subs = sandbox.rows("subscribers")
    called = next(s for s in subs if s["count_attempt"] > 0)
    cdrs = {c["id"] for c in sandbox.rows("cdr") if c["subscriber"] == called["id"]}
    assert cdrs
    assert api.delete(f"contact/{called['contact']}/").status_code == 204
    truth = sandbox.truth()
    assert called["contact"] not in truth["contacts"]["ids"]
    assert called["id"] not in truth["subscribers"]["ids"]
    assert not cdrs & truth["cdr"]["ids"]
    assert api.get(f"contact/{called['contact']}/").status_code == 404
    assert api.delete(f"contact/{called['contact']}/").status_code == 404


def test_delete_phonebook_and_campaign(api, sandbox):
    pb, _ = started_phonebook(sandbox)
    in_pb = {c["id"] for c in sandbox.rows("contacts") if c["phonebook"] == pb}
    assert api.delete(f"phonebook/{pb}/").status_code == 204
    truth = sandbox.truth()
    assert not in_pb & truth["contacts"]["ids"]
    assert all(pb not in c["phonebook"] for c in sandbox.rows("campaigns"))
    camp = sandbox.rows("campaigns")[0]["id"]
    assert api.delete(f"campaigns/{camp}/").status_code == 204
    assert not [c for c in sandbox.rows("cdr") if c["campaign"] == camp]
    assert not [s for s in sandbox.rows("surveys") if s["campaign"] == camp]


def test_campaign_status_actions_use_their_own_scale(api, sandbox):
    camp = sandbox.rows("campaigns")[0]["id"]
    for action, status in ((2, 3), (1, 1), (3, 4), (4, 4)):
        assert api.post(f"campaigns/{camp}/status/", json={"status": action}).status_code == 200
        assert api.get(f"campaigns/{camp}/").json()["status"] == status
    assert api.post(f"campaigns/{camp}/status/", json={"status": 9}).status_code == 400


def test_other_documented_posts(api, sandbox):
    tpl = api.post("survey-template/", json={"name": "Survey Name", "tts_language": "vi", "description": "x"})
    assert tpl.status_code == 201 and tpl.json()["is_onboarding"] is False
    sec = api.post("section-template/", json={"type": 1, "survey": tpl.json()["id"], "question": "Q",
                                              "script": "IVR Content"})
    assert sec.status_code == 201
    assert api.put(f"section-template/{sec.json()['id']}/", json={"script": "Please wait a moment."}).json()[
        "script"] == "Please wait a moment."
    gw, pb = sandbox.rows("gateways")[0]["id"], sandbox.rows("phonebooks")[0]["id"]
    camp = api.post("campaigns/", json={
        "name": "rest-api-cp-2", "callerid": "lh", "phonebook": [pb], "aleg_gateway": gw,
        "object_id": tpl.json()["id"], "frequency": 10, "startingdate": "2020-02-11T02:36:39.045000Z",
        "expirationdate": "2020-02-12T02:36:39.045000Z", "daily_start_time": "08:00:00",
        "daily_stop_time": "21:00:00"})
    assert camp.status_code == 201, camp.text
    assert camp.json()["phonebook"] == [pb] and camp.json()["startingdate"] == "2020-02-11T09:36:39.045000+07:00"
    setting = api.post("calendar-setting/", json={"label": "l", "call_timeout": 60, "survey": tpl.json()["id"],
                                                  "aleg_gateway": gw})
    user = api.post("calendar-user/", json={"username": "cal-rest", "password": "12345678",
                                            "calendar_setting": setting.json()["id"]})
    assert user.status_code == 201 and "password" not in user.json()
    cal = api.post("calendar/", json={"name": "c", "user": user.json()["id"]})
    event = api.post("event/", json={"title": "t", "start": "2020-02-15T09:30:39.177000Z",
                                     "end": "2020-02-15T10:13:39.177000Z", "creator": user.json()["id"],
                                     "calendar": cal.json()["id"]})
    alarm = api.post("alarm/", json={"alarm_phonenumber": "0934890883", "event": event.json()["id"]})
    assert [r.status_code for r in (setting, cal, event, alarm)] == [201] * 4
    assert alarm.json()["date_start_notice"] is None or alarm.json()["date_start_notice"].endswith("+07:00")


def test_advance_adds_new_and_late_cdrs_and_changes_contacts(api, sandbox):
    newest_served = api.get("cdr/").json()["results"][0]
    before = sandbox.truth()
    changed = sandbox.advance(new_cdrs=30, late_cdrs=8, subscriber_changes=10, new_contacts=4,
                              edited_contacts=5, deleted_contacts=3)
    after = sandbox.truth()
    assert after["cdr"]["ids"] - before["cdr"]["ids"] == set(changed["new_cdr_ids"]) | set(changed["late_cdr_ids"])
    assert len(changed["new_cdr_ids"]) == 30 and len(changed["late_cdr_ids"]) == 8
    rows = {r["id"]: r for r in sandbox.rows("cdr")}
    newest = datetime.fromisoformat(newest_served["starting_date"])
    for cid in changed["new_cdr_ids"]:
        assert datetime.fromisoformat(rows[cid]["starting_date"]) > newest
    for cid in changed["late_cdr_ids"]:
        behind = newest - datetime.fromisoformat(rows[cid]["starting_date"])
        assert 5 * 60 <= behind.total_seconds() <= 60 * 60, "late rows land 5-60 min behind the newest served"
    assert len(changed["changed_subscriber_ids"]) >= 10
    assert set(changed["new_contact_ids"]) == after["contacts"]["ids"] - before["contacts"]["ids"]
    assert len(changed["deleted_contact_ids"]) == 3
    assert not set(changed["deleted_contact_ids"]) & after["contacts"]["ids"]
    assert before["cdr"]["ids"] <= after["cdr"]["ids"], "time passing deletes no CDR"
    edited = {c["id"]: c for c in sandbox.rows("contacts")}
    assert all("(sửa)" in edited[i]["first_name"] for i in changed["edited_contact_ids"])
    subs = {s["id"]: s for s in sandbox.rows("subscribers")}
    for cid in changed["new_cdr_ids"] + changed["late_cdr_ids"]:
        if rows[cid]["subscriber"] is not None:
            assert subs[rows[cid]["subscriber"]]["count_attempt"] >= 1


def _new_campaign_body(sb, api, name: str) -> dict:
    """The API page's required fields for a campaign on a new phonebook (2 active contacts, 1 inactive)."""
    pb = api.post("phonebook/", json={"name": f"book of {name}"}).json()["id"]
    for number, status in (("0399100001", 1), ("0399100002", 1), ("0399100003", 0)):
        assert api.post("contact/", json={"phonebook": pb, "contact": number, "status": status}).status_code == 201
    return {"name": name, "phonebook": [pb], "aleg_gateway": sb.rows("gateways")[0]["id"],
            "object_id": sb.rows("survey_templates")[0]["id"], "frequency": 10,
            "startingdate": "2030-01-06T08:00:00+07:00", "expirationdate": "2030-02-06T08:00:00+07:00",
            "daily_start_time": "08:00:00", "daily_stop_time": "17:00:00"}


def test_campaign_create_update_and_a_first_start_that_enrols_and_copies_the_survey(api, sandbox):
    body = _new_campaign_body(sandbox, api, "contract")
    for required in body:
        missing = api.post("campaigns/", json={k: v for k, v in body.items() if k != required})
        assert missing.status_code == 400 and required in missing.json(), required
    camp = api.post("campaigns/", json=body).json()
    assert camp["status"] == 2 and camp["totalcontact"] == 0  # created unstarted, nobody enrolled
    changed = api.put(f"campaigns/{camp['id']}/", json={"frequency": 3, "daily_stop_time": "16:00:00"}).json()
    assert (changed["frequency"], changed["daily_stop_time"], changed["name"]) == (3, "16:00:00", "contract")
    assert api.post(f"campaigns/{camp['id']}/status/", json={"status": 1}).json()["status"] == 1
    subs = [s for s in sandbox.rows("subscribers") if s["campaign"] == camp["id"]]
    assert sorted(s["duplicate_contact"] for s in subs) == ["0399100001", "0399100002"]  # active contacts only
    assert {s["status"] for s in subs} == {1}
    started = api.get(f"campaigns/{camp['id']}/").json()
    copy = [s for s in sandbox.rows("surveys") if s["campaign"] == camp["id"]]
    assert len(copy) == 1 and started["object_id"] == copy[0]["id"] != body["object_id"]
    # a pause and a second start enrol nobody twice and copy the survey once
    api.post(f"campaigns/{camp['id']}/status/", json={"status": 2})
    assert api.get(f"campaigns/{camp['id']}/").json()["status"] == 3
    api.post(f"campaigns/{camp['id']}/status/", json={"status": 1})
    assert len([s for s in sandbox.rows("subscribers") if s["campaign"] == camp["id"]]) == 2
    assert len([s for s in sandbox.rows("surveys") if s["campaign"] == camp["id"]]) == 1


@pytest.mark.parametrize("unique", [False, True])
def test_a_second_campaign_of_the_same_name_per_habit(api, sandbox, unique):
    sandbox.set_habits(campaign_names_unique=unique)
    body = _new_campaign_body(sandbox, api, f"twice {unique}")
    assert api.post("campaigns/", json=body).status_code == 201
    second = api.post("campaigns/", json=body)
    if unique:
        assert second.status_code == 400 and "name" in second.json()
    else:
        assert second.status_code == 201  # names are not unique upstream: a duplicate
    assert len([c for c in sandbox.rows("campaigns") if c["name"] == body["name"]]) == (1 if unique else 2)
