"""The daily data-quality job: validate the run date's slice of every source-aligned table, keep the results,
publish the report, and return the status the daily DAG gates on.

    result = validate(spark, settings, date(2026, 1, 12))
    if not result.gate_passed: ...   # skip training and scoring for that day

Spark work per table: the schema (metadata only), ONE aggregate pass (`lakehouse.core.rules.count_rules`: the
failing rows of every rule-based check plus the other checks' aggregates), a narrow key-column query per
uniqueness or referential check (see quality.checks) and, only for a check that failed, a small query for
sample rows. Around that: one read of the trailing history from the results table and two small
event-log queries. The report goes to `data-quality/<yyyy>/<mm>/<dd>/report.html`
and `report.json` (quality.publish).
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any, Generic, TypeVar

from pyspark.sql import DataFrame

from lakehouse.core.errors import LakehouseError
from lakehouse.core.rules import count_rules
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from quality.checks import Check, Observed, Point, TableContext
from quality.config import QualityConfig, TableSpec, load_config
from quality.event_checks import PipelineUpdate, read_summary
from quality.history import read_history, record
from quality.publish import Publisher, PublishError, report_folder
from quality.report_html import render_html
from quality.results import CheckResult, Result

REPORT_KIND = "data-quality"
MAX_TEXT = 500


StoredResult = TypeVar("StoredResult")


class ReportNotPublished(LakehouseError, Generic[StoredResult]):
    """Validation (or the drift job) ran and its results are stored, but the report could not be published (it is
    kept pending).

    `result` (a Result, or the drift job's DriftResult) still carries the status, so an orchestrator can tell a data
    problem from a publishing one.
    """

    def __init__(self, message: str, result: StoredResult) -> None:
        super().__init__(message)
        self.result = result


def validate(spark: Any, settings: Settings, run_date: date, config: QualityConfig | None = None,
             publisher: Publisher | None = None, job_started: datetime | None = None) -> Result:
    """Run every check for `run_date`, record the results, publish the report; raises ReportNotPublished.

    `job_started`: when the job run began (the daily job passes it); the event-log checks then judge the pipeline
    update started in that run, never an earlier run's. Without it (the CLI) they judge the latest update."""
    started, clock = datetime.now(timezone.utc), time.monotonic()
    config = config or load_config(settings.env)
    store = TableStore(spark, settings)
    log_checks = config.event_log.checks if config.event_log else []
    history = read_history(store, run_date, config.history.days,
                           tuple(c.id for c in log_checks if isinstance(c, PipelineUpdate)))
    checks: list[CheckResult] = []
    rows: dict[str, int | None] = {}
    for spec in config.tables:
        found, rows[spec.table] = check_table(store, spec, run_date, config, history)
        checks += found
    summary = None
    if config.event_log is not None:
        summary = read_summary(store, config.event_log.pipeline, job_started)
        checks += [check.judge_log(summary, run_date) for check in config.event_log.checks]
    result = Result(str(uuid.uuid4()), run_date, settings.env, started, config.fail_on, checks, rows, summary)
    record(store, result)
    result.duration_s = time.monotonic() - clock
    publish(result, publisher or Publisher(settings))
    return result


def publish(result: Result, publisher: Publisher) -> None:
    """Publish the run's HTML and JSON report; sets `result.published`."""
    files = {"report.html": render_html(result).encode(), "report.json": result.to_json().encode()}
    metadata = {"run_id": result.run_id, "run_date": result.run_date.isoformat(), "status": result.status,
                "gate_passed": str(result.gate_passed).lower(), "kind": REPORT_KIND}
    try:
        result.published = publisher.publish(report_folder(REPORT_KIND, result.run_date), files, metadata)
    except PublishError as exc:
        raise ReportNotPublished(f"data quality of {result.run_date} is {result.status}, but {exc}", result) from None


def check_table(store: TableStore, spec: TableSpec, run_date: date, config: QualityConfig,
                history: dict[tuple[str, str], list[Point]]) -> tuple[list[CheckResult], int | None]:
    """All checks of one table on its slice of the run date, and the slice's row count (None: no table)."""
    ctx = TableContext(spec.table, spec.source, run_date, config.history)
    if not store.exists(spec.table):
        missing = CheckResult(spec.table, "table_exists", "schema", "error", "failed", None, "exists",
                              f"table {store.name(spec.table)} does not exist: nothing could be validated")
        return [missing], None
    frame = store.read(spec.table).where(ctx.sql(spec.slice))
    return check_frame(store, frame, spec.checks, ctx, history, config.sample_rows)


def check_frame(store: TableStore, frame: DataFrame, checks: list[Check], ctx: TableContext,
                history: dict[tuple[str, str], list[Point]], sample_rows: int) -> tuple[list[CheckResult], int]:
    """Judge `checks` on `frame` with one aggregate pass (plus the checks' own narrow queries and samples)."""
    columns = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    runnable = [c for c in checks if set(c.needs()) <= set(columns)]
    rules = {c.id: rule for c in runnable if (rule := c.rule(ctx)) is not None}
    extras = {f"{c.id}|{key}": column for c in runnable for key, column in c.extras(ctx).items()}
    report = count_rules(frame, rules, ctx.table, extras)
    results = []
    for check in checks:
        if check not in runnable:
            absent = sorted(set(check.needs()) - set(columns))
            results.append(check.result(ctx.table, False, None, "columns present", f"column(s) {absent} missing"))
            continue
        own = {key.split("|", 1)[1]: value for key, value in report.extras.items() if key.startswith(f"{check.id}|")}
        seen = Observed(
            total=report.total,
            failed=report.failed(check.id) if check.id in rules else 0,
            extras={**own, **check.measure(frame, store, ctx)},
            columns=columns,
            history=history.get((ctx.table, check.id), []),
        )
        verdict = check.judge(seen, ctx)
        if verdict.outcome == "failed" and sample_rows:
            verdict = replace(verdict, samples=samples(check, frame, store, ctx, sample_rows))
        results.append(verdict)
    return results, report.total


def samples(check: Check, frame: DataFrame, store: TableStore, ctx: TableContext, limit: int) -> list[dict[str, Any]]:
    """A few rows showing the failure, as JSON-safe values (long texts cut)."""
    failing = check.samples(frame, store, ctx)
    if failing is None:
        return []
    return [{k: _plain(v) for k, v in row.asDict(recursive=True).items()} for row in failing.limit(limit).collect()]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
