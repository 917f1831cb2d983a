"""Auto CDC from a stored change log: SCD type 2, and SCD type 1 when the target cannot hold what it needs.

The semantics are Databricks' (https://docs.databricks.com/aws/en/ldp/cdc,
https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-apply-changes):
- SCD type 2 keeps one row per version of a key with `__START_AT` / `__END_AT`, typed as `sequence_by`. A change
  opens a new version when a tracked column differs from the current version (every stored non-key column, or
  `track_history_column_list`, or all but `track_history_except_column_list`); a change of untracked columns only
  updates the current version in place. A delete closes the current version (`__END_AT` = the delete's sequence);
  the current version of a key has `__END_AT` NULL. Events are ordered by `sequence_by` whatever their arrival
  order, so a late event lands in the history where its sequence puts it.
- SCD type 1 holds the latest change per key unless it is a delete; `apply_as_truncates` empties the table at its
  sequence: every key whose latest change is not newer than the newest truncate is gone (a change at the truncate's
  own sequence too, as a delete wins such a tie), also a later-arriving older change (the docs' example keeps only
  the key updated after the truncate). Truncates are SCD type 1 only.

Why a log: both need state the target does not hold once written (the sequence when `except_column_list` drops
it, which version an in-place update came from, tombstones of deletes and truncates), as Databricks keeps its own
hidden state for auto CDC. The flow's checked change rows (plus a delete and a truncate flag, and the sequence) are
appended to a Delta log under the pipeline's state folder, de-duplicated by (keys, sequence), and every update that
received changes rebuilds the target from the whole log and overwrites it. That is exact and crash-safe (a rerun
re-delivers the batch, finds it logged and rebuilds the same table) but costs a read of the whole history per
update: fine for dimension-sized tables, not for a fact table (cdc.py's incremental SCD type 1 is the fast path
when the target stores the sequence and no truncates are given).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from functools import reduce
from pathlib import Path
from typing import Any

from pyspark.sql import Column, Window
from pyspark.sql import functions as F

from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime.cdc import Applied, target_columns, tie_order
from lakehouse.local.dlt_runtime.errors import PipelineDefinitionError
from lakehouse.local.dlt_runtime.graph import ChangeSpec, Dataset
from lakehouse.local.dlt_runtime.staging import staged

LOGS = "change_logs"  # under the pipeline's state folder, one Delta log per flow
START, END = "__START_AT", "__END_AT"
SEQUENCE = "__lakehouse_sequence"
DELETE = "__lakehouse_delete"
TRUNCATE = "__lakehouse_truncate"
_VERSION = "__lakehouse_version"
_RANK = "__lakehouse_rank"


def needs_log(spec: ChangeSpec, stored: list[str]) -> bool:
    """Whether the flow runs here rather than in cdc.py's incremental SCD type 1."""
    return spec.scd_type == 2 or spec.apply_as_truncates is not None or spec.sequence_by not in stored


def tracked_columns(stored: list[str], spec: ChangeSpec, target: str) -> list[str]:
    """The columns whose change opens a new SCD type 2 version."""
    values = [c for c in stored if c not in spec.keys]
    if spec.track_history_column_list is not None:
        unknown = [c for c in spec.track_history_column_list if c not in values]
        if unknown:
            raise PipelineDefinitionError(f"auto CDC into {target!r}: track_history_column_list names {unknown}, "
                                          "which are not stored non-key columns of the target")
        return [c for c in values if c in spec.track_history_column_list]
    return [c for c in values if c not in (spec.track_history_except_column_list or ())]


def apply(store: TableStore, table: str, frame: Any, spec: ChangeSpec, dataset: Dataset, log_dir: Path,
          staging_dir: Path, reset: bool = False) -> Applied:
    """Log the change rows of `frame` and rebuild `table` from the log; creates it empty on first use."""
    if spec.ignore_null_updates:
        raise NotImplementedError(f"auto CDC into {dataset.name!r}: ignore_null_updates is not supported by the local "
                                  "runtime with SCD type 2, apply_as_truncates or a sequence_by column the target does "
                                  "not store")
    stored = target_columns(frame.columns, spec, dataset.name)
    return log_and_rebuild(store, table, _events(frame, spec, stored), spec, dataset, stored, log_dir, staging_dir,
                           reset=reset)


def log_and_rebuild(store: TableStore, table: str, events: Any, spec: ChangeSpec, dataset: Dataset, stored: list[str],
                    log_dir: Path, staging_dir: Path, reset: bool = False, rebuild_empty: bool = False) -> Applied:
    """Append `events` (stored columns, SEQUENCE, DELETE, TRUNCATE) to the log and overwrite `table` with the
    rows rebuilt from it; without events nothing is written unless `rebuild_empty`."""
    target, partitions, spark = dataset.name, dataset.partition_cols, store.spark
    if reset:
        shutil.rmtree(log_dir, ignore_errors=True)
    if reset or not store.exists(table):
        store.overwrite(_rebuilt(events.limit(0), spec, stored, target), table, partitions)
    with staged(spark, events, staging_dir) as batch:
        counts = batch.groupBy(DELETE, TRUNCATE).count().collect()
        if counts:
            _append_new(spark, batch, log_dir, spec)
        if not counts and not (rebuild_empty and (log_dir / "_delta_log").is_dir()):
            return Applied(None, 0, 0, 0)
        with staged(spark, _rebuilt(logged(spark, log_dir), spec, stored, target), staging_dir) as rebuilt:
            version = store.overwrite(rebuilt, table, partitions)
    deleted = sum(r["count"] for r in counts if r[DELETE])
    upserted = sum(r["count"] for r in counts if not r[DELETE] and not r[TRUNCATE])
    return Applied(version, sum(r["count"] for r in counts), upserted, deleted)


def logged(spark: Any, log_dir: Path) -> Any:
    """Every event of the log."""
    return spark.read.format("delta").load(str(log_dir))


def current(log: Any, spec: ChangeSpec, stored: list[str]) -> Any:
    """The live row of each key (its latest change, unless a delete or truncated): the SCD type 1 view."""
    return _rebuilt(log, replace(spec, scd_type=1), stored, "")


def _events(frame: Any, spec: ChangeSpec, stored: list[str]) -> Any:
    """The change rows as log events: stored columns, the sequence, and the delete and truncate flags."""
    truncate = _flag(spec.apply_as_truncates)
    return frame.select(
        *[F.col(f"`{c}`") for c in stored],
        F.col(f"`{spec.sequence_by}`").alias(SEQUENCE),
        (_flag(spec.apply_as_deletes) & ~truncate).alias(DELETE),
        truncate.alias(TRUNCATE),
    )


def _flag(condition: Any) -> Column:
    if condition is None:
        return F.lit(False)
    return F.coalesce(F.expr(condition) if isinstance(condition, str) else condition, F.lit(False))


def _append_new(spark: Any, batch: Any, log_dir: Path, spec: ChangeSpec) -> None:
    """Append the batch's events not logged yet: one per (keys, sequence), the first logged wins, as a
    re-delivered change does on Databricks ("each sequence value per key" is applied once); within the batch a
    delete, else cdc.py's `tie_order`, picks it, whatever the batch's partitioning."""
    keys = [*spec.keys, SEQUENCE]
    ties = tie_order(batch.schema, [c for c in batch.columns if c not in (SEQUENCE, DELETE, TRUNCATE)], spec)
    first = Window.partitionBy(*[F.col(f"`{k}`") for k in keys], TRUNCATE).orderBy(F.col(DELETE).desc(), *ties)
    new = batch.withColumn(_RANK, F.row_number().over(first)).where(F.col(_RANK) == 1).drop(_RANK)
    if (log_dir / "_delta_log").is_dir():
        seen = logged(spark, log_dir).select(*keys, TRUNCATE)
        on = reduce(lambda acc, c: acc & c, [new[f"`{k}`"].eqNullSafe(seen[f"`{k}`"]) for k in keys])
        new = new.join(seen, on & (new[TRUNCATE] == seen[TRUNCATE]), "left_anti")
    log_dir.parent.mkdir(parents=True, exist_ok=True)
    new.write.format("delta").mode("append").save(str(log_dir))


def _rebuilt(log: Any, spec: ChangeSpec, stored: list[str], target: str) -> Any:
    """The target's rows from every logged event."""
    truncated = log.where(F.col(TRUNCATE)).agg(F.max(SEQUENCE).alias("__truncated"))
    changes = log.where(~F.col(TRUNCATE))
    if spec.scd_type == 2:
        return _versions(changes, spec, stored, tracked_columns(stored, spec, target))
    by_key = Window.partitionBy(*[F.col(f"`{k}`") for k in spec.keys]).orderBy(F.col(SEQUENCE).desc())
    latest = changes.withColumn(_RANK, F.row_number().over(by_key)).where((F.col(_RANK) == 1) & ~F.col(DELETE))
    latest = latest.crossJoin(truncated).where(F.col("__truncated").isNull() | (F.col(SEQUENCE) > F.col("__truncated")))
    return latest.select(*[F.col(f"`{c}`") for c in stored])


def _versions(changes: Any, spec: ChangeSpec, stored: list[str], tracked: list[str]) -> Any:
    """SCD type 2 rows: per key, events in sequence order; a non-delete event after a delete (or first) or with
    a tracked value differing from the previous event's opens a version, which ends at the first delete in it or
    at the next version's start, and holds the values of its last event."""
    key_cols = [F.col(f"`{k}`") for k in spec.keys]
    ordered = Window.partitionBy(*key_cols).orderBy(SEQUENCE)
    previous_delete = F.lag(F.col(DELETE)).over(ordered)
    changed = reduce(
        lambda acc, c: acc | c,
        [~F.col(f"`{c}`").eqNullSafe(F.lag(F.col(f"`{c}`")).over(ordered)) for c in tracked],
        F.lit(False),
    )
    opens = ~F.col(DELETE) & (previous_delete.isNull() | previous_delete | changed)
    numbered = changes.withColumn("__opens", opens.cast("int")).withColumn(
        _VERSION, F.sum("__opens").over(ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    ).where(F.col(_VERSION) > 0)
    version = Window.partitionBy(*key_cols, _VERSION)
    last_upsert = version.orderBy(F.col(DELETE).asc(), F.col(SEQUENCE).desc())
    per_version = (
        numbered.withColumn(START, F.min(F.when(~F.col(DELETE), F.col(SEQUENCE))).over(version))
        .withColumn("__closed", F.min(F.when(F.col(DELETE), F.col(SEQUENCE))).over(version))
        .withColumn(_RANK, F.row_number().over(last_upsert))
        .where(F.col(_RANK) == 1)
    )
    following = Window.partitionBy(*key_cols).orderBy(_VERSION)
    return per_version.select(
        *[F.col(f"`{c}`") for c in stored],
        F.col(START),
        F.coalesce(F.col("__closed"), F.lead(F.col(START)).over(following)).alias(END),
    )
