"""`antbot sandbox serve` (also `python -m antbot_source.sandbox serve`): run the local AntBot sandbox server."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from antbot_source.errors import ConfigError, require_extra
from antbot_source.sandbox.habits import Habits

sandbox_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@sandbox_app.callback()
def _group() -> None:
    """The local AntBot sandbox server."""


@sandbox_app.command()
def serve(
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the generated world.")] = 7,
    cdrs: Annotated[int, typer.Option(help="CDRs of the main account `demo`.")] = 2_000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    other_cdrs: Annotated[int | None, typer.Option(help="CDRs of the second account `other`.")] = None,
    habits: Annotated[str, typer.Option(help='Habits as JSON, e.g. \'{"fixed_page_size": 10}\'.')] = "{}",
    token_ttl: Annotated[float | None, typer.Option(help="Token lifetime in seconds.")] = None,
) -> None:
    """Serve a seeded AntBot world under http://HOST:PORT/rest-api until interrupted.

    Example: antbot sandbox serve --port 8000 --habits '{"latency_ms": 100}'

    Exit codes: 0 stopped with Ctrl-C; 2 a bad option, unknown habits, or the port in use.
    """
    try:
        require_extra("sandbox", "starlette", "uvicorn", "numpy")
        from antbot_source.sandbox.server import serve as serve_sandbox

        chosen = _habits(habits)
        if token_ttl is not None:
            chosen = chosen.updated(token_ttl_s=token_ttl)
        serve_sandbox(host=host, port=port, seed=seed, cdrs=cdrs, habits=chosen, other_cdrs=other_cdrs)
    except ConfigError as exc:
        print(f"antbot sandbox serve failed: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None


def _habits(text: str) -> Habits:
    """`--habits` as Habits; JSON that is not an object of known habits is a ConfigError."""
    try:
        changes = json.loads(text)
        if isinstance(changes, dict):
            return Habits().updated(**changes)
    except ValueError as exc:  # JSONDecodeError is one
        raise ConfigError(f"--habits: {exc}: {text!r}") from None
    raise ConfigError(f"--habits: not a JSON object: {text!r}")
