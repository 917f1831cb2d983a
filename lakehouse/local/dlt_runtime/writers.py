"""How a flow's kept rows reach its table: overwrite, append, or replace only the partitions produced.

Materialized views are recomputed and overwritten. Streaming tables append (a flow with no new rows
writes nothing, so the table keeps its version, as a Databricks streaming update without new data does).

Local write-policy extension, for big date-partitioned materialized views: the table property

    @dlt.table(partition_cols=["feature_date"], table_properties={"lakehouse.write": "replace_partitions"})

makes each update replace exactly the partitions whose values occur in the function's result
(replaceWhere) instead of overwriting the table, so a daily update costs one day. Databricks ignores
unknown table properties, so the file stays valid DLT; there, though, the table is a plain materialized
view holding only what the function returns. A full refresh overwrites the whole table with the result.

Delta table properties (`delta.*`, e.g. `delta.enableChangeDataFeed` on the MRDS) are kept in the graph for
Databricks and not written locally: Sail 0.7.2 refuses every later write to a table whose protocol has the
changeDataFeed feature ("Unsupported table features required: [ChangeDataFeed]"), so writing it would break the
next update.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from lakehouse.core import table_metadata
from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime.errors import PipelineDefinitionError
from lakehouse.local.dlt_runtime.expectations import Checked
from lakehouse.local.dlt_runtime.graph import Dataset, Kind

WRITE_PROPERTY = "lakehouse.write"
OVERWRITE, REPLACE_PARTITIONS = "overwrite", "replace_partitions"


def write_policy(dataset: Dataset) -> str:
    """The dataset's write policy; refuses unknown values and replace_partitions where it cannot apply."""
    policy = dataset.table_properties.get(WRITE_PROPERTY, OVERWRITE)
    if policy not in (OVERWRITE, REPLACE_PARTITIONS):
        raise PipelineDefinitionError(
            f"dataset {dataset.name!r}: table property {WRITE_PROPERTY}={policy!r} is unknown "
            f"(use {OVERWRITE!r} or {REPLACE_PARTITIONS!r})"
        )
    if policy == REPLACE_PARTITIONS and (dataset.kind is not Kind.MATERIALIZED_VIEW or not dataset.partition_cols):
        raise PipelineDefinitionError(
            f"dataset {dataset.name!r}: {WRITE_PROPERTY}={REPLACE_PARTITIONS!r} needs a materialized view with partition_cols"
        )
    return policy


def tracked_columns(dataset: Dataset) -> tuple[str, ...]:
    """Columns whose kept values the writer needs (the partitions to replace)."""
    return dataset.partition_cols if write_policy(dataset) == REPLACE_PARTITIONS else ()


def write(store: TableStore, table: str, dataset: Dataset, checked: Checked, *, append: bool, replace_all: bool,
          token: str | None = None, add_columns: bool = False) -> int | None:
    """Write the kept rows; returns the new table version, or None when the table was left as it was.

    `append`: a streaming flow's rows; `replace_all`: overwrite whatever the policy (full refresh, first flow).
    `token` (lakehouse.local.dlt_runtime.checkpoints.commit_token) labels an append: when a recent commit already
    carries it, a crash came between the append and the checkpoint save, and the rows are not appended again.
    `add_columns`: an append may add columns the table lacks (Auto Loader's schema evolution reaching its table).
    A declared schema and the dataset's comment are then stored with the table (lakehouse/core/table_metadata.py),
    where the feature store reads the primary key, as Unity Catalog keeps them on Databricks.
    """
    version = _write_rows(store, table, dataset, checked, append=append, replace_all=replace_all, token=token,
                          add_columns=add_columns)
    if dataset.schema is not None and store.exists(table):
        declaration = table_metadata.TableDeclaration(dataset.schema, dataset.comment)
        if table_metadata.write(store, table, declaration):
            version = store.version(table)
    return version


def _write_rows(store: TableStore, table: str, dataset: Dataset, checked: Checked, *, append: bool,
                replace_all: bool, token: str | None, add_columns: bool) -> int | None:
    partition_by = dataset.partition_cols
    if replace_all or not store.exists(table):
        return store.overwrite(checked.kept, table, partition_by, user_metadata=token)
    if append:
        if checked.rows_in - checked.rows_dropped == 0 or (token is not None and store.has_commit(table, token)):
            return None
        return store.append(checked.kept, table, partition_by, user_metadata=token, add_columns=add_columns)
    if write_policy(dataset) == REPLACE_PARTITIONS:
        if not checked.kept_values:
            return None
        predicate = partition_predicate(partition_by, checked.kept_values)
        return store.replace_where(checked.kept, table, predicate, partition_by)
    return store.overwrite(checked.kept, table, partition_by)


def partition_predicate(columns: Sequence[str], values: Sequence[tuple[Any, ...]], alias: str = "") -> str:
    """SQL selecting exactly the rows whose `columns` take one of the `values` tuples."""
    prefix = f"{alias}." if alias else ""
    if len(columns) == 1 and all(v[0] is not None for v in values):
        return f"{prefix}`{columns[0]}` IN ({', '.join(sql_literal(v[0]) for v in values)})"
    terms = (
        " AND ".join(
            f"{prefix}`{c}` IS NULL" if value is None else f"{prefix}`{c}` = {sql_literal(value)}"
            for c, value in zip(columns, row)
        )
        for row in values
    )
    return " OR ".join(f"({term})" for term in terms)


def sql_literal(value: Any) -> str:
    """A Python value as a typed SQL literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE'{value.isoformat()}'"
    raise TypeError(f"cannot use {value!r} ({type(value).__name__}) as a partition value in a predicate")
