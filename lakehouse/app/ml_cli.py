"""`lakehouse train`, `lakehouse score`, `lakehouse mlflow-ui`: the training and scoring jobs for one date.

Mounted under the main CLI, which passes the Settings as the click context object; run on their own
they use the default settings. A LakehouseError becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click

from lakehouse.core.cli_support import FriendlyCommand, context_settings, parse_date
from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings

DATE_OPTION = click.option("--date", "run_date", default=None,
                           help="Data day, YYYY-MM-DD (default: the settings' run date, else yesterday).")


@click.command(cls=FriendlyCommand)
@DATE_OPTION
@click.pass_context
def train(ctx: click.Context, run_date: str | None) -> None:
    """Train a churn model for a date, register it as @challenger and run the promotion gate."""
    from lakehouse.core.engine import spark_session
    from ml.training.train import train as train_job

    settings = context_settings(ctx)
    with spark_session(settings) as spark:
        result = train_job(spark, settings, parse_date(run_date or None))
    metrics = ", ".join(f"{k} {result.metrics[k]:.4f}" for k in ("roc_auc", "pr_auc", "brier", "lift_at_k"))
    if result.reused:
        click.echo("already trained for this date on the same data and settings: no new version, the earlier one and its decision")
    click.echo(f"{result.model_name} version {result.version} (run {result.run_id}): {metrics}")
    click.echo(f"gate {result.decision.outcome}: {result.decision.reason}")


@click.command(cls=FriendlyCommand)
@DATE_OPTION
@click.pass_context
def score(ctx: click.Context, run_date: str | None) -> None:
    """Score the MRDS of a date with @champion and replace that date's predictions."""
    from lakehouse.core.engine import spark_session
    from ml.scoring import score as score_job

    settings = context_settings(ctx)
    with spark_session(settings) as spark:
        result = score_job(spark, settings, parse_date(run_date or None))
    click.echo(f"wrote {result.rows:,} predictions to {result.table} (Delta version {result.table_version}) "
               f"with model version {result.model_version}; {result.incomplete_rows:,} feature row(s) with incomplete "
               f"windows {'scored, features_complete false' if result.incomplete_windows == 'include' else 'left out'}")


def mlflow_server_command(settings: Settings, port: int) -> list[str]:
    """`mlflow server` on localhost for the local tracking database, sized for a 2-core machine."""
    from lakehouse.platform.tracking import mlflow_dir

    return [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--backend-store-uri", str(settings.mlflow_tracking_uri),
            "--artifacts-destination", (mlflow_dir(settings) / "artifacts").as_uri()]


@click.command("mlflow-ui", cls=FriendlyCommand)
@click.option("--port", type=int, default=5000, show_default=True)
@click.pass_context
def mlflow_ui(ctx: click.Context, port: int) -> None:
    """Serve the MLflow UI of the local tracking database on http://127.0.0.1:PORT until Ctrl-C."""
    settings = context_settings(ctx)
    if not settings.local:
        raise LakehouseError("the MLflow UI of a Databricks environment is the workspace's Experiments page")
    click.echo(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C stops it)")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # job workers do not start on 2 cores
    # Its own process group (mlflow server runs uvicorn as a child), stopped as a whole on Ctrl-C or SIGTERM.
    server = subprocess.Popen(mlflow_server_command(settings, port), env=env, start_new_session=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


COMMANDS = (train, score, mlflow_ui)
