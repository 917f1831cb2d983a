"""The run date's DLT expectation metrics, read from the pipeline event log, and the checks on them.

The update that processed a run date is the latest one whose configuration names that date as
`lakehouse.feature_end_date` (what `lakehouse pipeline run --date` and the daily job set). Its
`flow_progress` events carry `data_quality.expectations` (passed/failed per rule) and
`dropped_records`, summed here per dataset and rule. The log is small (a few dozen events per
update), so it is read with two small queries and parsed in Python.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field
from pyspark.sql import functions as F

from lakehouse.dlt_runtime.event_log import table_name
from lakehouse.pipelines import END_CONF
from lakehouse.storage import TableStore
from quality.checks import Declared
from quality.results import CheckResult, ExpectationMetric, ExpectationSummary


def read_summary(store: TableStore, pipeline: str, run_date: date) -> ExpectationSummary:
    """The expectation metrics of the run date's update; `update_id` None when there is none."""
    log_table = table_name(pipeline)
    if not store.exists(log_table):
        return ExpectationSummary(pipeline, None, None)
    log = store.read(log_table)
    starts = log.where("event_type = 'create_update'").select("origin.update_id", "timestamp", "details").collect()
    matching = [
        (row["timestamp"], row["update_id"])
        for row in starts
        if json.loads(row["details"])["create_update"].get("config", {}).get(END_CONF) == run_date.isoformat()
    ]
    if not matching:
        return ExpectationSummary(pipeline, None, None)
    started_at, update_id = max(matching)
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
    return ExpectationSummary(pipeline, update_id, state, started_at, metrics, dict(dropped))


class PipelineUpdate(Declared):
    """The run date's update exists and completed."""

    type: Literal["pipeline_update"]
    category: ClassVar[str] = "expectations"

    def judge_log(self, summary: ExpectationSummary, run_date: date) -> CheckResult:
        table = table_name(summary.pipeline)
        if summary.update_id is None:
            return self.result(table, False, None, "COMPLETED",
                               f"no update of pipeline {summary.pipeline} for {run_date} in the event log")
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
