"""The push ledger and the requests grow linearly with the batch, however often `bulkcontact/` stops."""

from __future__ import annotations

from collections import Counter

from support import connect, held_elsewhere, ledger_rows

from antbot_source.push import run_push
from antbot_source.push.validate import number_key

N = 300


def test_numbers_all_held_by_another_phonebook_cost_a_few_records_and_about_one_request_each(sandbox):
    client = connect(sandbox)
    opts = held_elsewhere(client, N)
    sandbox.reset_stats()
    result = run_push(client, opts)
    assert result.exit_code == 0 and result.counts["created"] == N
    held = Counter(number_key(r["contact"]) for r in sandbox.rows("contacts") if r["phonebook"] == opts.target)
    assert len(held) == N and set(held.values()) == {1}  # every number once in the second phonebook
    # every bulk call stopped at its first number: 300 of them wrote 29,847 records before
    assert ledger_rows(result.run_id) <= 3 * N
    requests = sandbox.stats()["requests"]
    writes = requests.get("POST /rest-api/bulkcontact/", 0) + requests.get("POST /rest-api/contact/", 0)
    assert N <= writes <= 1.2 * N, requests  # each number needs its own contact/ create, and little more
