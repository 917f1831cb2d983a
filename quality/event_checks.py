"""The DLT expectation metrics of the current job run's pipeline update, read from the pipeline event log.

The gate judges the update the job run's pipeline task started, found by what both sides have: the event log
the pipeline publishes (`event_log_<pipeline>` in the target schema, the bundle's `event_log` block) and the
job run's start time, which the data_quality task receives as `{{job.start_time.iso_datetime}}`. The update is
the latest one whose `create_update` event is not earlier than that start; an update of an earlier run never
counts, and when the pipeline task ran twice (a retry) the latest decides. Outside a job (`lakehouse quality
validate`, no start time) the pipeline's latest update counts. No configuration key of the update is read:
Databricks updates carry only what the pipeline's own configuration says.

Its `flow_progress` events carry `data_quality.expectations` (passed/failed per rule) and `dropped_records`,
summed here per dataset and rule. Event fields are those of Databricks' event log schema
(https://docs.databricks.com/aws/en/ldp/monitor-event-log-schema: `origin.update_id`, `event_type`,
`timestamp`, `details` as a JSON string), which the local runtime writes too (lakehouse/local/dlt_runtime/event_log.py).
The log is small (a few dozen events per update), so it is read with two small queries and parsed in Python.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field
from pyspark.sql import functions as F

from lakehouse.core.storage import TableStore
from lakehouse.platform.event_log import table_name
from quality.checks import Declared
from quality.results import CheckResult, ExpectationMetric, ExpectationSummary


def read_summary(store: TableStore, pipeline: str, since: datetime | None = None) -> ExpectationSummary:
    """The expectation metrics of the latest update started at or after `since` (the job run's start; None: the
    latest update of all); `update_id` None when there is none."""
    log_table = table_name(pipeline)
    if not store.exists(log_table):
        return ExpectationSummary(pipeline, None, None, since=since)
    log = store.read(log_table)
    starts = log.where("event_type = 'create_update'")
    if since is not None:  # compared in the engine: an aware datetime literal is an instant, whatever the session zone
        starts = starts.where(F.col("timestamp") >= F.lit(since))
    latest = starts.orderBy(F.col("timestamp").desc()).select("origin.update_id", "timestamp").first()
    if latest is None:
        return ExpectationSummary(pipeline, None, None, since=since)
    started_at, update_id = latest["timestamp"], latest["update_id"]
    events = (
        log.where((F.col("origin.update_id") == update_id) & F.col("event_type").isin("flow_progress", "update_progress"))
        .select("timestamp", "event_type", F.col("origin.dataset_name").alias("dataset"), "details")
        .orderBy("timestamp")
        .collect()
    )
    state = None
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    dropped: dict[str, int] = defaultdict(int)
    for event in events:
        details = json.loads(event["details"])
        if event["event_type"] == "update_progress":
            state = details["update_progress"]["state"]
            continue
        quality = details["flow_progress"].get("data_quality")
        if quality:
            dropped[event["dataset"]] += quality.get("dropped_records", 0)
            for e in quality.get("expectations", []):
                counts[(e["dataset"], e["name"])][0] += e["passed_records"]
                counts[(e["dataset"], e["name"])][1] += e["failed_records"]
    metrics = tuple(ExpectationMetric(d, n, p, f) for (d, n), (p, f) in counts.items())
    return ExpectationSummary(pipeline, update_id, state, started_at, metrics, dict(dropped), since)


class PipelineUpdate(Declared):
    """The current job run's update exists and completed."""

    type: Literal["pipeline_update"]
    category: ClassVar[str] = "expectations"

    def judge_log(self, summary: ExpectationSummary, run_date: date) -> CheckResult:
        table = table_name(summary.pipeline)
        if summary.update_id is None:
            when = f"started since {summary.since.isoformat()}" if summary.since else "at all"
            return self.result(table, False, None, "COMPLETED",
                               f"no update of pipeline {summary.pipeline} {when} in the event log (data of {run_date})")
        return self.result(table, summary.state == "COMPLETED", None, "COMPLETED",
                           f"update {summary.update_id} is {summary.state}")


class Expectations(Declared):
    """No expectation of the update failed more than `max_rate` of its records."""

    type: Literal["expectations"]
    category: ClassVar[str] = "expectations"
    max_rate: float = Field(ge=0, le=1)

    def judge_log(self, summary: ExpectationSummary, run_date: date) -> CheckResult:
        table = table_name(summary.pipeline)
        threshold = f"<= {self.max_rate:.2%} per expectation"
        if summary.update_id is None or not summary.expectations:
            return self.result(table, None, None, threshold, f"no expectation metrics for {run_date}")
        over = sorted((e for e in summary.expectations if e.failed_rate > self.max_rate), key=lambda e: -e.failed_rate)
        worst = max(e.failed_rate for e in summary.expectations)
        message = (
            "; ".join(f"{e.dataset}.{e.name} failed {e.failed_records:,} records ({e.failed_rate:.2%})" for e in over)
            or f"{len(summary.expectations)} expectations, worst failure rate {worst:.2%}"
        )
        return self.result(table, not over, worst, threshold, message,
                           {"over": [f"{e.dataset}.{e.name}" for e in over]})


LogCheck = Annotated[Union[PipelineUpdate, Expectations], Field(discriminator="type")]
