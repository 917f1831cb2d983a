"""The results table `data_quality_results`: every check of every run date, kept as history.

One row per (run_date, table, check), partitioned by run_date; a rerun of a day replaces exactly
that day (replaceWhere). Volume and distribution checks read their own metric of the trailing
days back from here, so they never re-read earlier data. Dashboards query it like any table.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

from pyspark.sql import functions as F

from lakehouse.core.storage import TableStore
from quality.checks import Point
from quality.results import Result

RESULTS_TABLE = "data_quality_results"
SCHEMA = (
    "run_id string, run_date date, env string, table_name string, check_name string, category string, "
    "severity string, outcome string, level string, metric double, threshold string, message string, "
    "details string, validated_at timestamp"
)
TRENDED = ("volume", "distribution")  # categories judged against their own history


def read_history(store: TableStore, run_date: date, days: int,
                 update_checks: tuple[str, ...] = ()) -> dict[tuple[str, str], list[Point]]:
    """Metrics of the trended checks over the `days` before `run_date`, per (table, check), oldest first.

    `update_checks`: ids of the checks that the day's pipeline update completed. A day on which one failed is left
    out: its tables held a failed update's partial state (bronze with the rejected delivery, silver with the day
    before), which describes no real delivery and would skew every later volume and distribution judgement."""
    if not store.exists(RESULTS_TABLE):
        return {}
    window = store.read(RESULTS_TABLE).where(
        F.col("run_date").between(run_date - timedelta(days=days), run_date - timedelta(days=1)))
    if update_checks:
        failed = window.where(F.col("check_name").isin(*update_checks) & (F.col("outcome") == "failed"))
        window = window.join(failed.select("run_date").distinct(), "run_date", "left_anti")
    rows = (
        window.where(F.col("category").isin(*TRENDED))
        .select("table_name", "check_name", "run_date", "metric", "details")
        .orderBy("run_date")
        .collect()
    )
    history: dict[tuple[str, str], list[Point]] = defaultdict(list)
    for r in rows:
        history[(r["table_name"], r["check_name"])].append(Point(r["run_date"], r["metric"], json.loads(r["details"])))
    return dict(history)


def record(store: TableStore, result: Result) -> int:
    """Write the run's check results as the run date's rows; returns the table version."""
    now = datetime.now(timezone.utc)
    rows = [
        (result.run_id, result.run_date, result.env, c.table, c.name, c.category, c.severity, c.outcome, c.level,
         None if c.metric is None else float(c.metric), c.threshold, c.message, json.dumps(c.details, default=str), now)
        for c in result.checks
    ]
    frame = store.spark.createDataFrame(rows, SCHEMA)
    if not store.exists(RESULTS_TABLE):
        return store.overwrite(frame, RESULTS_TABLE, partition_by=["run_date"])
    return store.replace_where(frame, RESULTS_TABLE, f"run_date = DATE '{result.run_date.isoformat()}'", ["run_date"])
