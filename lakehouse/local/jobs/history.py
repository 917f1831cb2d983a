"""The run history table `job_runs`: one row per task attempt, what resume and the UI read.

Columns: run_id, job, task, run_date, attempt, status, started_at, ended_at, duration_s, error,
task_values (JSON). Appended as each attempt ends, so a crash mid-job keeps the finished tasks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from pyspark.sql import Row
from pyspark.sql import types as T

from lakehouse.core.settings import validate_identifier
from lakehouse.core.storage import TableStore

TABLE = "job_runs"
SCHEMA = T.StructType([
    T.StructField("run_id", T.StringType()),
    T.StructField("job", T.StringType()),
    T.StructField("task", T.StringType()),
    T.StructField("run_date", T.DateType()),
    T.StructField("attempt", T.IntegerType()),
    T.StructField("status", T.StringType()),
    T.StructField("started_at", T.TimestampType()),
    T.StructField("ended_at", T.TimestampType()),
    T.StructField("duration_s", T.DoubleType()),
    T.StructField("error", T.StringType()),
    T.StructField("task_values", T.StringType()),
])


@dataclass
class TaskRun:
    run_id: str
    job: str
    task: str
    run_date: date
    attempt: int
    status: str
    started_at: datetime
    ended_at: datetime
    error: str | None = None
    values: dict[str, str] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


def record(store: TableStore, run: TaskRun) -> None:
    row = Row(run.run_id, run.job, run.task, run.run_date, run.attempt, run.status, run.started_at.replace(tzinfo=None),
              run.ended_at.replace(tzinfo=None), run.duration_s, run.error, json.dumps(run.values, sort_keys=True))
    store.append(store.spark.createDataFrame([row], SCHEMA), TABLE)


def succeeded_tasks(store: TableStore, job: str, run_date: date) -> dict[str, dict[str, str]]:
    """Tasks of `job` that succeeded for `run_date` in any earlier run, with the values they set."""
    validate_identifier(job, "job")  # refused even before the table exists: one behaviour for bad input
    if not store.exists(TABLE):
        return {}
    rows = (store.read(TABLE).where(f"job = '{job}' AND run_date = DATE'{run_date.isoformat()}' AND status = 'SUCCESS'")
            .select("task", "task_values", "ended_at").orderBy("ended_at").collect())
    return {r["task"]: json.loads(r["task_values"] or "{}") for r in rows}


def first_start(store: TableStore, job: str, run_date: date) -> datetime:
    """When the earliest successful task attempt of `job` for `run_date` started (UTC): the start of the run that a
    resumed run repairs. Only called when succeeded_tasks found some."""
    validate_identifier(job, "job")
    row = (store.read(TABLE).where(f"job = '{job}' AND run_date = DATE'{run_date.isoformat()}' AND status = 'SUCCESS'")
           .agg({"started_at": "min"}).first())
    return row[0].replace(tzinfo=timezone.utc)  # stored without a zone, in UTC (record)


def runs(store: TableStore, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest task attempts, newest first."""
    if job:
        validate_identifier(job, "job")  # refused even before the table exists: one behaviour for bad input
    if not store.exists(TABLE):
        return []
    frame = store.read(TABLE)
    if job:
        frame = frame.where(f"job = '{job}'")
    return [r.asDict() for r in frame.orderBy("started_at", ascending=False).limit(limit).collect()]
