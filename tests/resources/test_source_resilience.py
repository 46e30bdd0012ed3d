"""The real service's disruptions give the same tables as a clean run."""

from __future__ import annotations

from support import assert_equals_truth, load_account, snapshot

from antbot_source.destination.target import build_pipeline
from antbot_source.sandbox import Habits


def test_injected_429s_and_5xxs_give_the_same_tables_as_a_clean_run(sandbox, tmp_path):
    clean, _ = load_account(sandbox, tmp_path / "clean.duckdb")
    sandbox.set_habits(error_rate=0.15, rate_limit_per_s=200, retry_after_s=1)
    sandbox.reset_stats()
    rough, _ = load_account(sandbox, pipeline=build_pipeline(duckdb_path=tmp_path / "rough.duckdb",
                                                             pipeline_name="rough"))
    statuses = sandbox.stats()["statuses"]
    assert_equals_truth(rough, sandbox.truth("demo"))
    assert snapshot(rough) == snapshot(clean)
    assert any(str(code).startswith(("429", "50")) for code in statuses), statuses


def test_a_server_that_ignores_page_size(start_sandbox):
    sb = start_sandbox(seed=3, cdrs=1_000, habits=Habits(fixed_page_size=37))
    pipeline, _ = load_account(sb)
    truth = sb.truth("demo")
    assert_equals_truth(pipeline, truth)
    contact_pages = sb.stats()["requests"]["GET /rest-api/contact/"]
    assert contact_pages >= truth["contacts"]["count"] / 37


def test_a_token_expiring_mid_run(start_sandbox):
    # tokens good for 15 requests: every client (the shared one, each CDR walker) outlives several,
    # on a machine of any speed (a timed lifetime would expire only on a slow enough one)
    sb = start_sandbox(seed=4, cdrs=1_000, habits=Habits(token_uses=15, fixed_page_size=25))
    pipeline, _ = load_account(sb)
    assert_equals_truth(pipeline, sb.truth("demo"))
    stats = sb.stats()
    assert stats["statuses"].get("401", 0) >= 1, "a token expired while pages were walked"
    assert stats["requests"]["POST /rest-api/get-token/"] >= 3, "and was renewed"
