"""`create_auto_cdc_from_snapshot_flow`: successive snapshots of a source turned into changes for the change log.

Databricks compares each snapshot with the previous one and applies the difference as changes: keys new or with
other values are upserted, keys missing from the snapshot are deleted, all at the snapshot's version, as SCD type 1
or 2 (https://docs.databricks.com/aws/en/ldp/cdc, "How is CDC implemented with the AUTO CDC FROM SNAPSHOT API?";
https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-apply-changes-from-snapshot). The source is either
a dataset or table name, read once per update (one new snapshot per update), or a function
`next_snapshot_and_version(latest_version)` returning `(DataFrame, version)` or None, called until it returns None
so every pending snapshot is processed in ascending version order.

Locally the previous state is the change log's (change_log.py), so only changed rows are logged. A name source's
versions count updates from 0, as the docs' example table shows (`__START_AT` 0 then 1); unverified whether
Databricks numbers them so. The last processed version is kept next to the log and written after the target, so a
crash re-processes that snapshot, which then differs from the logged state in nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from functools import reduce
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime import change_log
from lakehouse.local.dlt_runtime.cdc import Applied
from lakehouse.local.dlt_runtime.errors import PipelineDefinitionError
from lakehouse.local.dlt_runtime.graph import ChangeSpec, Dataset


def apply(store: TableStore, table: str, spec: ChangeSpec, dataset: Dataset, read_source: Any, log_dir: Path,
          staging_dir: Path, reset: bool = False) -> Applied:
    """Apply every pending snapshot; `read_source()` reads a name source (a batch read of the dataset or table)."""
    marker = log_dir.parent / f"{log_dir.name}.version"
    if reset:
        shutil.rmtree(log_dir, ignore_errors=True)
        marker.unlink(missing_ok=True)
    last = int(marker.read_text()) if marker.exists() else None
    totals = Applied(None, 0, 0, 0)
    for frame, version in _pending(spec, read_source, last, dataset.name):
        stored = list(frame.columns)
        missing = [k for k in spec.keys if k not in stored]
        if missing:
            raise PipelineDefinitionError(
                f"auto CDC from snapshot into {dataset.name!r}: keys {missing} not in the snapshot")
        applied = change_log.log_and_rebuild(
            store, table, _changes(store.spark, frame, spec, stored, log_dir, version), spec, dataset, stored, log_dir,
            staging_dir, reset=reset and totals.version is None, rebuild_empty=True,
        )
        temporary = marker.with_suffix(".tmp")
        temporary.write_text(str(version))
        os.replace(temporary, marker)
        totals = Applied(applied.version, totals.source_rows + applied.source_rows,
                         totals.upserted + applied.upserted, totals.deleted + applied.deleted)
    return totals


def _pending(spec: ChangeSpec, read_source: Any, last: int | None, target: str) -> Iterator[tuple[Any, int]]:
    if isinstance(spec.source, str):
        yield read_source(), 0 if last is None else last + 1
        return
    while (found := spec.source(last)) is not None:
        frame, version = found
        if last is not None and version <= last:
            raise PipelineDefinitionError(
                f"auto CDC from snapshot into {target!r}: the source function returned version {version!r} after "
                f"{last!r}; versions must increase"
            )
        yield frame, version
        last = version


def _changes(spark: Any, frame: Any, spec: ChangeSpec, stored: list[str], log_dir: Path, version: int) -> Any:
    """The snapshot's difference from the logged state as change events at `version`."""
    columns = [F.col(f"`{c}`") for c in stored]
    snapshot = frame.select(*columns)
    sequence = F.lit(version).cast("bigint").alias(change_log.SEQUENCE)
    if not (log_dir / "_delta_log").is_dir():
        changes = snapshot.select(*columns, sequence, F.lit(False).alias(change_log.DELETE))
        return changes.withColumn(change_log.TRUNCATE, F.lit(False))
    live = change_log.current(change_log.logged(spark, log_dir), spec, stored).select(*columns)
    on = reduce(lambda acc, c: acc & c, [live[f"`{k}`"].eqNullSafe(snapshot[f"`{k}`"]) for k in spec.keys])
    upserts = snapshot.subtract(live).select(*columns, sequence, F.lit(False).alias(change_log.DELETE))
    deletes = live.join(snapshot, on, "left_anti").select(*columns, sequence, F.lit(True).alias(change_log.DELETE))
    return upserts.unionByName(deletes).withColumn(change_log.TRUNCATE, F.lit(False))
