"""`antbot push contacts|dnc`: send a warehouse table to AntBot with a plan, a ledger and rejects.

Exit codes: 0 every row sent or already present; 6 some rows rejected (push_rejects); 7 some rows
failed (push_ledger); 8 stopped before sending because started campaigns would dial new contacts
(rerun with --yes); the others as every command gives them (pipelines.failures).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from antbot_source.api.config import client_config
from antbot_source.pipeline import DEFAULT_WAIT_S
from antbot_source.push import PushOptions, run_push
from antbot_source.settings import DEFAULT_DATASET, DEFAULT_DUCKDB
from pipelines.failures import notice, reported

push_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

Table = Annotated[str | None, typer.Option("--table", help="Input table in the dataset.")]
Query = Annotated[str | None, typer.Option("--query", help="Input query (unqualified names resolve in the dataset).")]
DuckDBPath = Annotated[Path, typer.Option("--duckdb", help="DuckDB file (destination duckdb).")]
Dataset = Annotated[str, typer.Option("--dataset", help="Dataset (schema) of the input and of the push records.")]
DestinationOpt = Annotated[str, typer.Option("--destination", help="duckdb or postgres.")]
PostgresDsn = Annotated[str | None, typer.Option(
    "--postgres-dsn", help="PostgreSQL DSN; default: dlt's destination.postgres.credentials.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan and send nothing.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, max=5_000, help="Rows per bulk call / ledger batch.")]
Concurrency = Annotated[int, typer.Option("--concurrency", min=1, max=32, help="Requests in flight at once.")]
Yes = Annotated[bool, typer.Option("--yes", help="Push even when started campaigns will dial new contacts.")]
Wait = Annotated[float, typer.Option(
    "--wait", min=0, help="Seconds to wait for a load or a reader holding the DuckDB file (then exit 9).")]
FormatOpt = Annotated[str | None, typer.Option(
    "--number-format", help="national (0912345678) or e164 (+84912345678); default: the account's dominant form.")]


def _postgres_dsn(explicit: str | None) -> str | None:
    """The DSN given, else dlt's `destination.postgres.credentials` (a string or its fields)."""
    if explicit:
        return explicit
    import dlt
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.exceptions import ConfigFieldMissingException
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    value = dlt.secrets.get("destination.postgres.credentials")
    if isinstance(value, str):
        return value
    try:
        creds = resolve_configuration(PostgresCredentials(), sections=("destination", "postgres", "credentials"))
    except ConfigFieldMissingException:
        return None
    return creds.to_native_representation()


def _push(opts: PushOptions, postgres_dsn: str | None) -> None:
    """Check the options the Typer types cannot, then run the push; exits with its code."""
    if bool(opts.table) == bool(opts.query):
        raise typer.BadParameter("give exactly one of --table or --query")
    if opts.destination not in ("duckdb", "postgres"):
        raise typer.BadParameter("--destination must be duckdb or postgres")
    if opts.number_format not in (None, "national", "e164"):
        raise typer.BadParameter("--number-format must be national or e164")
    with reported("push"):
        if opts.destination == "postgres":
            opts = dataclasses.replace(opts, postgres_dsn=_postgres_dsn(postgres_dsn))
        with client_config().connect() as client:
            result = run_push(client, opts, Console(), notify=notice)
    raise typer.Exit(result.exit_code)


@push_app.command()
def contacts(
    table: Table = None, query: Query = None,
    phonebook: Annotated[str | None, typer.Option(help="Phonebook id or name for every row.")] = None,
    update: Annotated[bool, typer.Option("--update", help="Also update changed fields of present contacts.")] = False,
    allow_dnc: Annotated[bool, typer.Option(
        "--allow-dnc", help="Push numbers on a DNC list of the account too (rejected by default).")] = False,
    duckdb: DuckDBPath = Path(DEFAULT_DUCKDB), dataset: Dataset = DEFAULT_DATASET, destination: DestinationOpt = "duckdb",
    postgres_dsn: PostgresDsn = None, dry_run: DryRun = False, batch_size: BatchSize = 500,
    concurrency: Concurrency = 4, yes: Yes = False, number_format: FormatOpt = None, wait: Wait = DEFAULT_WAIT_S,
) -> None:
    """Push contacts (columns: contact, phonebook, first_name, last_name, email, description, status,
    additional_vars) into phonebooks."""
    _push(PushOptions("contacts", table=table, query=query, destination=destination,  # type: ignore[arg-type]
                      duckdb_path=duckdb, dataset=dataset, target=phonebook, dry_run=dry_run, update=update,
                      batch_size=batch_size, concurrency=concurrency, yes=yes, allow_dnc=allow_dnc,
                      number_format=number_format, wait_s=wait), postgres_dsn)  # type: ignore[arg-type]


@push_app.command()
def dnc(
    table: Table = None, query: Query = None,
    dnc_list: Annotated[str | None, typer.Option("--dnc-list", help="DNC list id or name for every row.")] = None,
    fix_forms: Annotated[bool, typer.Option(
        "--fix-forms", help="Add the forms the contacts use to the list's entries that miss them.")] = False,
    duckdb: DuckDBPath = Path(DEFAULT_DUCKDB), dataset: Dataset = DEFAULT_DATASET, destination: DestinationOpt = "duckdb",
    postgres_dsn: PostgresDsn = None, dry_run: DryRun = False, batch_size: BatchSize = 500,
    concurrency: Concurrency = 4, yes: Yes = False, number_format: FormatOpt = None, wait: Wait = DEFAULT_WAIT_S,
) -> None:
    """Push do-not-call numbers (columns: phone_number, dnc) into DNC lists."""
    _push(PushOptions("dnc", table=table, query=query, destination=destination,  # type: ignore[arg-type]
                      duckdb_path=duckdb, dataset=dataset, target=dnc_list, dry_run=dry_run,
                      batch_size=batch_size, concurrency=concurrency, yes=yes, fix_forms=fix_forms,
                      number_format=number_format, wait_s=wait), postgres_dsn)  # type: ignore[arg-type]

