"""Backfill a range of data days: every job runs when its schedule would have fired, in firing order.

A scheduled run at time T processes the data of the day before T (the daily job at 05:00 processes
yesterday's drops; the monthly drift job on the 2nd analyses the month complete by then). So for the
data days first..last the schedules are evaluated on first+1..last+1, and each firing runs its job for
data day = firing day - 1. Paused schedules still count: pausing stops the cloud scheduler, not history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable

from lakehouse.core.settings import Settings
from lakehouse.local.jobs.runner import JobRun, RunOptions, run_job
from lakehouse.local.jobs.schedule import fire_times
from lakehouse.local.jobs.spec import JobSpec


@dataclass(frozen=True)
class Firing:
    job: JobSpec
    run_date: date  # the data day the run processes


def plan(jobs: Iterable[JobSpec], first: date, last: date) -> list[Firing]:
    """The job runs a production schedule would have made for data days first..last, in time order."""
    timed = []
    for job in jobs:
        if job.schedule is None:
            continue
        for moment in fire_times(job.schedule, first + timedelta(days=1), last + timedelta(days=1)):
            timed.append((moment, job.key, Firing(job, moment.date() - timedelta(days=1))))
    return [firing for _, _, firing in sorted(timed, key=lambda item: (item[0], item[1]))]


def backfill(spark: Any, settings: Settings, jobs: Iterable[JobSpec], first: date, last: date,
             options: RunOptions | None = None) -> list[JobRun]:
    """Run the plan; with resume (the default) a repeated backfill only redoes what did not succeed."""
    options = options or RunOptions()
    runs = []
    for firing in plan(jobs, first, last):
        if options.console is not None:
            options.console.rule(f"{firing.job.key} for {firing.run_date}")
        runs.append(run_job(spark, settings, firing.job, firing.run_date, options))
    return runs
