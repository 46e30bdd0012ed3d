"""Requests a push of 10,000 contacts costs, and what an unchanged rerun costs (figures printed with -s)."""

from __future__ import annotations

from collections import Counter

import pytest
from support import DB, connect, fresh_numbers, new_phonebook, write_table

from antbot_source.push import PushOptions, run_push


def by_kind(stats: dict) -> Counter[str]:
    reqs = stats["requests"]
    return Counter({"reads": sum(v for k, v in reqs.items() if k.startswith("GET")),
                    "writes": sum(v for k, v in reqs.items() if not k.startswith("GET") and "get-token" not in k)})


@pytest.mark.slow
def test_ten_thousand_contacts_take_twenty_bulk_calls_and_a_rerun_takes_none(sandbox):
    client = connect(sandbox)
    book = new_phonebook(client, "push-volume")
    write_table("call_list", [{"contact": n, "first_name": "V"} for n in fresh_numbers(10_000)])
    opts = PushOptions("contacts", table="call_list", duckdb_path=DB, target=book, batch_size=500)
    sandbox.reset_stats()
    first = run_push(client, opts)
    pushed = by_kind(sandbox.stats())
    sandbox.reset_stats()
    again = run_push(client, opts)
    rerun = by_kind(sandbox.stats())
    print(f"\n10,000 contacts, batch 500: {pushed['writes']} write + {pushed['reads']} read requests; "
          f"unchanged rerun: {rerun['writes']} write + {rerun['reads']} read requests")
    assert first.counts["created"] == 10_000 and pushed["writes"] == 20
    assert again.counts["present"] == 10_000 and rerun["writes"] == 0
