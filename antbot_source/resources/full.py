"""Full-table reads: a list re-read completely each run, merged on its key, deletes found by tombstones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from antbot_source.api.client import SharedClient
from antbot_source.resources.deletes import destination_rows, tombstones
from antbot_source.rows.arrow import arrow_pages
from antbot_source.rows.normalise import normalise_row
from antbot_source.rows.schema import columns, json_fields, timestamp_fields
from antbot_source.settings import Endpoint


def full_resource(shared: SharedClient, ep: Endpoint) -> DltResource:
    """A table re-read completely each run: merged on the key; rows the API no longer returns are
    deleted from the destination by tombstones (see `antbot_source.resources.deletes`)."""
    stamps, jsons = timestamp_fields(ep.type_key), json_fields(ep.type_key)

    def read() -> Iterator[list[dict[str, Any]]]:
        seen: set[Any] = set()
        with shared.use() as client:
            for page in client.iter_pages(ep.path, dict(ep.params)):
                rows = []
                for raw in page:
                    row = normalise_row(raw, timestamps=stamps, json_fields=jsons)
                    if row.get(ep.primary_key) not in seen:  # rows shifting between pages come twice
                        seen.add(row.get(ep.primary_key))
                        rows.append(row)
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
