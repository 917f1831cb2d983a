"""The README's main command: the system on generated data, as a first deployment would run it.

Generates the default history (skipped when the same drops are already there), then drives the
bundle's jobs through the local runner exactly as Databricks would run them: the daily job once over
all but the last days with a full refresh of the pipelines (a first deployment: features, data
quality, the first model trained and promoted, scores), then the daily job for each of the last
days, then the monthly drift job for the last complete month; and says where to look.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from lakehouse.azurite import local_blob
from lakehouse.datagen import GeneratorConfig, generate_range
from lakehouse.datagen.schema import manifest_path
from lakehouse.engine import spark_session
from lakehouse.errors import LakehouseError
from lakehouse.jobs.runner import JobRun, RunOptions, run_job
from lakehouse.jobs.spec import JobSpec, bundle_jobs
from lakehouse.progress import console, progress_bar
from lakehouse.settings import Settings
from lakehouse.status import status_table, table_status
from lakehouse.storage import TableStore, ensure_writable

DAILY_DAYS = 7
DAILY_JOB, MONTHLY_JOB = "churn_daily", "churn_drift"


def _already_generated(config: GeneratorConfig, settings: Settings, last: date) -> bool:
    path = settings.landing / manifest_path(last)
    return path.exists() and json.loads(path.read_text()).get("config") == config.to_dict()


def generate_history(settings: Settings, config: GeneratorConfig, first: date, last: date) -> bool:
    """Write the drops of first..last unless exactly these drops are already there; True when written."""
    if _already_generated(config, settings, last):
        console.print(f"source data for {first}..{last} already in {settings.landing}")
        return False
    ensure_writable(settings.landing, "landing path")
    with progress_bar("generating source data", (last - first).days + 1) as advance:
        generate_range(config, settings.landing, first, last, progress=lambda d: advance(str(d)))
    return True


def _run(spark: Any, settings: Settings, job: JobSpec, day: date, options: RunOptions) -> JobRun:
    console.rule(f"{job.key} for {day}{' (full refresh)' if options.full_refresh else ''}")
    run = run_job(spark, settings, job, day, options)
    if not run.leaves_ok(job):
        raise LakehouseError(f"job {job.key} for {day} failed: {'; '.join(run.failures()) or run.status}")
    return run


def run_demo(settings: Settings, config: GeneratorConfig, days: int) -> None:
    """Generate `days` of data, a first deployment up to the last DAILY_DAYS, then one daily run per day."""
    first = config.world_start
    last = first + timedelta(days=days - 1)
    first_deployment = last - timedelta(days=DAILY_DAYS)
    fresh = generate_history(settings, config, first, last)
    jobs = bundle_jobs()
    options = RunOptions(resume=not fresh, console=console)  # a rerun on the same data only redoes what failed
    with local_blob(settings) as settings, spark_session(settings) as spark:
        _run(spark, settings, jobs[DAILY_JOB], first_deployment, replace(options, full_refresh=True))
        for offset in range(DAILY_DAYS - 1, -1, -1):
            _run(spark, settings, jobs[DAILY_JOB], last - timedelta(days=offset), options)
        drift = _run(spark, settings, jobs[MONTHLY_JOB], last, options)
        rows = table_status(TableStore(spark, settings))
    console.rule("done")
    console.print(status_table(f"{settings.catalog}.{settings.schema_name}", rows))
    signal = drift.tasks["drift"].values.get("retrain", "?")
    console.print(
        f"\ntables: {settings.storage_root}\nlanding files: {settings.landing}\n"
        f"reports (data quality daily, drift monthly; retraining signal: {signal}): "
        f"container {settings.blob.container}, see `.venv/bin/lakehouse quality azurite`\n"
        "pipeline graphs, expectation dashboards, job runs, models: .venv/bin/lakehouse ui   "
        "(then http://127.0.0.1:8050)\n"
        "job runs: .venv/bin/lakehouse job history\n"
        "models and runs: .venv/bin/lakehouse mlflow-ui   (then http://127.0.0.1:5000)\n"
        "tables: .venv/bin/lakehouse status"
    )
