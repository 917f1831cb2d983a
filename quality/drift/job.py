"""The monthly drift job: the ARDS of one month against a reference window, with Evidently.

    result = detect_drift(spark, settings, date(2026, 6, 1))
    if result.retrain_recommended: ...   # orchestration triggers training

Spark work: one aggregate per window (rows per date and non-null values per column: coverage), one sampled
read per window (quality.drift.sample), and, when the scoring job has written predictions, the same for
the scores plus one join with silver_churn for the matured labels. Evidently runs on the samples in memory.
Outputs: the `drift_history` table (one row per column per month, replaced on rerun) and report.html +
summary.json (+ predictions.html) under `drift/<yyyy>/<mm>/` in Blob (quality.publish).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from importlib.metadata import version
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.core.job_settings import DriftSettings
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from ml.features.definitions import ENTITY_KEY, FEATURE_NAMES, TIMESERIES_KEY
from quality.drift import predictions
from quality.drift.history import record
from quality.drift.html import render_html
from quality.drift.report import CAT, NUM, ColumnDrift, read_results, run_report
from quality.drift.result import DriftResult
from quality.drift.sample import STRATEGY, sample_rows
from quality.drift.windows import (
    CHAMPION,
    Coverage,
    DriftInputError,
    Window,
    champion_window,
    coverage,
    last_complete_month,
    month_window,
    previous_month,
    required_completeness,
)
from quality.publish import Publisher, PublishError, report_folder
from quality.validation import ReportNotPublished

REPORT_KIND = "drift"
KEYS = [ENTITY_KEY, TIMESERIES_KEY]


def detect_drift(spark: Any, settings: Settings, month: date | None = None, config: DriftSettings | None = None,
                 publisher: Publisher | None = None) -> DriftResult:
    """Compare `month` (default: the last month complete on the run date) with the reference window,
    record the history and publish the report; raises DriftInputError, ReportNotPublished."""
    started, clock = datetime.now(timezone.utc), time.monotonic()
    cfg = config or settings.drift
    store = TableStore(spark, settings)
    if not store.exists(cfg.table):
        raise DriftInputError(f"table {store.name(cfg.table)} does not exist: run the offline_features pipeline first")
    frame = store.read(cfg.table)
    current_window = month_window(month or last_complete_month(settings.effective_run_date))
    columns = [c for c in (cfg.columns or FEATURE_NAMES) if c not in cfg.exclude_columns]
    warnings: list[str] = []
    complete = required_completeness(frame, cfg, columns, store.name(cfg.table), warnings)
    current = current_coverage(frame, current_window, columns, cfg, store.name(cfg.table), warnings, complete)
    reference = reference_coverage(frame, settings, cfg, current_window, columns, warnings, complete)

    types = {f.name: CAT if f.dataType.simpleString() in ("string", "boolean") else NUM
             for f in frame.schema.fields if f.name in columns}
    unusable = unusable_columns(columns, types, current, reference, warnings)
    usable = {c: t for c, t in types.items() if c not in {u.column for u in unusable}}
    if not usable:
        raise DriftInputError(f"no column of {columns} has values in both windows: nothing to compare")
    samples = [sample_rows(frame.where(cov.window.where()), list(usable), KEYS, cfg.sample_rows, cfg.seed, cov.rows)
               for cov in (current, reference)]
    snapshot = run_report(samples[0].frame, samples[1].frame, usable, cfg)
    comparison = read_results(snapshot, usable)
    features = [replace(c, null_share_reference=reference.null_share(c.column), null_share_current=current.null_share(c.column))
                for c in comparison.columns]
    vanished = sum(u.drifted for u in unusable)
    evaluated = len(features) + vanished
    result = DriftResult(
        run_id=str(uuid.uuid4()), month=current_window.start, env=settings.env, started_at=started,
        current=current.describe(), reference=reference.describe(),
        sampling={"strategy": STRATEGY, "seed": cfg.seed, "sample_rows": cfg.sample_rows,
                  "current": samples[0].describe(), "reference": samples[1].describe()},
        columns=features + unusable, drifted_count=comparison.drifted_count + vanished,
        drifted_share=(comparison.drifted_count + vanished) / evaluated, drift_share_threshold=cfg.drift_share,
        warnings=warnings, settings=cfg.model_dump(), evidently_version=version("evidently"),
    )
    extra = model_checks(store, settings, cfg, result, current_window, reference.window, frame)
    result.retrain_reasons = retrain_reasons(result)
    if result.drifted_columns and not result.dataset_drift:
        warnings.append(f"column(s) {result.drifted_columns} drifted, below the dataset-drift share "
                        f"{cfg.drift_share:g}: watch them")
    record(store, result)
    result.duration_s = time.monotonic() - clock
    publish(result, snapshot.get_html_str(as_iframe=False), extra, publisher or Publisher(settings))
    return result


def current_coverage(frame: DataFrame, window: Window, columns: list[str], cfg: DriftSettings, table: str,
                     warnings: list[str], complete: str | None = None) -> Coverage:
    """The month's coverage (rows with `complete` true only, when given); refuses an empty month or one with too
    few days, warns about missing days and days left out as incomplete."""
    found = coverage(frame, window, columns, complete)
    left_out = found.incomplete_warnings()
    if not found.rows:
        raise DriftInputError(f"{table} has no rows for {window.start:%Y-%m} ({window.start}..{window.end})"
                              + (f" with complete windows: {left_out[0]} (drift.incomplete_windows=include compares "
                                 "them)" if left_out else ": run the offline_features pipeline for that month first"))
    share = len(found.dates) / window.days
    missing = found.describe()["missing_days"]
    if share < cfg.min_day_coverage:
        raise DriftInputError(f"{table} holds only {len(found.dates)} of {window.days} days of {window.start:%Y-%m} "
                              f"(missing {', '.join(missing)}){'; ' + left_out[0] if left_out else ''}; "
                              f"at least {cfg.min_day_coverage:.0%} are needed")
    warnings.extend(left_out)
    if missing:
        warnings.append(f"partial month: {table} has no rows for {', '.join(missing)} "
                        f"({len(found.dates)} of {window.days} days compared)")
    return found


def reference_coverage(frame: DataFrame, settings: Settings, cfg: DriftSettings, month: Window, columns: list[str],
                       warnings: list[str], complete: str | None = None) -> Coverage:
    """The reference window's coverage (rows with `complete` true only, when given): the champion's window, else
    the previous month (with a warning)."""
    window, why = None, "configured (drift.reference)"
    if cfg.reference == "champion":
        window, why = champion_window(settings, month.start)
    found = coverage(frame, window, columns, complete) if window is not None else None
    if found is not None and not found.rows:
        why = (f"the {CHAMPION} {found.window.start}..{found.window.end} has no rows"
               + (f" with complete windows ({len(found.incomplete)} day(s) left out)" if found.incomplete else ""))
        found = None
    if found is None:
        if cfg.reference == "champion":
            warnings.append(f"reference is the previous month: {why}")
        found = coverage(frame, previous_month(month, why), columns, complete)
    if not found.rows:
        raise DriftInputError(f"the reference window {found.window.start}..{found.window.end} ({found.window.source}) "
                              f"has no rows{' with complete windows' if found.incomplete else ''}: nothing to compare "
                              "the month with" + (f" ({found.incomplete_warnings()[0]})" if found.incomplete else ""))
    warnings.extend(found.incomplete_warnings())
    missing = found.describe()["missing_days"]
    if missing:
        warnings.append(f"partial reference: no rows for {', '.join(missing)}")
    return found


def unusable_columns(columns: list[str], types: dict[str, str], current: Coverage, reference: Coverage,
                     warnings: list[str]) -> list[ColumnDrift]:
    """Columns that cannot be compared, each with a warning; one that vanished from the month counts as drifted."""
    out = []
    for column in columns:
        if column not in types:
            status = "missing_in_table"
        elif not current.non_null[column] and reference.non_null[column]:
            status = "missing_in_current"
        elif not reference.non_null[column]:
            status = "missing_in_reference"
        else:
            continue
        drifted = status == "missing_in_current"
        out.append(ColumnDrift(column, types.get(column, ""), None, None, None, drifted, status,
                               reference.null_share(column), current.null_share(column)))
        effect = "counted as drifted" if drifted else "not compared"
        warnings.append(f"column {column}: {status.replace('_', ' ')} ({effect})")
    return out


def model_checks(store: TableStore, settings: Settings, cfg: DriftSettings, result: DriftResult, month: Window,
                 reference: Window, frame: DataFrame) -> dict[str, bytes]:
    """Prediction drift and performance into `result`; returns the prediction report's file, if any."""
    if not store.exists(cfg.predictions_table):
        return {}  # no scoring job yet: nothing to say about the model
    drift, why = predictions.prediction_drift(store, cfg, month, reference)
    files = {}
    if drift is not None:
        result.columns.append(drift[0])
        files["predictions.html"] = drift[1].get_html_str(as_iframe=False).encode()
    data_through = frame.agg(F.max(TIMESERIES_KEY)).collect()[0][0]  # a global aggregate: one row
    result.performance, why_not = predictions.performance(store, settings, cfg, month, data_through)
    result.warnings += [w for w in (why, why_not) if w]
    return files


def retrain_reasons(result: DriftResult) -> list[str]:
    """Why retraining is recommended (empty: it is not)."""
    reasons = []
    if result.dataset_drift:
        reasons.append(f"dataset drift: {result.drifted_count} of {result.number_of_columns} "
                       f"feature columns drifted (share {result.drifted_share:.3f} >= {result.drift_share_threshold:g}): "
                       f"{', '.join(result.drifted_columns)}")
    score = result.prediction
    if score is not None and score.drifted:
        reasons.append(f"prediction drift: {score.method} {score.score:.4f} >= {score.threshold}")
    performance = result.performance or {}
    below = performance.get("below_minimums") or {}
    if below:
        reasons.append("performance below the promotion gate's minimums: "
                       + ", ".join(f"{m} {performance[m]:.4f} < {t}" for m, t in below.items()))
    return reasons


def publish(result: DriftResult, evidently_html: str, extra: dict[str, bytes], publisher: Publisher) -> None:
    """report.html (summary + Evidently), summary.json and any extra files; sets `result.published`."""
    files = {"report.html": render_html(result, evidently_html).encode(), "summary.json": result.to_json().encode(), **extra}
    metadata = {"run_id": result.run_id, "month": f"{result.month:%Y-%m}", "kind": REPORT_KIND,
                "dataset_drift": str(result.dataset_drift).lower(),
                "retrain_recommended": str(result.retrain_recommended).lower()}
    try:
        result.published = publisher.publish(report_folder(REPORT_KIND, result.month, monthly=True), files, metadata)
    except PublishError as exc:
        signal = "retraining recommended" if result.retrain_recommended else "no retraining needed"
        raise ReportNotPublished(f"drift of {result.month:%Y-%m}: {signal}, but {exc}", result) from None
