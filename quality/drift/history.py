"""The `drift_history` table: one row per column per month, for trend dashboards and audits.

Partitioned by month (its first day); a rerun of a month replaces exactly that month (replaceWhere), so
the table always holds the latest verdict of every month. Rows carry the run's windows and signal, so a
row read alone says what it was compared with.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from lakehouse.core.storage import TableStore
from quality.drift.result import DriftResult

HISTORY_TABLE = "drift_history"
SCHEMA = (
    "month date, run_id string, env string, kind string, column_name string, column_type string, method string, "
    "threshold double, score double, drifted boolean, status string, null_share_reference double, "
    "null_share_current double, reference_start date, reference_end date, reference_source string, "
    "current_rows bigint, reference_rows bigint, dataset_drift boolean, drifted_share double, "
    "retrain_recommended boolean, detected_at timestamp"
)


def record(store: TableStore, result: DriftResult) -> int:
    """Write the month's rows (replacing a previous run of that month); returns the table version."""
    now = datetime.now(timezone.utc)
    ref, cur = result.reference, result.current
    rows = [
        (result.month, result.run_id, result.env, c.kind, c.column, c.column_type, c.method, c.threshold, c.score,
         c.drifted, c.status, c.null_share_reference, c.null_share_current, date.fromisoformat(ref["start"]), date.fromisoformat(ref["end"]), ref["source"],
         cur["rows"], ref["rows"], result.dataset_drift, result.drifted_share, result.retrain_recommended, now)
        for c in result.columns
    ]
    frame = store.spark.createDataFrame(rows, SCHEMA)
    if not store.exists(HISTORY_TABLE):
        return store.overwrite(frame, HISTORY_TABLE, partition_by=["month"])
    return store.replace_where(frame, HISTORY_TABLE, f"month = DATE '{result.month.isoformat()}'", ["month"])
