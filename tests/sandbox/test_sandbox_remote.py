"""The sandbox behaves like a far-away service: latency that many requests wait out at once, DRF's per-user
throttle, capped page sizes. Everything is measured at the server (its stats and its clock), never with a
stopwatch."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support import login

from antbot_source.sandbox import Habits, SandboxHandle


@contextmanager
def clients_of(sb: SandboxHandle, n: int) -> Iterator[list[httpx.Client]]:
    """n clients logged in to the main account, each with its own open connection."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(login(sb, timeout=60)) for _ in range(n)]


def codes(client: httpx.Client, n: int, path: str = "gateway/") -> list[int]:
    """The statuses of n GETs one after the other."""
    return [client.get(path).status_code for _ in range(n)]


# ---- latency ----

def test_many_requests_wait_out_the_latency_at_once(start_sandbox):
    """16 GETs sent together are all held by the server at the same moment: each waits on its own."""
    n, latency_ms = 16, 1_000  # the window the 16 requests must land in, so generous for a busy machine
    sb = start_sandbox(seed=3, cdrs=200)
    with clients_of(sb, n) as clients:  # logged in, connections open: sending a GET is all that is left
        sb.set_habits(latency_ms=latency_ms)
        sb.reset_stats()
        start = threading.Barrier(n)

        def one(client: httpx.Client) -> int:
            start.wait()
            return client.get("gateway/").status_code

        with ThreadPoolExecutor(n) as pool:
            statuses = list(pool.map(one, clients))
    stats = sb.stats()
    assert statuses == [200] * n
    assert stats["max_in_flight"] >= n, "a latency that blocked the loop or queued the requests would show 1"
    assert (stats["delayed"], stats["delay_ms"]) == (n, n * latency_ms)
    assert stats["in_flight"] == 0


# ---- the per-user throttle (DRF's UserRateThrottle) ----

@pytest.fixture
def throttled(start_sandbox) -> SandboxHandle:
    """A sandbox whose users may make 5 requests a minute, on a stopped clock: only skip_clock moves it."""
    sb = start_sandbox(seed=3, cdrs=200, habits=Habits(throttle_requests=5, throttle_period_s=60))
    sb.freeze_clock()
    return sb


def test_throttle_refuses_the_request_past_n_with_retry_after(throttled):
    sb = throttled
    with login(sb, timeout=60) as api:
        sb.reset_stats()
        assert codes(api, 5) == [200] * 5
        refused = api.get("cdr/")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "60", "the oldest request leaves the window in 60 s"
        assert refused.json() == {"detail": "Request was throttled. Expected available in 60 seconds."}
        sb.skip_clock(20.25)
        later = api.get("gateway/")
        assert later.status_code == 429 and later.headers["Retry-After"] == "40", "39.75 s, in whole seconds up"
        sb.skip_clock(39.25)
        almost = api.get("gateway/")
        assert almost.status_code == 429 and almost.headers["Retry-After"] == "1", "0.5 s rounds up to 1"
        assert almost.json()["detail"].endswith("in 1 second.")
        sb.skip_clock(0.5)
        assert codes(api, 6) == [200] * 5 + [429], "the window has passed: N more, then refused again"
    stats = sb.stats()
    assert stats["throttled"] == stats["statuses"]["429"] == 4
    assert stats["by_user"]["demo"] == {"requests": 14, "throttled": 4}


def test_throttle_window_slides_and_refusals_do_not_count(throttled):
    sb = throttled
    with login(sb, timeout=60) as api:
        assert codes(api, 3) == [200] * 3  # t = 0
        sb.skip_clock(10)
        assert codes(api, 2) == [200] * 2  # t = 10: the window is full
        sb.skip_clock(20)
        refused = [api.get("gateway/") for _ in range(4)]  # t = 30: refused, and not recorded
        assert [r.status_code for r in refused] == [429] * 4
        assert {r.headers["Retry-After"] for r in refused} == {"30"}
        sb.skip_clock(30)
        # t = 60: the three of t = 0 have left (a fixed window would free all five, counting refusals none)
        assert codes(api, 4) == [200] * 3 + [429]
        last = api.get("gateway/")
        assert last.headers["Retry-After"] == "10", "the next to leave is one of t = 10, at t = 70"
        sb.skip_clock(10)
        assert codes(api, 3) == [200] * 2 + [429]


def test_throttle_is_per_user_and_logins_count_for_the_address(start_sandbox):
    sb = start_sandbox(seed=3, cdrs=200, habits=Habits(throttle_requests=3, throttle_period_s=3600))
    sb.freeze_clock()
    sb.reset_stats()
    with login(sb, 0, timeout=60) as demo, login(sb, 1, timeout=60) as other:  # two logins from 127.0.0.1
        assert codes(demo, 4) == [200] * 3 + [429], "the login was not the account's request"
        assert codes(other, 4) == [200] * 3 + [429], "another account has a budget of its own"
        credentials = {"username": "demo", "password": "demo-pass"}
        assert demo.post("get-token/", json=credentials).status_code == 200
        wrong = demo.post("get-token/", json={"username": "demo", "password": "wrong"})
        assert wrong.status_code == 429, "a login is anonymous: it counts for the address, the 4th is refused"
        assert wrong.headers["Retry-After"] == "3600"
        with httpx.Client(base_url=sb.base_url + "/") as anonymous:
            unauthenticated = anonymous.get("gateway/")
            assert unauthenticated.status_code == 401, "authentication comes before the throttle"
    stats = sb.stats()
    assert stats["throttled"] == 3
    assert stats["by_user"] == {"demo": {"requests": 4, "throttled": 1}, "other": {"requests": 4, "throttled": 1},
                                "address:127.0.0.1": {"requests": 5, "throttled": 1}}


def test_throttle_off_and_changed_at_run_time(throttled):
    sb = throttled
    with login(sb, timeout=60) as api:
        assert codes(api, 3) == [200] * 3  # t = 0
        sb.skip_clock(10)
        assert codes(api, 3) == [200] * 2 + [429]  # t = 10
        sb.set_habits(throttle_requests=None)
        assert codes(api, 10) == [200] * 10, "off: nothing is refused"
        sb.skip_clock(10)
        sb.set_habits(throttle_requests=2)  # t = 20: five let through in the window, two allowed
        refused = api.get("gateway/")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "50", "a slot frees when only one is left: at t = 70, not 60"


def test_tokens_age_on_the_server_clock(start_sandbox):
    sb = start_sandbox(seed=3, cdrs=200, token_ttl=600)
    with login(sb, timeout=60) as api:
        sb.skip_clock(599)
        assert api.get("gateway/").status_code == 200
        sb.skip_clock(1)
        r = api.get("gateway/")
        assert r.status_code == 401 and r.json()["code"] == "token_not_valid"


# ---- page sizes capped as a real service caps them ----

def test_page_size_above_the_cap_is_cut_down_and_next_keeps_it(start_sandbox):
    sb = start_sandbox(seed=3, cdrs=600, habits=Habits(default_page_size=25, max_page_size=50))
    with login(sb, timeout=60) as api:
        assert len(api.get("cdr/").json()["results"]) == 25, "no page_size: the default"
        for raw in ("0", "-3", "abc"):
            assert len(api.get("cdr/", params={"page_size": raw}).json()["results"]) == 25, raw
        assert len(api.get("cdr/", params={"page_size": 40}).json()["results"]) == 40, "below the cap: as asked"

        sb.reset_stats()
        first = api.get("cdr/", params={"page_size": 500}).json()
        assert first["count"] == 600 and len(first["results"]) == 50, "above the cap: cut down, silently"
        # DRF's links carry the page_size as sent; the pages they lead to are capped again
        link = parse_qs(urlsplit(first["next"]).query)
        assert link == {"page_size": ["500"], "page": ["2"]}
        rows, url, sizes = list(first["results"]), first["next"], [len(first["results"])]
        while url:
            body = api.get(url).json()
            rows += body["results"]
            sizes.append(len(body["results"]))
            url = body["next"]
        assert sizes == [50] * 12, "every page through next keeps the capped size"
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)) == 600 and set(ids) == sb.truth()["cdr"]["ids"]
        assert sb.stats()["requests"]["GET /rest-api/cdr/"] == 12
        last = api.get("cdr/", params={"page_size": 500, "page": "last"}).json()
        assert last["next"] is None and [r["id"] for r in last["results"]] == ids[-50:]
        assert api.get("cdr/", params={"page_size": 500, "page": 13}).status_code == 404

        sb.set_habits(fixed_page_size=10)
        for asked in (None, 5, 40, 500):
            page = api.get("cdr/", params={} if asked is None else {"page_size": asked}).json()
            assert len(page["results"]) == 10, asked


# ---- the command line ----

def test_cli_serve_accepts_the_remote_habits():
    habits = {"throttle_requests": 2, "throttle_period_s": 3600, "latency_ms": 20, "max_page_size": 5}
    cmd = [sys.executable, "-m", "pipelines.cli", "sandbox", "serve", "--port", "0", "--cdrs", "50", "--seed", "4",
           "--habits", json.dumps(habits)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            root = re.search(r"(http://\S+)/rest-api", proc.stdout.readline()).group(1)
            with httpx.Client(base_url=root + "/rest-api/", timeout=30) as c:
                token = c.post("get-token/", json={"username": "demo", "password": "demo-pass"}).json()["access"]
                c.headers["Authorization"] = f"Bearer {token}"
                pages = [c.get("cdr/", params={"page_size": 100}) for _ in range(3)]
            assert [r.status_code for r in pages] == [200, 200, 429]
            assert len(pages[0].json()["results"]) == 5
            # a running clock: the wait is what is left of the hour, in whole seconds
            assert 1 <= int(pages[2].headers["Retry-After"]) <= 3600
        finally:
            proc.terminate()
