"""The README's main command: the system on generated data whose days have a life, as a first deployment runs it.

Generates the history (skipped when the same drops are already there) with the demo's story in it (`story`): a few
broken records every day, one day whose transactions arrive in US dollars, and a price and channel drift in the last
month. Then drives the bundle's jobs through the local runner exactly as Databricks would run them: the daily job once
with a full refresh of the pipelines (a first deployment: features, data quality, the first model trained and
promoted, scores), the monthly drift job for the month before the last (clean), the daily job for each of the last
days (the incident day's pipeline update fails on its fail rule, data quality closes the gate and training and scoring
are excluded; the next day the supplier's corrected file arrives,
the operator fully refreshes the affected tables and the daily job succeeds again), and the drift job for the last
month (drifted: retraining follows). A failure other than the staged one stops the demo; at the end it says what
happened and where to see each part (lakehouse.app.demo_summary).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from lakehouse.app.demo_story import story
from lakehouse.app.demo_summary import summarize
from lakehouse.app.progress import console, progress_bar
from lakehouse.core.catalogs import ensure_writable
from lakehouse.core.engine import spark_session
from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from lakehouse.local.azurite import local_blob
from lakehouse.local.datagen import GeneratorConfig, generate_range, incident
from lakehouse.local.datagen.schema import manifest_path
from lakehouse.local.jobs import conditions as cond
from lakehouse.local.jobs.history import TABLE as JOB_RUNS
from lakehouse.local.jobs.history import succeeded_tasks
from lakehouse.local.jobs.runner import JobRun, RunOptions, run_job
from lakehouse.local.jobs.spec import JobSpec, bundle_jobs
from lakehouse.local.pipelines import run_pipeline

DAILY_JOB, MONTHLY_JOB = "churn_daily", "churn_drift"
PIPELINE, FAILING_TASK = "offline_features", "offline_features"
# Every table the broken transactions reached or would have reached: refreshed from the landing files again once the
# broken file is retracted (README "Reprocessing a past day": a retracted file needs a full refresh of what read it).
RECOVERY_TABLES = ("bronze_transactions", "silver_transactions", "quarantine_transactions", "customer_daily", "ards")


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


def _run(spark: Any, settings: Settings, job: JobSpec, day: date, options: RunOptions, what: str = "") -> JobRun:
    console.rule(f"{job.key} for {day}{what}{' (full refresh)' if options.full_refresh else ''}")
    run = run_job(spark, settings, job, day, options)
    if not run.leaves_ok(job):
        raise LakehouseError(f"job {job.key} for {day} failed: {'; '.join(run.failures()) or run.status}")
    return run


# The incident day's run as staged (bundle/resources/daily.job.yml): data_quality runs after the failed update
# (run_if ALL_DONE) and closes the gate, which excludes training and scoring; the online features stay unbuilt.
INCIDENT_STATUS = {FAILING_TASK: cond.FAILED, "online_features": cond.UPSTREAM_FAILED, "data_quality": cond.SUCCESS,
                   "publish_features": cond.UPSTREAM_FAILED, "quality_gate": cond.SUCCESS, "train": cond.EXCLUDED,
                   "score": cond.EXCLUDED}


def _incident(spark: Any, settings: Settings, job: JobSpec, day: date, options: RunOptions, rerun: bool) -> None:
    """The incident day's run, which must go exactly as staged (INCIDENT_STATUS): the pipeline update fails on the fail
    rule, data quality reports it and closes the gate (`gate_passed` false, quality_gate false), training and scoring
    are excluded. On a rerun of the demo a failure already recorded stands (it is the story, not a fault)."""
    console.rule(f"{job.key} for {day}: the incident (transactions in {incident.CURRENCY})")
    if rerun and _failed_as_staged(TableStore(spark, settings), day):
        console.print(f"  the run of {day} already failed as staged; not repeated")
        return
    run = run_job(spark, settings, job, day, options)
    failed = run.tasks[FAILING_TASK]
    values = run.values
    if (run.status != INCIDENT_STATUS or incident.RULE not in (failed.error or "")
            or values["data_quality"].get("gate_passed") != "false" or values["quality_gate"] != {"outcome": "false"}):
        raise LakehouseError(f"the incident day {day} did not go as staged (the update failing on {incident.RULE}, "
                             f"the gate closed, training and scoring excluded): {run.status}; {values}; "
                             f"{'; '.join(run.failures())}")
    console.print(f"  [yellow]as staged:[/yellow] {FAILING_TASK} failed on expect_or_fail {incident.RULE}; "
                  "data quality reported the failed update and closed the gate; training and scoring excluded")


def _failed_as_staged(store: TableStore, day: date) -> bool:
    if not store.exists(JOB_RUNS):
        return False
    return store.read(JOB_RUNS).where(
        f"job = '{DAILY_JOB}' AND run_date = DATE'{day}' AND task = '{FAILING_TASK}' AND status = 'FAILED' "
        f"AND error LIKE '%{incident.RULE}%'").limit(1).count() > 0


def _recover(spark: Any, settings: Settings, job: JobSpec, day: date, fresh: bool) -> None:
    """The supplier's correction of `day`'s broken file, then the operator's full refresh of what read it, unless
    the next day's run already succeeded (a rerun of the demo)."""
    store = TableStore(spark, settings)
    if not fresh and FAILING_TASK in succeeded_tasks(store, job.key, day + timedelta(days=1)):
        return
    console.rule(f"recovery on {day + timedelta(days=1)}: the corrected file of {day}")
    incident.deliver_correction(settings.landing, day)
    console.print(f"  the broken file is retracted, the corrected one delivered; full refresh of "
                  f"{', '.join(RECOVERY_TABLES)}")
    result = run_pipeline(spark, settings, PIPELINE, day, full_refresh_selection=RECOVERY_TABLES, console=console)
    if not result.ok:
        raise LakehouseError(f"the recovery update {result.update_id} failed: {result.error}")


def run_demo(settings: Settings, config: GeneratorConfig, days: int) -> None:
    """Generate `days` of data with the demo's story, a first deployment, the daily runs and both drift months."""
    plan = story(config, days)
    fresh = generate_history(settings, plan.config, config.world_start, plan.last)
    jobs = bundle_jobs()
    daily, monthly = jobs[DAILY_JOB], jobs[MONTHLY_JOB]
    options = RunOptions(resume=not fresh, console=console)  # a rerun on the same data only redoes what failed
    with local_blob(settings) as settings, spark_session(settings) as spark:
        _run(spark, settings, daily, plan.first_deployment, replace(options, full_refresh=True))
        month_end = plan.drift_month - timedelta(days=1)
        _run(spark, settings, monthly, month_end, options, f" (drift of {plan.clean_month:%B})")
        for day in plan.daily:
            if day == plan.incident_day:
                _incident(spark, settings, daily, day, options, rerun=not fresh)
                continue
            if day == plan.recovery_day:
                _recover(spark, settings, daily, plan.incident_day, fresh)
            _run(spark, settings, daily, day, options)
        _run(spark, settings, monthly, plan.last, options, f" (drift of {plan.drift_month:%B})")
        lines = summarize(TableStore(spark, settings), settings, plan)
    console.rule("done")
    for line in lines:
        console.print(line)
