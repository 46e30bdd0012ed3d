"""`antbot push contacts|dnc|campaigns|appointments`: send a warehouse table to AntBot with a plan, a ledger
and rejects.

Exit codes: 0 every row sent or already present; 6 some rows rejected (push_rejects); 7 some rows
failed (push_ledger); 8 stopped before sending because the push would make the dialer call people
(started campaigns with new contacts, campaigns to start, reminder calls to book; rerun with --yes); the
others as every command gives them (pipelines.failures).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import Console

from antbot_source.config import antbot_settings
from antbot_source.destination.access import DEFAULT_WAIT_S
from antbot_source.destination.target import configured_dataset, configured_destination, duckdb_file
from antbot_source.errors import ConfigError
from antbot_source.push import PushOptions, run_push
from antbot_source.push.appointments_apply import AppointmentOptions, run_appointments
from antbot_source.push.campaigns import CampaignPushOptions, run_campaign_push
from antbot_source.push.read import input_sql
from pipelines.failures import notice, reported
from pipelines.options import DatasetOption, DestinationOption, DuckdbOption, WaitOption

push_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

Table = Annotated[str | None, typer.Option("--table", help="Input table in the dataset.")]
Query = Annotated[str | None, typer.Option("--query", help="Input query (unqualified names resolve in the dataset).")]
PostgresDsn = Annotated[str | None, typer.Option(
    "--postgres-dsn", help="PostgreSQL DSN; default: dlt's destination.postgres.credentials.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan and send nothing.")]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, max=5_000, help="Rows per bulk call / ledger batch.")]
Concurrency = Annotated[int, typer.Option("--concurrency", min=1, max=32, help="Requests in flight at once.")]
Yes = Annotated[bool, typer.Option("--yes", help="Push even when started campaigns will dial new contacts.")]
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


def _push(opts: PushOptions, postgres_dsn: str | None, run: Callable[..., Any] = run_push) -> None:
    """Check the options the Typer types cannot, then run the push; exits with its code."""
    with reported("push"):
        opts = dataclasses.replace(opts, destination=configured_destination(opts.destination),
                                   duckdb_path=duckdb_file(opts.duckdb_path), dataset=configured_dataset(opts.dataset))
        if opts.destination not in ("duckdb", "postgres"):
            raise ConfigError(f"--destination must be duckdb or postgres, not {opts.destination!r}")
        if getattr(opts, "number_format", None) not in (None, "national", "e164"):
            raise ConfigError(f"--number-format must be national or e164, not {opts.number_format!r}")
        input_sql(opts.table, opts.query, opts.dataset, opts.destination)  # a bad input exits before any request
        if opts.destination == "postgres":
            opts = dataclasses.replace(opts, postgres_dsn=_postgres_dsn(postgres_dsn))
        # one session of the account for the push: its requests take turns from its budget
        with antbot_settings().account().connect() as client:
            result = run(client, opts, Console(), notify=notice)
    raise typer.Exit(result.exit_code)


@push_app.command()
def contacts(
    table: Table = None, query: Query = None,
    phonebook: Annotated[str | None, typer.Option(help="Phonebook id or name for every row.")] = None,
    update: Annotated[bool, typer.Option("--update", help="Also update changed fields of present contacts.")] = False,
    create_phonebook: Annotated[bool, typer.Option(
        "--create-phonebook", help="Create a phonebook that no phonebook of the account is named as.")] = False,
    allow_dnc: Annotated[bool, typer.Option(
        "--allow-dnc", help="Push numbers on a DNC list of the account too (rejected by default).")] = False,
    duckdb: DuckdbOption = None, dataset: DatasetOption = None, destination: DestinationOption = None,
    postgres_dsn: PostgresDsn = None, dry_run: DryRun = False, batch_size: BatchSize = 500,
    concurrency: Concurrency = 4, yes: Yes = False, number_format: FormatOpt = None, wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """Push contacts (columns: contact, phonebook, first_name, last_name, email, description, status,
    additional_vars) into phonebooks.

    Example: antbot push contacts --table call_list --phonebook "Spring leads" --dry-run

    Exit codes: 0 every row sent or present; 6 rows rejected (push_rejects); 7 rows failed (push_ledger);
    8 stopped for --yes; 2 a bad option or input; 3/4/5 AntBot refused, unreachable, or answered an error;
    9 a load holds the DuckDB file; 130/143 interrupted (run again).
    """
    _push(PushOptions("contacts", table=table, query=query, destination=destination,  # type: ignore[arg-type]
                      duckdb_path=duckdb, dataset=dataset, target=phonebook, dry_run=dry_run, update=update,
                      batch_size=batch_size, concurrency=concurrency, yes=yes, create_targets=create_phonebook,
                      allow_dnc=allow_dnc,
                      number_format=number_format, wait_s=wait), postgres_dsn)  # type: ignore[arg-type]


@push_app.command()
def dnc(
    table: Table = None, query: Query = None,
    dnc_list: Annotated[str | None, typer.Option("--dnc-list", help="DNC list id or name for every row.")] = None,
    create_dnc_list: Annotated[bool, typer.Option(
        "--create-dnc-list", help="Create a DNC list that no DNC list of the account is named as.")] = False,
    fix_forms: Annotated[bool, typer.Option(
        "--fix-forms", help="Add the forms the contacts use to the list's entries that miss them.")] = False,
    duckdb: DuckdbOption = None, dataset: DatasetOption = None, destination: DestinationOption = None,
    postgres_dsn: PostgresDsn = None, dry_run: DryRun = False, batch_size: BatchSize = 500,
    concurrency: Concurrency = 4, yes: Yes = False, number_format: FormatOpt = None, wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """Push do-not-call numbers (columns: phone_number, dnc) into DNC lists.

    Example: antbot push dnc --table opt_outs --dnc-list "Main DNC" --fix-forms

    Exit codes: 0 every row sent or present; 6 rows rejected (push_rejects); 7 rows failed (push_ledger);
    8 stopped for --yes; 2 a bad option or input; 3/4/5 AntBot refused, unreachable, or answered an error;
    9 a load holds the DuckDB file; 130/143 interrupted (run again).
    """
    _push(PushOptions("dnc", table=table, query=query, destination=destination,  # type: ignore[arg-type]
                      duckdb_path=duckdb, dataset=dataset, target=dnc_list, dry_run=dry_run,
                      batch_size=batch_size, concurrency=concurrency, yes=yes, create_targets=create_dnc_list,
                      fix_forms=fix_forms,
                      number_format=number_format, wait_s=wait), postgres_dsn)  # type: ignore[arg-type]


def _duration(text: str) -> timedelta:
    """An ISO-8601 duration (P1D, PT2H, P1DT12H) as a timedelta."""
    import pendulum

    try:
        parsed = pendulum.parse(text)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        parsed = None
    if not isinstance(parsed, pendulum.Duration) or parsed.total_seconds() < 0:
        raise typer.BadParameter(f"not an ISO-8601 duration such as P1D or PT2H: {text!r}")
    return timedelta(seconds=parsed.total_seconds())


@push_app.command()
def appointments(
    table: Table = None, query: Query = None,
    calendar: Annotated[str | None, typer.Option(help="Calendar id or name for every row.")] = None,
    notice_before: Annotated[str, typer.Option(
        "--notice-before", help="Reminder call this long before start where a row has no notice_at "
        "(ISO-8601 duration: P1D, PT2H).")] = "P1D",
    update: Annotated[bool, typer.Option(
        "--update", help="Also update the end, title, description, reminder time and transfer number of "
        "present appointments.")] = False,
    duckdb: DuckdbOption = None, dataset: DatasetOption = None, destination: DestinationOption = None,
    postgres_dsn: PostgresDsn = None, dry_run: DryRun = False, batch_size: BatchSize = 500,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", min=1, max=32, help="Requests in flight at once (default SOURCES__ANTBOT__MAX_CONCURRENCY).")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Book (or move) the reminder calls the plan shows.")] = False,
    number_format: FormatOpt = None, wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """Push appointments: one event and one reminder call each (columns: phone_number, start, end, title,
    description, calendar, notice_at, transfer_to).

    Example: antbot push appointments --table bookings --calendar "Clinic Q1" --notice-before PT2H

    Exit codes: 0 every row sent or present; 6 rows rejected (push_rejects); 7 rows failed (push_ledger);
    8 stopped for --yes; 2 a bad option or input; 3/4/5 AntBot refused, unreachable, or answered an error;
    9 a load holds the DuckDB file; 130/143 interrupted (run again).
    """
    _push(AppointmentOptions(table=table, query=query, destination=destination,  # type: ignore[arg-type]
                             duckdb_path=duckdb, dataset=dataset, target=calendar, dry_run=dry_run, update=update,
                             batch_size=batch_size, concurrency=concurrency or antbot_settings().max_concurrency, yes=yes,
                             number_format=number_format, wait_s=wait, notice_before=_duration(notice_before)),  # type: ignore[arg-type]
          postgres_dsn, run_appointments)


@push_app.command()
def campaigns(
    table: Table = None, query: Query = None,
    allow_outside_hours: Annotated[bool, typer.Option(
        "--allow-outside-hours", help="Push daily windows outside the account's calling hours.")] = False,
    duckdb: DuckdbOption = None, dataset: DatasetOption = None, destination: DestinationOption = None,
    postgres_dsn: PostgresDsn = None, dry_run: DryRun = False,
    yes: Annotated[bool, typer.Option("--yes", help="Apply a plan that starts campaigns (they dial at once).")] = False,
    wait: WaitOption = DEFAULT_WAIT_S,
) -> None:
    """Create, update, start, pause and end campaigns (one row each, keyed by name; columns: name, phonebook,
    survey, gateway, frequency, starting_date, expiration_date, daily_start_time, daily_stop_time, callerid,
    description, status).

    Example: antbot push campaigns --table renewal_campaigns --dry-run

    Exit codes: 0 every row sent or present; 6 rows rejected (push_rejects); 7 rows failed (push_ledger);
    8 stopped for --yes; 2 a bad option or input; 3/4/5 AntBot refused, unreachable, or answered an error;
    9 a load holds the DuckDB file; 130/143 interrupted (run again).
    """
    _push(CampaignPushOptions(table, query, destination, duckdb, dataset,  # type: ignore[arg-type]
                              dry_run=dry_run, yes=yes, allow_outside_hours=allow_outside_hours, wait_s=wait),
          postgres_dsn, run_campaign_push)
