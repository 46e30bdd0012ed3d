"""Lists read in full at a reconcile and checked for changes in between; merged on their key, deletes by tombstones."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from antbot_source.api.client import AntBotClient, SharedClient
from antbot_source.api.pages import object_id, relation_id
from antbot_source.destination.held import HeldRows
from antbot_source.health.tally import RunTally
from antbot_source.resources.changes import ListChanges, Unsure, list_changes
from antbot_source.resources.deletes import tombstones
from antbot_source.resources.reconcile import mark_reconciled, reconcile_due
from antbot_source.resources.row_reader import RowReader
from antbot_source.resources.side_by_side import side_by_side
from antbot_source.rows.arrow import arrow_pages
from antbot_source.rows.normalise import normalise_row
from antbot_source.rows.schema import columns
from antbot_source.settings import DEFAULT_RECONCILE_HOURS, Endpoint, endpoint

log = logging.getLogger(__name__)

BUFFERED_PAGES = 8  # pages read ahead of dlt at most, whatever the number of parts


@dataclass(frozen=True)
class Reconcile:
    """How often tables are read in full (`every`), and whether this run does it for all (`forced`)."""

    every: timedelta = timedelta(hours=DEFAULT_RECONCILE_HOURS)
    forced: bool = False


DEFAULT_RECONCILE = Reconcile()

def _parts(client: AntBotClient, ep: Endpoint) -> list[Callable[[], Iterator[list[dict[str, Any]]]]]:
    """The walks that together read `ep`'s list: the whole list, or one per parent row (`split_by`),
    each keeping only its parent's rows (a filter the server ignored would return everyone)."""
    if ep.split_by is None:
        return [partial(client.iter_pages, ep.path, dict(ep.params))]
    field, parent = ep.split_by

    def part(parent_id: int) -> Iterator[list[dict[str, Any]]]:
        for page in client.iter_pages(ep.path, {**ep.params, field: parent_id}):
            yield [raw for raw in page if relation_id(raw.get(field)) == parent_id]

    parents = [object_id(row) for page in client.iter_pages(endpoint(parent).path) for row in page]
    return [partial(part, parent_id) for parent_id in parents if parent_id is not None]


def detect_changes(client: AntBotClient, ep: Endpoint, held: list[tuple[Any, ...]] | None,
               state: dict[str, Any], reconcile: Reconcile) -> ListChanges | None:
    """What change detection finds for `ep` (see `changes`), or None when this run reads it in full: at a
    reconcile, on a first load, for a list not ordered by id, or when change detection is unsure."""
    if not held or not ep.ordered_by_id or reconcile_due(state, reconcile.every, reconcile.forced):
        return None
    try:
        return list_changes(client, ep.path, dict(ep.params), sorted(row[0] for row in held))
    except Unsure as exc:
        log.info("%s: %s; reading it in full", ep.table, exc)
        return None


def full_resource(shared: SharedClient, ep: Endpoint, readers: int = 1, reconcile: Reconcile = DEFAULT_RECONCILE,
                  *, held: HeldRows, tally: RunTally) -> DltResource:
    """A table read in full at a reconcile (in parts, `readers` side by side, when the endpoint row
    says so) and checked for changes between reconciles; merged on the key, rows the API no longer returns deleted
    from the destination (`held`) by tombstones (see `antbot_source.resources.deletes`); requests counted in the run's `tally`."""
    key = ep.primary_key

    def read() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        started = datetime.now(UTC)
        held_keys = held.rows(ep.table, (key,))
        stats = tally.table(ep.table).stats
        reader = RowReader(ep, stats)
        with shared.use(stats) as client:
            changes = detect_changes(client, ep, held_keys, state, reconcile)
            if changes is not None and changes.whole is None:
                yield from reader.fresh([changes.new_rows])
                gone = tombstones([(row_id,) for row_id in changes.deleted], reader.seen, key=key)
            elif changes is not None:  # the list fits one page: that page is all of it
                yield from reader.fresh([changes.whole])
                gone = tombstones(held_keys or [], reader.seen, key=key)
                mark_reconciled(state, started)
            else:
                yield from reader.fresh(side_by_side(_parts(client, ep), readers, BUFFERED_PAGES))
                gone = tombstones(held_keys or [], reader.seen, key=key)
                if gone:
                    # a walk can miss rows that shift while the list changes under it: a key counts as
                    # deleted only when a second read misses it too
                    again = {normalise_row(raw).get(key) for page in client.iter_pages(ep.path, dict(ep.params))
                             for raw in page}
                    gone = [row for row in gone if row[key] not in again]
                mark_reconciled(state, started)
        if gone:
            yield gone

    return dlt.resource(
        read,
        name=ep.table,
        primary_key=key,
        write_disposition=ep.write_disposition,
        columns=columns(ep.type_key, tombstones=True),
        parallelized=True,
    ).add_step(arrow_pages(ep.type_key))
