"""What the project's pipelines and tools need to know about landing files, besides the contract itself.

Bronze ingests with Auto Loader (`spark.readStream.format("cloudFiles")`, dlt/offline_features/bronze.py); locally
that is the DLT runtime's file ingestion (lakehouse/local/dlt_runtime/auto_loader.py). Here: the pipeline configuration
keys, the drop date of a landing file (the date of its folder, `<source>/<YYYY-MM-DD>/<file>`: bronze is partitioned
by it, so reading one day's drop does not scan the whole history) and the feature dates an update must recompute.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from lakehouse.core.source_contract import DROP_DATE, DROP_DATE_PATTERN, SOURCES, contract_ddl, drop_date_column

__all__ = ["DROP_DATE", "LANDING_PATH_CONF", "LATE_DAYS_CONF", "SOURCES", "DateWindow", "contract_ddl", "drop_date",
           "drop_date_column", "on_databricks", "recompute_window"]

LANDING_PATH_CONF = "lakehouse.landing_path"
LATE_DAYS_CONF = "lakehouse.late_arrival_days"  # pipeline configuration (bundle): how late a record may arrive


def on_databricks() -> bool:
    return bool(os.environ.get("DATABRICKS_RUNTIME_VERSION"))


def drop_date(path: str) -> date | None:
    """The date of the landing folder a file is in (locally computed once per file)."""
    found = re.search(DROP_DATE_PATTERN, path)
    try:
        return date.fromisoformat(found.group(1)) if found else None
    except ValueError:  # e.g. 2026-13-45
        return None


@dataclass(frozen=True)
class DateWindow:
    """The feature dates an update recomputes, [start, end]; `empty` when no new drop arrived (nothing changed)."""

    start: date
    end: date
    empty: bool = False


def recompute_window(spark: Any, late_days: int) -> DateWindow | None:
    """The dates a partition-replacing dataset function must recompute; None: every date.

    From the data the pipeline ingested, not from a run date: the drop dates (`_drop_date`, the landing folder's
    day) of the files ingested since the running flow last committed, i.e. this update's files plus those of
    updates that failed before reaching the flow, from the earliest of them minus `late_days` (records arrive up to
    that late, and a feature row depends only on data up to the end of its date) through the latest drop ingested.

    None on Databricks: there the dataset is a materialized view that the pipeline refreshes as a whole ("materialized
    views guarantee equivalent results to batch queries", incrementally or not:
    https://docs.databricks.com/aws/en/ldp/incremental-refresh), so the function must return every date; the local
    runtime instead replaces the
    partitions the function returns (`lakehouse.write: replace_partitions`, lakehouse/local/dlt_runtime/writers.py), and
    both hold the same rows. None too while the graph is being resolved (the plan is never run) and for a full
    refresh of the dataset, which rebuilds it from every date.
    """
    if on_databricks():
        return None
    from lakehouse.local.dlt_runtime import context
    from lakehouse.local.dlt_runtime.checkpoints import CheckpointStore
    from lakehouse.local.dlt_runtime.reads import ExecutionReader
    from lakehouse.local.ingest.files import STATE_FILE, IngestLog

    reader = context.current_reader.get()
    if not isinstance(reader, ExecutionReader) or reader.full_refresh:
        return None
    caught_up = CheckpointStore(reader.state_dir / "checkpoints").committed_at(reader.flow.name)
    logs = [IngestLog(state.parent) for state in (reader.state_dir / "sources").rglob(STATE_FILE)]
    new = {d for log in logs for d in map(drop_date, log.ingested_after(caught_up)) if d is not None}
    latest = max((d for log in logs for d in map(drop_date, log.ingested()) if d is not None), default=None)
    if latest is None:
        return None
    if not new:
        return DateWindow(latest, latest, empty=True)
    return DateWindow(min(new) - timedelta(days=late_days), latest)
