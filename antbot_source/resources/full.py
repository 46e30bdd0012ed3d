"""Full-table reads: a list re-read completely each run, merged on its key, deletes found by tombstones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from antbot_source.api.client import AntBotClient, SharedClient
from antbot_source.api.pages import object_id, relation_id
from antbot_source.health.tally import table_tally
from antbot_source.resources.deletes import destination_rows, tombstones
from antbot_source.resources.side_by_side import side_by_side
from antbot_source.rows.arrow import arrow_pages
from antbot_source.rows.normalise import normalise_row
from antbot_source.rows.schema import columns, json_fields, timestamp_fields
from antbot_source.settings import Endpoint, endpoint

BUFFERED_PAGES = 8  # pages read ahead of dlt at most, whatever the number of parts


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


def full_resource(shared: SharedClient, ep: Endpoint, readers: int = 1) -> DltResource:
    """A table re-read completely each run (in parts, `readers` side by side, when the endpoint row
    says so): merged on the key; rows the API no longer returns are deleted from the destination
    by tombstones (see `antbot_source.resources.deletes`)."""
    stamps, jsons = timestamp_fields(ep.type_key), json_fields(ep.type_key)

    def read() -> Iterator[list[dict[str, Any]]]:
        seen: set[Any] = set()
        with shared.use(table_tally(ep.table).stats) as client:
            for page in side_by_side(_parts(client, ep), readers, BUFFERED_PAGES):
                rows = []
                for raw in page:
                    row = normalise_row(raw, timestamps=stamps, json_fields=jsons)
                    if row.get(ep.primary_key) not in seen:  # rows shifting between pages come twice
                        seen.add(row.get(ep.primary_key))
                        rows.append(row)
                client.stats.add("rows_seen_twice", len(page) - len(rows))
                if rows:
                    yield rows
            gone = tombstones(destination_rows(ep.table, (ep.primary_key,)) or [], seen, key=ep.primary_key)
            if gone:
                # a walk can miss rows that shift while the list changes under it: a key counts as
                # deleted only when a second read misses it too
                again = {normalise_row(raw).get(ep.primary_key)
                         for page in client.iter_pages(ep.path, dict(ep.params)) for raw in page}
                gone = [row for row in gone if row[ep.primary_key] not in again]
        if gone:
            yield gone

    return dlt.resource(
        read,
        name=ep.table,
        primary_key=ep.primary_key,
        write_disposition=ep.write_disposition,
        columns=columns(ep.type_key, tombstones=True),
        parallelized=True,
    ).add_step(arrow_pages(ep.type_key))
