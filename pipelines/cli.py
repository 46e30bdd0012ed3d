"""The `antbot` command: load, demo, sandbox, push, views, report, health, compliance."""

import typer

from antbot_source.sandbox.serve_cmd import sandbox_app
from pipelines.analytics_cmd import report, views
from pipelines.compliance_cmd import compliance
from pipelines.demo import demo
from pipelines.health_cmd import health
from pipelines.load import load
from pipelines.push_cmd import push_app

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # markdown: a docstring's paragraph is one paragraph however its source lines are cut
    rich_markup_mode="markdown",
    help="AntBot (Alice) data connector: load call data with dlt, push contacts and DNC numbers back, analyse.",
)
app.command()(load)
app.command()(demo)
app.add_typer(sandbox_app, name="sandbox", help="Run the local AntBot sandbox server.")
app.add_typer(push_app, name="push", help="Push contacts, DNC numbers, campaigns or reminder calls from the warehouse to AntBot.")
app.command()(views)
app.command()(report)
app.command()(health)
app.command()(compliance)

if __name__ == "__main__":
    app()
