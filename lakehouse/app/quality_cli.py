"""`lakehouse quality ...`: run the data-quality job, upload pending reports, run Azurite for the user.

Exit codes of `validate`: 0 the gate passed (status ok or warn), 1 the gate is closed (training
and scoring must not run for that day), 2 the job could not complete (settings, engine, tables,
or the report could not be published: it is kept and uploaded by the next run).
"""

from __future__ import annotations

import sys

import click

from lakehouse.core.cli_support import FriendlyGroup, context_settings, parse_date
from lakehouse.core.errors import LakehouseError

GATE_CLOSED = 1  # a LakehouseError exits 2 (FriendlyGroup)


@click.group(cls=FriendlyGroup)
def quality() -> None:
    """Data-quality validation of the source-aligned tables; reports to Blob (Azurite locally)."""


@quality.command()
@click.option("--date", "run_date", default=None, help="Data day to validate, YYYY-MM-DD (default: the settings' run date, else yesterday).")
@click.option("--azurite/--no-azurite", default=None,
              help="Publish to a local Azurite started for this run (default: locally, when no AZURE_STORAGE_CONNECTION_STRING or blob.local_dir is set).")
@click.pass_context
def validate(ctx: click.Context, run_date: str | None, azurite: bool | None) -> None:
    """Validate one day: checks -> results table -> HTML + JSON report -> Blob; exit 1 when the gate closes.

    Outside a job there is no job run start, so the event-log checks judge the pipeline's latest update (in the
    daily job, the update started in that run: quality.event_checks)."""
    from lakehouse.core.engine import spark_session
    from lakehouse.local.azurite import local_blob
    from quality.validation import validate as run

    settings = context_settings(ctx)
    day = parse_date(run_date or None, "--date") or settings.effective_run_date
    with local_blob(settings, azurite) as settings, spark_session(settings) as spark:
        result = run(spark, settings, day)
    failed = result.failed
    click.echo(f"data quality {day}: {result.status} ({len(failed)} failed of {len(result.checks)} checks), "
               f"gate {'passed' if result.gate_passed else 'CLOSED'}")
    for check in failed:
        click.echo(f"  {check.level:5} {check.table} {check.name}: {check.message}")
    for location in result.published:
        click.echo(f"  report: {location}")
    if not result.gate_passed:
        sys.exit(GATE_CLOSED)


@quality.command("publish-pending")
@click.pass_context
def publish_pending(ctx: click.Context) -> None:
    """Upload the reports kept after a failed publish (the next validate run does this too)."""
    from quality.publish import Publisher

    done = Publisher(context_settings(ctx)).flush()
    click.echo(f"uploaded {len(done)} pending report(s)" + "".join(f"\n  {f}" for f in done))


@quality.command()
@click.option("--in-memory", is_flag=True, help="Keep nothing on disk (default: persist next to the warehouse).")
@click.pass_context
def azurite(ctx: click.Context, in_memory: bool) -> None:
    """Run a local Azurite (Blob) until Ctrl-C or SIGTERM and print its connection string."""
    from lakehouse.local.azurite import Azurite, azurite_dir
    from lakehouse.local.shutdown import interrupt_on_signals

    location = None if in_memory else azurite_dir(context_settings(ctx))
    try:
        with interrupt_on_signals(), Azurite(location=location) as server:
            click.echo(f"Azurite Blob at {server.url} (data: {location or 'in memory'}); in another shell:")
            click.echo(f"export AZURE_STORAGE_CONNECTION_STRING='{server.connection_string}'")
            code = server.wait()
        raise LakehouseError(f"Azurite exited unexpectedly with code {code}")
    except KeyboardInterrupt:
        click.echo("Azurite stopped")
