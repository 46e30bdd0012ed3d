"""A far-away, throttled service: many requests in flight, one request budget, one token renewal,
and every guarantee of the CDR read kept. Counted at the server, never timed."""

from __future__ import annotations

import threading

from support import assert_equals_truth, client_config, destination_keys, load_account

from antbot_source.destination.target import build_pipeline
from antbot_source.sandbox import Habits

REMOTE = Habits(latency_ms=40, fixed_page_size=100, throttle_requests=80, throttle_period_s=1.0)


def test_a_load_under_latency_throttle_inserts_late_rows_5xx_and_token_expiry_equals_truth(start_sandbox, tmp_path):
    sb = start_sandbox(seed=8, cdrs=4_000, habits=REMOTE.updated(
        throttle_requests=10, live_inserts_per_page=2, late_cdrs_per_page=1, error_rate=0.03, token_uses=60))
    before = sb.truth("demo")["cdr"]["ids"]
    pipeline = build_pipeline(duckdb_path=tmp_path / "remote.duckdb")
    load_account(sb, pipeline=pipeline, resources=["cdr", "contacts"], max_concurrency=8)
    held = destination_keys(pipeline, ("cdr",))["cdr"]
    assert held["count"] == len(held["ids"]), "no CDR doubled"
    assert before <= held["ids"], "no CDR that existed before the load was lost"
    stats = sb.stats()
    assert stats["max_in_flight"] >= 4, "requests were in flight side by side"
    assert stats["statuses"].get("502", 0) + stats["statuses"].get("503", 0) > 0, "5xx were served"
    assert stats["throttled"] > 0, "the throttle was reached"
    assert stats["requests"]["POST /rest-api/get-token/"] > 3, "tokens expired during the walk and were renewed"

    sb.set_habits(live_inserts_per_page=0, late_cdrs_per_page=0, error_rate=0.0)
    load_account(sb, pipeline=pipeline, resources=["cdr", "contacts"], lookback_hours=8_760)
    truth = sb.truth("demo")
    assert_equals_truth(pipeline, {"cdr": truth["cdr"], "contacts": truth["contacts"]})


def test_requests_in_flight_across_an_expired_token_renew_it_once(start_sandbox):
    sb = start_sandbox(seed=8, cdrs=200, habits=Habits(latency_ms=200))
    sb.freeze_clock()
    with client_config(sb).connect() as client:
        client.request("GET", "campaigns/")
        sb.skip_clock(200_000)  # every token issued so far expires
        sb.reset_stats()
        start = threading.Barrier(16)

        def one() -> None:
            start.wait()
            client.request("GET", "campaigns/")

        threads = [threading.Thread(target=one) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    stats = sb.stats()
    assert stats["requests"].get("POST /rest-api/get-token/") == 1, stats["requests"]
    assert stats["statuses"]["401"] >= 2, "several requests in flight met the expired token"


def test_under_the_throttle_429s_stay_rare(start_sandbox, tmp_path):
    sb = start_sandbox(seed=9, cdrs=30_000, habits=REMOTE)  # enough requests for a share: 8 go in flight at once
    pipeline = build_pipeline(duckdb_path=tmp_path / "throttled.duckdb")
    load_account(sb, pipeline=pipeline, resources=["cdr"], max_concurrency=8)
    stats = sb.stats()
    sent = sum(stats["requests"].values())
    assert stats["throttled"] > 0, "the load reached the throttle"
    assert stats["throttled"] <= 0.05 * sent, f"{stats['throttled']} of {sent} requests were refused"
    assert stats["requests"]["POST /rest-api/get-token/"] == 1, "the walkers start with the run's token"
    assert_equals_truth(pipeline, {"cdr": sb.truth("demo")["cdr"]})


def test_max_requests_per_second_caps_the_rate_at_the_server(start_sandbox, tmp_path):
    """With a cap below the throttle, the server never needs to refuse anything."""
    sb = start_sandbox(seed=9, cdrs=3_000, habits=REMOTE.updated(throttle_requests=30))
    pipeline = build_pipeline(duckdb_path=tmp_path / "capped.duckdb")
    load_account(sb, pipeline=pipeline, resources=["cdr"], max_concurrency=8, max_requests_per_second=15)
    assert sb.stats()["throttled"] == 0
    assert_equals_truth(pipeline, {"cdr": sb.truth("demo")["cdr"]})
