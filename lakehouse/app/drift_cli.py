"""`lakehouse drift`: the monthly drift job for one month.

Exit codes: 0 no retraining needed (columns that drifted below the dataset-drift share are printed as
warnings), 1 retraining recommended (dataset drift, prediction drift or performance below the gate),
2 the job could not complete (settings, engine, missing or empty data, report not published: it is kept
and uploaded by the next run). Warnings (reference fallback, partial month, missing columns) always print.
"""

from __future__ import annotations

import sys
from datetime import date, datetime

import click

from lakehouse.core.cli_support import FriendlyCommand, context_settings

RETRAIN = 1


def _month(value: str | None) -> date | None:
    try:
        return datetime.strptime(value, "%Y-%m").date() if value else None
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a month (YYYY-MM)", param_hint="--month") from None


@click.command(cls=FriendlyCommand)
@click.option("--month", default=None,
              help="Month to analyse, YYYY-MM (default: the last month complete on the settings' run date, else yesterday).")
@click.option("--azurite/--no-azurite", default=None,
              help="Publish to a local Azurite started for this run (default: locally, when no AZURE_STORAGE_CONNECTION_STRING or blob.local_dir is set).")
@click.pass_context
def drift(ctx: click.Context, month: str | None, azurite: bool | None) -> None:
    """Drift of one month of the ARDS against the champion's training window -> history table, HTML + JSON
    report to Blob; exit 1 when retraining is recommended."""
    from lakehouse.core.engine import spark_session
    from lakehouse.local.azurite import local_blob
    from quality.drift.job import detect_drift

    settings = context_settings(ctx)
    chosen = _month(month)
    with local_blob(settings, azurite) as settings, spark_session(settings) as spark:
        result = detect_drift(spark, settings, chosen)
    ref = result.reference
    click.echo(f"drift {result.month:%Y-%m} vs {ref['start']}..{ref['end']} ({ref['source']}): "
               f"{result.drifted_count} of {result.number_of_columns} columns drifted "
               f"(share {result.drifted_share:.3f}, threshold {result.drift_share_threshold:g})")
    for warning in result.warnings:
        click.echo(f"  warning: {warning}")
    for reason in result.retrain_reasons:
        click.echo(f"  RETRAIN: {reason}")
    for location in result.published:
        click.echo(f"  report: {location}")
    if result.retrain_recommended:
        sys.exit(RETRAIN)


if __name__ == "__main__":
    drift()
