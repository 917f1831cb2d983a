"""The `lakehouse` command: one entry point for generating data, running pipelines and jobs, inspecting state."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from lakehouse.app.progress import console
from lakehouse.app.verbosity import configure_logging
from lakehouse.core.cli_support import FriendlyGroup, parse_date
from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import ENVIRONMENTS, Settings, load_settings


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env", type=click.Choice(ENVIRONMENTS), default=None, help="Environment settings to use (default: $LAKEHOUSE_ENV or local).")
@click.option("--engine", type=click.Choice(["sail", "classic", "databricks"]), default=None, help="Override the compute engine.")
@click.option("-v", "--verbose", is_flag=True, help="Also show the libraries' log lines (MLflow, Azure, ...) from INFO up.")
@click.pass_context
def main(ctx: click.Context, env: str | None, engine: str | None, verbose: bool) -> None:
    """Churn lakehouse: feature pipelines, training, batch scoring, data quality and drift.

    Runs locally with embedded defaults (Sail engine, Delta tables under ./data, MLflow in SQLite);
    the same code deploys to Azure Databricks through the bundle in bundle/.
    """
    configure_logging(verbose)
    ctx.obj = load_settings(env, engine=engine)


@main.command()
@click.option("--start", help="First day to generate (default: the world start in settings).")
@click.option("--end", help="Last day to generate (default: start + days - 1).")
@click.option("--days", type=int, default=None, help="Number of days when --end is not given.")
@click.option("--customers", type=int, default=None, help="Number of customers in the simulated world.")
@click.option("--seed", type=int, default=None, help="Random seed: same seed and day give the same bytes.")
@click.option("--defect-rate", type=float, default=None, help="Share of records with injected defects (0 = clean).")
@click.option("--drift-start", default=None, help="Day from which the drift scenario is injected.")
@click.pass_obj
def generate(settings: Settings, start: str | None, end: str | None, days: int | None, customers: int | None,
             seed: int | None, defect_rate: float | None, drift_start: str | None) -> None:
    """Generate source data drops (customers, transactions, support, churn) into the landing zone."""
    from lakehouse.app.progress import progress_bar
    from lakehouse.core.catalogs import ensure_writable
    from lakehouse.local.datagen import generate_range

    gen = settings.generator
    first = parse_date(start) or gen.world_start
    last = parse_date(end) or first + timedelta(days=(days or gen.days) - 1)
    if last < first:
        raise click.BadParameter(f"--end {last} is before --start {first}")
    config = _generator_config(settings, customers=customers, seed=seed, defect_rate=defect_rate,
                               drift_start=parse_date(drift_start))
    ensure_writable(settings.landing, "landing path")
    try:
        with progress_bar("generating", (last - first).days + 1) as advance:
            manifests = generate_range(config, settings.landing, first, last, progress=lambda d: advance(str(d)))
    except ValueError as exc:
        raise LakehouseError(str(exc)) from None
    rows = sum(f["rows"] for m in manifests for f in m["files"].values())
    console.print(f"wrote {len(manifests)} daily drops ({rows:,} rows) for {first}..{last} to {settings.landing}")


@main.group()
def pipeline() -> None:
    """Run the DLT pipelines of the bundle locally (offline_features, online_features)."""


@pipeline.command("run")
@click.argument("name", required=False)
@click.option("--date", "run_date", default=None, help="Data day to process (default: everything delivered).")
@click.option("--full-refresh", is_flag=True, help="Recompute every table from all landing files.")
@click.option("--refresh", default=None, help="Comma-separated datasets to update (others are left as they are).")
@click.option("--full-refresh-tables", default=None,
              help="Comma-separated datasets to recompute from scratch (e.g. after correcting bad input).")
@click.option("--source", "sources", multiple=True, type=click.Path(exists=True),
              help="Run this pipeline folder or file (repeatable) instead of a bundle pipeline; NAME then names it.")
@click.option("--conf", "confs", multiple=True, metavar="KEY=VALUE",
              help="Pipeline configuration for spark.conf.get (repeatable; with --source).")
@click.pass_obj
def pipeline_run(settings: Settings, name: str | None, run_date: str | None, full_refresh: bool, refresh: str | None,
                 full_refresh_tables: str | None, sources: tuple[str, ...], confs: tuple[str, ...]) -> None:
    """Run one update of pipeline NAME: incremental by default, or a (selective) full refresh.

    With --source, any Databricks pipeline folder (`import dlt` or `from pyspark import pipelines as dp`) runs the
    same way, its tables going to the settings' catalog and schema, with its event log and summary."""
    from lakehouse.core.engine import spark_session
    from lakehouse.local.pipelines import folder_pipeline, run_pipeline

    selection = (refresh.split(",") if refresh else None, full_refresh_tables.split(",") if full_refresh_tables else None)
    if not sources and (name is None or confs):
        raise click.UsageError("give a bundle pipeline NAME, or --source (with optional --conf KEY=VALUE)")
    with spark_session(settings) as spark:
        if sources:
            from lakehouse.local.dlt_runtime.runner import run_update

            pipeline = folder_pipeline(settings, [Path(s) for s in sources], _key_values(confs), name)
            result = run_update(spark, settings, pipeline, full_refresh=full_refresh, refresh=selection[0],
                                full_refresh_selection=selection[1], console=console)
        else:
            result = run_pipeline(spark, settings, name, parse_date(run_date), full_refresh, *selection,
                                  console=console)
    if not result.ok:
        raise LakehouseError(f"pipeline {result.pipeline} update {result.update_id} failed: {result.error}")


def _key_values(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--conf key=value` options as a mapping; anything without `=` is a usage error naming it."""
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not KEY=VALUE", param_hint="--conf")
    return dict(p.split("=", 1) for p in pairs)


@main.command()
@click.option("--days", type=int, default=None, help="Days of history to generate (default: settings, 181; the demo needs at least 181).")
@click.option("--customers", type=int, default=None, help="Customers in the simulated world (default: settings, 6000).")
@click.pass_obj
def demo(settings: Settings, days: int | None, customers: int | None) -> None:
    """Run the whole system on generated data: the README's main command."""
    from lakehouse.app.demo import run_demo

    run_demo(settings, _generator_config(settings, customers=customers), days or settings.generator.days)


def _generator_config(settings: Settings, **overrides: Any) -> Any:
    """The generator's configuration: settings.generator with the non-None overrides applied."""
    from lakehouse.local.datagen import GeneratorConfig

    values = settings.generator.model_dump(exclude={"days"})
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return GeneratorConfig(**values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """Show the tables with row counts, Delta versions and latest dates."""
    from lakehouse.app.status import status_table, table_status
    from lakehouse.core.engine import spark_session
    from lakehouse.core.storage import TableStore

    with spark_session(settings) as spark:
        store = TableStore(spark, settings)
        store.register_all()
        rows = table_status(store)
    view = status_table(f"{settings.catalog}.{settings.schema_name} ({settings.env}, {settings.engine})", rows)
    console.print(view if rows else f"no tables yet under {settings.storage_root}")


def _register_commands() -> None:
    """Commands that live with the job they run (jobs, quality/, ml/)."""
    from lakehouse.app.drift_cli import drift
    from lakehouse.app.feature_store_cli import features
    from lakehouse.app.jobs_cli import bundle, job
    from lakehouse.app.ml_cli import mlflow_ui, score, train
    from lakehouse.app.quality_cli import quality
    from lakehouse.app.ui.cli import ui

    for command in (job, bundle, features, quality, drift, train, score, mlflow_ui, ui):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":
    main()
