"""Dagster: one asset per AntBot table, all materialised by one `antbot_source.load()` run.

The assets are dagster-dlt's (`@dlt_assets` and its translator: keys `dlt_antbot_<table>`, each
depending on `antbot_<table>`, the API's side), so lineage and rows loaded show per table. Their
body is not `DagsterDltResource.run`, which is one `pipeline.run(source)` after dropping the local
pipeline: it runs `load()`, what `antbot load` runs (one run at a time, the connection check, the runs until the
CDR backlog is read, parquet where the destination takes it, tables rebuilt, the views), with a
source built anew each run. A subset of the assets loads those tables only.

Start it with `dagster asset materialize --select '*' -m pipelines.orchestration.dagster_assets`
or `dagster dev -m pipelines.orchestration.dagster_assets`. Settings come from the environment
(or `.dlt/` in the working dir), as dlt reads them: SOURCES__ANTBOT__* for the account,
DESTINATION_TYPE (default duckdb) and DESTINATION__<NAME>__CREDENTIALS for the destination
(DESTINATION__DUCKDB__CREDENTIALS: the DuckDB file), DLT_DATA_DIR for the pipeline's working dir.
"""

# no `from __future__ import annotations`: Dagster checks the type of `context` at definition time
from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dlt import DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from antbot_source import antbot, build_pipeline, load

# What the asset specs are made of: the source's resources and the pipeline's destination. This
# source is never run, so a placeholder token stands in for the account's settings (the run reads those).
SPEC_SOURCE = antbot(access_token="asset specs only")
SPEC_PIPELINE = build_pipeline()
TRANSLATOR = DagsterDltTranslator()
TABLE_OF_KEY = {
    TRANSLATOR.get_asset_spec(DltResourceTranslatorData(resource=resource, pipeline=SPEC_PIPELINE)).key: name
    for name, resource in SPEC_SOURCE.selected_resources.items()
}


@dlt_assets(dlt_source=SPEC_SOURCE, dlt_pipeline=SPEC_PIPELINE, name="antbot_load", group_name="antbot",
            dagster_dlt_translator=TRANSLATOR)
def antbot_tables(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    """Load the selected tables (all of them unless a subset is selected)."""
    tables = {key: TABLE_OF_KEY[key] for key in context.selected_asset_keys}
    summary = load(resources=sorted(tables.values()) if context.is_subset else None, notify=context.log.warning)
    context.log.info(f"antbot load: {summary.runs} run(s), rows {dict(sorted(summary.rows.items()))}")
    for key, table in tables.items():
        yield dg.MaterializeResult(asset_key=key, metadata={
            "rows_loaded": dg.MetadataValue.int(summary.rows.get(table, 0)),
            "dlt_runs": dg.MetadataValue.int(summary.runs),
            "dlt_load_ids": dg.MetadataValue.json(summary.load_ids),
        })


# the assets are one step: run it in the run's own process, not in a process of its own that imports
# Dagster and the source again (Dagster's default executor starts one per step)
defs = dg.Definitions(assets=[antbot_tables], executor=dg.in_process_executor)
