"""`apply_changes` as SCD type 1: upsert the newest change per key, delete where the feed says so.

Per update the flow's new change rows (after expectations) are reduced to the latest row per key by
`sequence_by`, then one MERGE INTO the target updates a key only when the incoming sequence is newer
(late, out-of-order changes lose), deletes it when `apply_as_deletes` holds and the delete is newer, and
inserts unknown keys. When the target is partitioned by columns the changes carry, the MERGE only looks at
the partitions present in the batch, so its cost does not grow with history; this assumes a key never
moves to another partition. Unlike Databricks, deletes leave no tombstone: a change older than a delete
that arrives in a later update re-inserts the key. NULL sequence values are not supported (as on Databricks).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Window
from pyspark.sql import functions as F

from lakehouse.dlt_runtime.errors import PipelineDefinitionError
from lakehouse.dlt_runtime.expectations import Checked
from lakehouse.dlt_runtime.graph import ChangeSpec, Dataset
from lakehouse.dlt_runtime.writers import partition_predicate
from lakehouse.storage import TableStore

DELETE_FLAG = "__lakehouse_apply_as_delete"
RANK = "__lakehouse_change_rank"


@dataclass(frozen=True)
class Applied:
    version: int | None
    source_rows: int
    upserted: int
    deleted: int


def stored_columns(columns: list[str], spec: ChangeSpec, target: str) -> list[str]:
    """The target's columns: the change rows' columns narrowed by column_list / except_column_list."""
    if spec.column_list is not None:
        stored = [c for c in columns if c in spec.column_list]
    else:
        stored = [c for c in columns if c not in (spec.except_column_list or ())]
    missing = [c for c in (*spec.keys, spec.sequence_by) if c not in stored]
    if missing:
        raise PipelineDefinitionError(
            f"apply_changes into {target!r}: key and sequence_by columns must be stored in the target, but "
            f"{missing} are missing from the change rows or excluded by the column list"
        )
    return stored


def apply(store: TableStore, table: str, dataset: Dataset, spec: ChangeSpec, checked: Checked, reset: bool = False) -> Applied:
    """Merge the checked change rows into `table`; creates it empty on first use, or first when `reset`."""
    frame = checked.kept
    stored = stored_columns(frame.columns, spec, dataset.name)
    if reset or not store.exists(table):
        store.overwrite(frame.select(*_quoted(stored)).limit(0), table, dataset.partition_cols)
    if checked.rows_in == checked.rows_dropped:
        return Applied(None, 0, 0, 0)
    latest = _latest_per_key(frame, spec).select(*_quoted(stored), DELETE_FLAG)
    before = store.version(table)
    view = f"_apply_changes_{uuid.uuid4().hex}"
    latest.createOrReplaceTempView(view)
    try:
        store.spark.sql(_merge_sql(store.name(table), view, stored, spec, _partition_filter(dataset, stored, checked))).collect()
    finally:
        store.spark.catalog.dropTempView(view)
    last = store.history(table, limit=1)[0]
    if int(last["version"]) == before:  # a MERGE that changes nothing (only stale changes) commits nothing
        return Applied(None, latest.count(), 0, 0)
    metrics = {k: int(v) for k, v in (last.get("operationMetrics") or {}).items()}
    return Applied(
        version=int(last["version"]),
        source_rows=metrics.get("numSourceRows", 0),
        upserted=metrics.get("numTargetRowsInserted", 0) + metrics.get("numTargetRowsUpdated", 0),
        deleted=metrics.get("numTargetRowsDeleted", 0),
    )


def _latest_per_key(frame: Any, spec: ChangeSpec) -> Any:
    deletes = spec.apply_as_deletes
    flag = F.lit(False) if deletes is None else F.coalesce(F.expr(deletes) if isinstance(deletes, str) else deletes, F.lit(False))
    order = Window.partitionBy(*[F.col(f"`{k}`") for k in spec.keys]).orderBy(F.col(f"`{spec.sequence_by}`").desc())
    return (
        frame.withColumn(DELETE_FLAG, flag)
        .withColumn(RANK, F.row_number().over(order))
        .filter(F.col(RANK) == 1)
        .drop(RANK)
    )


def _partition_filter(dataset: Dataset, stored: list[str], checked: Checked) -> str | None:
    if dataset.partition_cols and set(dataset.partition_cols) <= set(stored) and checked.kept_values:
        return partition_predicate(dataset.partition_cols, checked.kept_values, alias="t")
    return None


def _merge_sql(table: str, view: str, stored: list[str], spec: ChangeSpec, partition_filter: str | None) -> str:
    target = ".".join(f"`{part}`" for part in table.split("."))
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in spec.keys)
    if partition_filter:
        on += f" AND ({partition_filter})"
    newer = f"s.`{spec.sequence_by}` > t.`{spec.sequence_by}`"
    values = [
        f"coalesce(s.`{c}`, t.`{c}`)" if spec.ignore_null_updates and c not in spec.keys else f"s.`{c}`" for c in stored
    ]
    updates = ", ".join(f"`{c}` = {v}" for c, v in zip(stored, values))
    return (
        f"MERGE INTO {target} t USING `{view}` s ON {on} "
        f"WHEN MATCHED AND s.`{DELETE_FLAG}` AND {newer} THEN DELETE "
        f"WHEN MATCHED AND NOT s.`{DELETE_FLAG}` AND {newer} THEN UPDATE SET {updates} "
        f"WHEN NOT MATCHED AND NOT s.`{DELETE_FLAG}` THEN INSERT ({', '.join(f'`{c}`' for c in stored)}) "
        f"VALUES ({', '.join(f's.`{c}`' for c in stored)})"
    )


def _quoted(columns: list[str]) -> list[str]:
    return [f"`{c}`" for c in columns]
