"""What a scheduled run costs, in requests counted at the server, per account size (issue 13).

For each account (1,500, 12,000 and 100,000 contacts: 3,750, 30,000 and 250,000 CDRs) the sandbox
is loaded once at its default page size, then serves pages of 25 rows and ignores `page_size`, and
these runs follow, each checked against the sandbox's truth (every table's ids, subscribers'
statuses):
- nothing new;
- a churn: 300 new CDRs (50 campaign calls, 250 OTP calls, whatever the hour), 100 subscriber moves
  without a call, 20 new contacts, 10 edits, 5 deleted contacts; everything but the edits must be exact;
- nothing new again (the look-back now holds the churn's CDRs);
- a reconcile (`--reconcile`): every table read in full, what every run cost before change detection.

    .venv/bin/python benchmarks/bench_runs.py [--sizes 3750,30000,250000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from support import assert_equals_truth

from antbot_source.destination.target import build_pipeline
from antbot_source.pipeline import run_load
from antbot_source.sandbox import run_sandbox

CHURN = {"otp_cdrs": 250, "campaign_calls": 50, "subscriber_changes": 100, "new_contacts": 20,
         "edited_contacts": 10, "deleted_contacts": 5}
PAGE_ROWS = 25


def exact(sb, pipeline) -> str:
    """'yes', or what differs from the sandbox's truth."""
    try:
        assert_equals_truth(pipeline, sb.truth())
    except AssertionError as exc:
        return f"no: {str(exc).splitlines()[0][:60]}"
    with pipeline.sql_client() as client:
        held = dict(client.execute_sql("SELECT id, status FROM subscribers"))
    moved = sum(1 for row in sb.rows("subscribers") if held.get(row["id"]) != row["status"])
    return "yes" if not moved else f"no: {moved} subscriber statuses"


def measure(cdrs: int) -> list[tuple[str, int, int, float, str]]:
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(seed=7, cdrs=cdrs) as sb:
        os.environ["DLT_DATA_DIR"] = tmp
        acc = sb.accounts[0]
        pipeline = build_pipeline(duckdb_path=Path(tmp) / "runs.duckdb")
        args = {"base_url": sb.base_url, "username": acc.username, "password": acc.password}
        run_load(pipeline, **args)
        contacts = sb.truth()["contacts"]["count"]
        sb.set_habits(fixed_page_size=PAGE_ROWS)
        out = []
        for label, changes, extra in [("nothing new", None, {}), ("churn", CHURN, {}),
                                      ("nothing new again", None, {}), ("reconcile", None, {"reconcile": True})]:
            note = ""
            if changes:
                moved = sb.advance(**changes)["changed_subscriber_ids"]
                note = f" ({len(moved)} subscribers changed)"
            sb.reset_stats()
            started = time.perf_counter()
            run_load(pipeline, **args, **extra)
            seconds = time.perf_counter() - started
            requests = sb.stats()["requests"]
            gets = sum(n for key, n in requests.items() if key.startswith("GET "))
            tokens = sum(n for key, n in requests.items() if "get-token" in key)
            out.append((f"{contacts:,} contacts: {label}{note}", gets, tokens, seconds, exact(sb, pipeline)))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3750,30000,250000", help="CDRs per account (contacts are 40 %%)")
    sizes = [int(n) for n in parser.parse_args().sizes.split(",")]
    print(f"pages of {PAGE_ROWS} rows, page_size ignored; requests counted at the server\n")
    print("| run | GET requests | token POSTs | seconds | exact |")
    print("|---|---:|---:|---:|---|")
    for cdrs in sizes:
        for label, gets, tokens, seconds, ok in measure(cdrs):
            print(f"| {label} | {gets:,} | {tokens} | {seconds:.1f} | {ok} |", flush=True)


if __name__ == "__main__":
    main()
