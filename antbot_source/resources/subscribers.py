"""Subscribers, read campaign by campaign through the `campaign` filter of `subscriber-list/`.

`subscriber-list/` has no date filter and subscribers change status without always bumping
`updated_date`, so a subscriber's current state is only known by reading it again. Each run reads
every campaign except those that were already closed (status 4 ended or 5 completed) at the
previous complete load and are still closed: a closed campaign dials no one, so its subscribers
no longer change. The set of closed campaigns is kept in resource state and recorded only after
a complete read. Deletes still reach closed campaigns (deleting a contact deletes its subscribers):
each skipped campaign costs one request for its `count`, and is read again when that count differs
from the rows the destination holds for it. Subscribers of the campaigns read, and of campaigns that no longer exist, that
the API no longer returns are deleted from the destination (tombstones, see `deletes`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from antbot_source.api.client import AntBotClient, SharedClient
from antbot_source.health.tally import table_tally
from antbot_source.resources.deletes import destination_rows, tombstones
from antbot_source.resources.side_by_side import side_by_side
from antbot_source.rows.arrow import arrow_pages
from antbot_source.rows.normalise import normalise_row
from antbot_source.rows.schema import columns, json_fields, timestamp_fields
from antbot_source.settings import CLOSED_CAMPAIGN_STATUSES, Endpoint, endpoint

STATE_KEY = "closed_campaigns"
BUFFERED_PAGES = 8  # pages read ahead of dlt at most: a campaign is never held whole


def _campaign_pages(client: AntBotClient, ep: Endpoint, campaign: int) -> Iterator[list[dict[str, Any]]]:
    """The subscribers of one campaign, page by page (rows of other campaigns dropped: a filter the
    server ignored would otherwise return everyone)."""
    stamps, jsons = timestamp_fields(ep.type_key), json_fields(ep.type_key)
    for page in client.iter_pages(ep.path, {**ep.params, "campaign": campaign}):
        rows = [normalise_row(raw, timestamps=stamps, json_fields=jsons) for raw in page]
        yield [row for row in rows if row.get("campaign") == campaign]


def _count(client: AntBotClient, ep: Endpoint, campaign: int) -> int | None:
    """The server's subscriber count of one campaign (one row requested); None for a bare-list answer."""
    body = client.request("GET", ep.path, params={**ep.params, "campaign": campaign, "page_size": 1})
    return body.get("count") if isinstance(body, dict) else None


def subscribers_resource(shared: SharedClient, ep: Endpoint | None = None, readers: int = 4) -> DltResource:
    """The `subscribers` resource: merge on `id`, per-campaign reads (`readers` campaigns side by side,
    each walk following its own `next` links in order), closed campaigns skipped."""
    ep = ep or endpoint("subscribers")

    @dlt.resource(
        name=ep.table,
        primary_key=ep.primary_key,
        write_disposition=ep.write_disposition,
        columns=columns(ep.type_key, tombstones=True),
        parallelized=True,
    )
    def subscribers() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        closed_before = set(state.get(STATE_KEY, []))
        held = destination_rows(ep.table, ("id", "campaign")) or []
        with shared.use(table_tally(ep.table).stats) as client, ThreadPoolExecutor(readers, "antbot-subscribers") as pool:
            campaigns = {
                row["id"]: row.get("status")
                for page in client.iter_pages(endpoint("campaigns").path)
                for row in map(normalise_row, page)
            }
            closed_now = {cid for cid, status in campaigns.items() if status in CLOSED_CAMPAIGN_STATUSES}
            held_per_campaign = Counter(cid for _, cid in held)
            skipped = sorted(closed_before & closed_now)
            counts = pool.map(lambda cid: _count(client, ep, cid), skipped)
            # a closed campaign whose count moved (a contact deleted with its subscribers) is read again
            unchanged = {cid for cid, n in zip(skipped, counts, strict=True) if n == held_per_campaign[cid]}
            to_read = sorted(set(campaigns) - unchanged)
            seen: set[int] = set()
            walks = [partial(_campaign_pages, client, ep, cid) for cid in to_read]
            for rows in side_by_side(walks, readers, BUFFERED_PAGES):
                fresh = [row for row in rows if row["id"] not in seen]  # rows shifting between pages come twice
                client.stats.add("rows_seen_twice", len(rows) - len(fresh))
                seen.update(row["id"] for row in fresh)
                if fresh:
                    yield fresh
        read = set(to_read)
        gone = tombstones(held, seen, in_scope=lambda cid: cid in read or cid not in campaigns)
        if gone:
            yield gone
        state[STATE_KEY] = sorted(closed_now)

    return subscribers.add_step(arrow_pages(ep.type_key))
