"""Each account sees only its own rows."""

from __future__ import annotations

from support import assert_equals_truth, destination_keys, load_account


def test_another_accounts_rows_never_appear(sandbox):
    pipeline, _ = load_account(sandbox)
    mine, other = sandbox.truth("demo"), sandbox.truth("other")
    assert_equals_truth(pipeline, mine)
    held = destination_keys(pipeline, tuple(mine))
    for table, theirs in other.items():
        assert theirs["count"] > 0, f"the other account has {table} rows to leak"
        assert not held[table]["ids"] & set(theirs["ids"]), table
