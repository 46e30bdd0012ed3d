"""`antbot push contacts|dnc`: send a warehouse table to AntBot with a plan, a ledger and rejects.

Exit codes: 0 every row sent or already present; 6 some rows rejected (push_rejects); 7 some rows
failed (push_ledger); 8 stopped before sending because started campaigns would dial new contacts
(rerun with --yes); 2/3/4/5 configuration, credentials, unreachable host, API error (antbot_source.errors).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from antbot_source.client import ClientConfig
from antbot_source.errors import AntBotError, ConfigError
from antbot_source.push import PushOptions, run_push
from antbot_source.push.normalise import Kind
from antbot_source.settings import DEFAULT_BASE_URL, DEFAULT_DATASET, DEFAULT_DUCKDB

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


def client_config() -> ClientConfig:
    """The AntBot client configuration of `antbot load`: dlt config section `sources.antbot`."""
    import dlt

    def get(name: str, default: Any = None, secret: bool = False) -> Any:
        value = (dlt.secrets if secret else dlt.config).get(f"sources.antbot.{name}")
        return default if value is None else value

    config = ClientConfig(
        base_url=get("base_url", DEFAULT_BASE_URL), username=get("username"),
        password=get("password", secret=True), access_token=get("access_token", secret=True),
        token_path=get("token_path", "get-token/"), page_size=int(get("page_size", 1000)),
        timeout=float(get("timeout", 30.0)), max_attempts=int(get("max_attempts", 8)),
    )
    if not (config.access_token or (config.username and config.password)):
        raise ConfigError("no AntBot credentials: set SOURCES__ANTBOT__USERNAME and SOURCES__ANTBOT__PASSWORD "
                          "(or SOURCES__ANTBOT__ACCESS_TOKEN)")
    return config


def _push(kind: Kind, target: str | None, table: str | None, query: str | None, duckdb: Path, dataset: str,
          destination: str, postgres_dsn: str | None, dry_run: bool, update: bool, batch_size: int,
          concurrency: int, yes: bool, number_format: str | None) -> None:
    console = Console()
    if bool(table) == bool(query):
        raise typer.BadParameter("give exactly one of --table or --query")
    if destination not in ("duckdb", "postgres"):
        raise typer.BadParameter("--destination must be duckdb or postgres")
    if number_format not in (None, "national", "e164"):
        raise typer.BadParameter("--number-format must be national or e164")
    opts = PushOptions(kind, table, query, destination, duckdb, dataset,  # type: ignore[arg-type]
                       _postgres_dsn(postgres_dsn) if destination == "postgres" else None, target, dry_run,
                       update, batch_size, concurrency, yes, number_format)  # type: ignore[arg-type]
    try:
        config = client_config()
        with config.connect() as client:
            result = run_push(client, opts, console)
    except AntBotError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(result.exit_code)


@push_app.command()
def contacts(
    table: Table = None, query: Query = None,
    phonebook: Annotated[str | None, typer.Option(help="Phonebook id or name for every row.")] = None,
    update: Annotated[bool, typer.Option("--update", help="Also update changed fields of present contacts.")] = False,
    duckdb: DuckDBPath = Path(DEFAULT_DUCKDB), dataset: Dataset = DEFAULT_DATASET, destination: DestinationOpt = "duckdb",
    postgres_dsn: PostgresDsn = None, dry_run: DryRun = False, batch_size: BatchSize = 500,
    concurrency: Concurrency = 4, yes: Yes = False, number_format: FormatOpt = None,
) -> None:
    """Push contacts (columns: contact, phonebook, first_name, last_name, email, description, status,
    additional_vars) into phonebooks."""
    _push("contacts", phonebook, table, query, duckdb, dataset, destination, postgres_dsn, dry_run, update,
          batch_size, concurrency, yes, number_format)


@push_app.command()
def dnc(
    table: Table = None, query: Query = None,
    dnc_list: Annotated[str | None, typer.Option("--dnc-list", help="DNC list id or name for every row.")] = None,
    duckdb: DuckDBPath = Path(DEFAULT_DUCKDB), dataset: Dataset = DEFAULT_DATASET, destination: DestinationOpt = "duckdb",
    postgres_dsn: PostgresDsn = None, dry_run: DryRun = False, batch_size: BatchSize = 500,
    concurrency: Concurrency = 4, yes: Yes = False, number_format: FormatOpt = None,
) -> None:
    """Push do-not-call numbers (columns: phone_number, dnc) into DNC lists."""
    _push("dnc", dnc_list, table, query, duckdb, dataset, destination, postgres_dsn, dry_run, False,
          batch_size, concurrency, yes, number_format)

