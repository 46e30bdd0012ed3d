"""Subscribers, read campaign by campaign through the `campaign` filter of `subscriber-list/`.

`subscriber-list/` has no date filter and subscribers change status without always bumping
`updated_date`, so a subscriber's current state is only known by reading it again.

At a reconcile (see `reconcile`) a run reads every campaign except those that were already closed
(status 4 ended or 5 completed) at the previous complete load and are still closed: a closed
campaign dials no one, so its subscribers no longer change. The set of closed campaigns is kept in
resource state and recorded only after a complete read. Deletes still reach closed campaigns
(deleting a contact deletes its subscribers): each skipped campaign costs one request for its
`count`, and is read again when that count differs from the rows the destination holds for it.

Between reconciles a run detects the list's changes like any other (`changes`: new subscribers, deleted ones)
and then counts it per status, one request each: when every count agrees with the destination,
nothing moved. A status whose count moved is counted per campaign, and only the (campaign, status)
cells whose counts differ are read, smallest first; a campaign whose cells still disagree after
that is read whole. So a run costs what moved, not what the campaigns hold.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from antbot_source.api.client import AntBotClient, SharedClient
from antbot_source.api.pages import describe, page_parts
from antbot_source.destination.held import HeldRows
from antbot_source.health.tally import RunTally
from antbot_source.resources.changes import ListChanges
from antbot_source.resources.deletes import tombstones
from antbot_source.resources.full import DEFAULT_RECONCILE, Reconcile, detect_changes
from antbot_source.resources.reconcile import mark_reconciled
from antbot_source.resources.row_reader import RowReader
from antbot_source.resources.side_by_side import side_by_side
from antbot_source.rows.arrow import arrow_pages
from antbot_source.rows.normalise import normalise_row
from antbot_source.rows.schema import columns
from antbot_source.settings import CLOSED_CAMPAIGN_STATUSES, SUBSCRIBER_STATUSES, Endpoint, endpoint

log = logging.getLogger(__name__)

STATE_KEY = "closed_campaigns"
CALLS_KEY = "calls_read_to"  # the highest CDR id at the destination whose call this resource has looked at
BUFFERED_PAGES = 8  # pages read ahead of dlt at most: a campaign is never held whole

Cell = tuple[int, int]  # (campaign, status)


def _pages(client: AntBotClient, ep: Endpoint, reader: RowReader, **filters: int) -> Iterator[list[dict[str, Any]]]:
    """The subscribers matching `filters`, page by page, normalised (rows that do not match dropped: a
    filter the server ignored would otherwise return everyone)."""
    for page in client.iter_pages(ep.path, {**ep.params, **filters}):
        rows = reader.normalise(page)
        yield [row for row in rows if all(row.get(name) == value for name, value in filters.items())]


def _count(client: AntBotClient, ep: Endpoint, **filters: int) -> int | None:
    """The server's count of the subscribers matching `filters` (one row requested); None for a bare list."""
    body = client.request("GET", ep.path, params={**ep.params, **filters, "page_size": 1})
    return body.get("count") if isinstance(body, dict) else None


def subscribers_resource(shared: SharedClient, ep: Endpoint | None = None, readers: int = 4,
                         reconcile: Reconcile = DEFAULT_RECONCILE, *, held: HeldRows,
                         tally: RunTally) -> DltResource:
    """The `subscribers` resource: merge on `id`; per-campaign reads at a reconcile (`readers`
    campaigns side by side, each walk following its own `next` links in order), detects changes and
    per-status counts in between; compared with the destination's rows (`held`, the CDRs' too),
    requests counted in the run's `tally`."""
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
        started = datetime.now(UTC)
        closed_before = set(state.get(STATE_KEY, []))
        held_rows = held.rows(ep.table, ("id", "campaign", "status")) or []
        calls_to = (held.rows("cdr", ("max(id)",)) or [(None,)])[0][0]
        stats = tally.table(ep.table).stats
        reader = RowReader(ep, stats)
        with shared.use(stats) as client, ThreadPoolExecutor(readers, "antbot-subscribers") as pool:
            campaigns = {
                row["id"]: row.get("status")
                for page in client.iter_pages(endpoint("campaigns").path)
                for row in map(normalise_row, page)
            }
            closed_now = {cid for cid, status in campaigns.items() if status in CLOSED_CAMPAIGN_STATUSES}
            changes = detect_changes(client, ep, held_rows, state, reconcile)
            if changes is None:
                gone = yield from _reconcile(client, pool, ep, readers, reader, campaigns, closed_before & closed_now,
                                             held_rows)
                mark_reconciled(state, started)
            elif changes.whole is not None:
                yield from reader.fresh([changes.whole])
                gone = tombstones(held_rows, reader.seen)
                mark_reconciled(state, started)
            else:
                # campaigns closed since the last run dial no one: only the deletes change detection finds reach them
                moving = [cid for cid in campaigns if cid not in closed_before & closed_now]
                gone = yield from _moves(client, pool, ep, readers, reader, moving, held_rows, changes,
                                         _dialled(held, state.get(CALLS_KEY), calls_to))
        if gone:
            yield gone
        state[STATE_KEY] = sorted(closed_now)
        if calls_to is not None:
            state[CALLS_KEY] = calls_to

    return subscribers.add_step(arrow_pages(ep.type_key))


def _dialled(held: HeldRows, after: int | None, upto: int | None) -> dict[int, set[str]]:
    """The numbers each campaign called in the CDRs loaded since this resource last looked: those with
    ids in (`after`, `upto`] at the destination."""
    if after is None or upto is None or upto <= after:
        return {}
    rows = held.rows("cdr", ("campaign", "phone_number"), where=(
        f"WHERE id > {int(after)} AND id <= {int(upto)} AND campaign IS NOT NULL GROUP BY campaign, phone_number"))
    dialled: dict[int, set[str]] = {}
    for campaign, number in rows or []:
        dialled.setdefault(campaign, set()).add(number)
    return dialled


def _called(client: AntBotClient, ep: Endpoint, reader: RowReader, campaign: int,
            number: str) -> list[dict[str, Any]] | None:
    """The subscribers of `campaign` with phone `number` (one, or a few where contacts share a number),
    in one request; None when the answer holds other rows or more than one page: a server that ignores
    the `contact` filter."""
    body = client.request("GET", ep.path, params={**ep.params, "campaign": campaign, "contact": number,
                                                  "page_size": client.config.page_size})
    rows, _, count = page_parts(body, describe(ep.path))
    rows = reader.normalise(rows)
    matching = [row for row in rows if row.get("campaign") == campaign and row.get("duplicate_contact") == number]
    return matching if len(matching) == len(rows) == (count if count is not None else len(rows)) else None


def _reconcile(client: AntBotClient, pool: ThreadPoolExecutor, ep: Endpoint, readers: int, reader: RowReader,
               campaigns: dict[int, Any], closed: set[int], held: list[tuple[Any, ...]],
               ) -> Iterator[list[dict[str, Any]]]:
    """Every campaign read whole, but those closed since the last complete read whose count agrees
    with the destination; returns the tombstones."""
    held_per_campaign = Counter(row[1] for row in held)
    skipped = sorted(closed)
    counts = pool.map(lambda cid: _count(client, ep, campaign=cid), skipped)
    # a closed campaign whose count moved (a contact deleted with its subscribers) is read again
    unchanged = {cid for cid, n in zip(skipped, counts, strict=True) if n == held_per_campaign[cid]}
    to_read = sorted(set(campaigns) - unchanged)
    walks = [partial(_pages, client, ep, reader, campaign=cid) for cid in to_read]
    yield from reader.once(side_by_side(walks, readers, BUFFERED_PAGES))
    read = set(to_read)
    return tombstones(held, reader.seen, in_scope=lambda cid: cid in read or cid not in campaigns)


def _moves(client: AntBotClient, pool: ThreadPoolExecutor, ep: Endpoint, readers: int, reader: RowReader,
           campaigns: list[int], held: list[tuple[Any, ...]], changes: ListChanges,
           dialled: dict[int, set[str]]) -> Iterator[list[dict[str, Any]]]:
    """Between reconciles: the new subscribers, the deleted ones, and those whose status moved in
    `campaigns`: first the subscribers the new calls name (`dialled`), one request each, in the
    campaigns where that costs fewer requests than reading them whole; then counts per status and per
    (campaign, status) cell. Returns the tombstones. When the per-status counts still disagree after
    that, every campaign is read whole."""
    where: dict[int, Cell] = {row[0]: (row[1], row[2]) for row in held}
    new_rows = reader.normalise(changes.new_rows)
    yield from reader.once([new_rows])
    where.update((row["id"], (row.get("campaign"), row.get("status"))) for row in new_rows)
    for row_id in changes.deleted:
        where.pop(row_id, None)
    gone = tombstones([(row_id,) for row_id in changes.deleted], set())
    per_campaign = Counter(c for c, _ in where.values())
    pairs = [(c, number) for c in campaigns
             for number in sorted(dialled.get(c, ()))
             if len(dialled[c]) < math.ceil(per_campaign[c] / changes.page_rows)]
    for found in pool.map(lambda pair: _called(client, ep, reader, *pair), pairs):
        if found is None:
            log.info("%s: the server ignores the contact filter; counting instead", ep.table)
            break
        where.update((row["id"], (row["campaign"], row["status"])) for row in found)
        yield from reader.once([found])

    def counted(cells: Iterable[tuple[int | None, int]]) -> dict[tuple[int | None, int], int | None]:
        cells = list(cells)
        filters = [{"status": s} if c is None else {"campaign": c, "status": s} for c, s in cells]
        return dict(zip(cells, pool.map(lambda f: _count(client, ep, **f), filters), strict=True))

    def differing(server: dict[tuple[int | None, int], int | None]) -> list[tuple[int | None, int]]:
        per_status = Counter(status for _, status in where.values())
        per_cell = Counter(where.values())
        return [(c, s) for (c, s), n in server.items() if n != (per_status[s] if c is None else per_cell[(c, s)])]

    by_status = counted((None, s) for s in SUBSCRIBER_STATUSES)
    if sum(n or 0 for n in by_status.values()) != changes.count:  # the status filter is not honoured
        log.info("%s: the server ignores the status filter; reading every campaign", ep.table)
        moved_statuses = list(SUBSCRIBER_STATUSES)
        whole = set(campaigns)
    else:
        moved_statuses = [s for _, s in differing(by_status)]
        whole = set()
    if moved_statuses and not whole:
        cells = counted((c, s) for c in campaigns for s in moved_statuses)
        held_cells = Counter(where.values())
        # cells that grew first: the rows that left the others are found where they arrived, and a
        # cell that only shrank is read when that does not explain it
        grown = [cell for cell in differing(cells) if (cells[cell] or 0) > held_cells[cell]]
        for batch in (lambda: grown, lambda: differing(cells)):
            walks = [partial(_pages, client, ep, reader, campaign=c, status=s)
                     for c, s in sorted(batch(), key=lambda cell: cells[cell] or 0)]
            for rows in side_by_side(walks, readers, BUFFERED_PAGES):
                where.update((row["id"], (row["campaign"], row["status"])) for row in rows)
                yield from reader.once([rows])
        whole = {c for c, _ in differing(cells)}  # cells that still disagree: their campaign is read whole
        if differing(by_status) and not whole:  # moves the cells did not explain: anywhere
            whole = set(campaigns) | {c for c, _ in where.values() if c is not None}
    if whole:
        walks = [partial(_pages, client, ep, reader, campaign=c) for c in sorted(whole)]
        seen_again: set[int] = set()
        for rows in side_by_side(walks, readers, BUFFERED_PAGES):
            seen_again.update(row["id"] for row in rows)
            yield from reader.once([rows])
        gone += tombstones([(i, c) for i, (c, _) in where.items()], seen_again, in_scope=lambda c: c in whole)
    return gone
