"""Contract tests of the sandbox's events and alarms (appointments): what they need, what they default to."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from support import login

EVENT = {"title": "today", "description": "", "start": "2030-02-15T09:30:39.177000Z",
         "end": "2030-02-15T10:13:39.177000Z"}


@pytest.fixture
def api(sandbox):
    with login(sandbox) as client:
        yield client


def calendar_and_user(sb) -> tuple[int, int]:
    cal = sb.rows("calendars")[0]
    return cal["id"], cal["user"]


def test_an_event_needs_its_calendar_and_a_creator_the_account_manages(api, sandbox):
    cal, user = calendar_and_user(sandbox)
    foreign = sandbox.rows("calendar_users", account="other")[0]["id"]
    answers = {
        "no creator": api.post("event/", json={**EVENT, "calendar": cal}),
        "no calendar": api.post("event/", json={**EVENT, "creator": user}),
        "another account's user": api.post("event/", json={**EVENT, "calendar": cal, "creator": foreign}),
        "no such calendar": api.post("event/", json={**EVENT, "calendar": 10**9, "creator": user}),
    }
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 400)
    assert answers["no creator"].json() == {"creator": ["This field is required."]}
    assert "does not exist" in answers["another account's user"].json()["creator"][0]
    ok = api.post("event/", json={**EVENT, "calendar": cal, "creator": user})
    assert ok.status_code == 201 and ok.json()["start"] == "2030-02-15T16:30:39.177000+07:00"


def test_an_alarm_needs_an_event_rings_now_by_default_and_a_replayed_post_books_twice(api, sandbox):
    cal, user = calendar_and_user(sandbox)
    event = api.post("event/", json={**EVENT, "calendar": cal, "creator": user}).json()["id"]
    assert api.post("alarm/", json={"alarm_phonenumber": "0934890883"}).json() == {"event": ["This field is required."]}
    assert api.post("alarm/", json={"alarm_phonenumber": "0934890883", "event": 10**9}).status_code == 400
    before = datetime.now().astimezone() - timedelta(seconds=5)
    body = {"alarm_phonenumber": "0934890883", "phonenumber_transfer": "", "event": event}
    first, second = api.post("alarm/", json=body), api.post("alarm/", json=body)
    assert first.status_code == second.status_code == 201 and first.json()["id"] != second.json()["id"]
    notice = datetime.fromisoformat(first.json()["date_start_notice"])
    assert before <= notice <= datetime.now().astimezone() + timedelta(seconds=5), "no date_start_notice: now"
    assert (first.json()["status"], first.json()["result"]) == (1, 0)  # pending, no result yet
    replay = api.post("event/", json={**EVENT, "calendar": cal, "creator": user})
    assert replay.json()["id"] != event, "nothing is unique: the same event twice is two events"


def test_put_changes_an_event_and_an_alarm(api, sandbox):
    cal, user = calendar_and_user(sandbox)
    event = api.post("event/", json={**EVENT, "calendar": cal, "creator": user}).json()
    alarm = api.post("alarm/", json={"alarm_phonenumber": "0934890883", "event": event["id"],
                                     "date_start_notice": "2030-02-14T09:30:00+07:00"}).json()
    moved = api.put(f"event/{event['id']}/", json={**EVENT, "title": "later", "end": "2030-02-15T11:00:00Z",
                                                   "calendar": cal, "creator": user})
    assert moved.status_code == 200 and (moved.json()["title"], moved.json()["end"]) == (
        "later", "2030-02-15T18:00:00.000000+07:00")
    notice = api.put(f"alarm/{alarm['id']}/", json={"alarm_phonenumber": "0934890883", "event": event["id"],
                                                    "date_start_notice": "2030-02-15T07:00:00+07:00"})
    assert notice.status_code == 200 and notice.json()["date_start_notice"] == "2030-02-15T07:00:00.000000+07:00"
    assert api.put("alarm/999999999/", json={"alarm_phonenumber": "1"}).status_code == 404
