"""The dataset page's model: one dataset of a pipeline, as Databricks shows it when a dataset of the pipeline
graph is selected ("details include the dataset schema, data quality metrics", per update:
https://docs.databricks.com/aws/en/ldp/observability) and as Catalog Explorer shows its table's history.

* schema: the table's columns, types, nullability and comments, with the declared primary key; locally the
  declaration the runtime stores with the table (lakehouse/core/table_metadata.py);
* history: the table's Delta commits, newest first, with the columns of DESCRIBE HISTORY a person reads
  (version, timestamp, operation, its parameters and operationMetrics such as numOutputRows:
  https://docs.databricks.com/aws/en/tables/history-schema);
* expectations over updates: passed and failed records of each of its rules per update (event log);
* quarantined rows: the latest rows of its quarantine table, or of the quarantine dataset that reads the
  same input (the project's quarantine pattern, dlt/offline_features/silver.py), with the rules they broke.

A view has no table: its page shows the event log's side only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from lakehouse.app.ui.expectations import Dashboard, RuleHistory, Sample, dashboard, samples
from lakehouse.app.ui.lineage import update_edges
from lakehouse.app.ui.pipelines import Update, quarantine_siblings
from lakehouse.app.ui.source import QUARANTINE_PREFIX, Tables

HISTORY = 50  # commits shown
SAMPLE_ROWS = 20
# operationMetrics worth a column of their own (WRITE and MERGE, the operations pipelines commit)
ROW_METRICS = ("numOutputRows", "numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    nullable: bool
    comment: str | None
    key: str | None  # "primary key" (", TIMESERIES") when the column is part of it


@dataclass(frozen=True)
class Commit:
    version: int
    timestamp: datetime | None
    operation: str
    parameters: dict[str, str]
    metrics: dict[str, Any]

    @property
    def rows(self) -> dict[str, Any]:
        """The row counts among the metrics (rows written, inserted, updated, deleted)."""
        return {k: int(self.metrics[k]) for k in ROW_METRICS if k in self.metrics}  # a string map on Databricks


@dataclass(frozen=True)
class DatasetUpdate:
    update: Update
    status: str
    rows_written: int
    rows_dropped: int


@dataclass(frozen=True)
class DatasetDetails:
    pipeline: str
    name: str
    table: str | None  # the fully qualified table; None for a view (nothing materialized)
    comment: str | None
    columns: list[Column]
    history: list[Commit]
    updates: list[DatasetUpdate]  # newest first
    board: Dashboard  # the pipeline's expectation dashboard narrowed to this dataset's rules
    quarantine: list[str]  # the quarantine tables its samples come from
    samples: list[Sample]

    @property
    def rules(self) -> list[RuleHistory]:
        return self.board.rules


def dataset_details(tables: Tables, pipeline: str, name: str) -> DatasetDetails | None:
    """The page of dataset `name` of `pipeline`; None when no update of the pipeline wrote it."""
    rows = [r for r in tables.datasets(pipeline) if r["dataset"] == name]
    board = dashboard(tables, pipeline)
    if not rows or board is None:
        return None
    by_id = {u.update_id: u for u in board.updates}
    updates = sorted((DatasetUpdate(by_id[r["update_id"]], r["status"], int(r["rows_written"]), int(r["rows_dropped"]))
                      for r in rows if r["update_id"] in by_id), key=lambda u: u.update.started_at, reverse=True)
    mine = replace(board, rules=[r for r in board.rules if r.dataset == name])
    quarantine = _quarantine_tables(tables, pipeline, name, board.updates[-1].update_id)
    comment, columns, history, table = None, [], [], None
    if tables.has(name):  # a view has no table
        table = tables.store.name(name)
        comment, columns = _schema(tables, name)
        history = _history(tables, name)
    return DatasetDetails(pipeline, name, table, comment, columns, history, updates, mine, quarantine,
                          samples(tables, set(quarantine), SAMPLE_ROWS))


def _quarantine_tables(tables: Tables, pipeline: str, name: str, update_id: str) -> list[str]:
    if name.startswith(QUARANTINE_PREFIX):
        return [name]
    siblings = quarantine_siblings(update_edges(tables, pipeline, update_id).pairs)
    return sorted(siblings.get(name, set()))


def _schema(tables: Tables, name: str) -> tuple[str | None, list[Column]]:
    """(table comment, columns): the engine's schema, with the stored declaration's comments and key locally."""
    from lakehouse.core import table_metadata

    try:
        declared = table_metadata.read(tables.store, name)
    except NotImplementedError:  # on Databricks the comments come with the schema from Unity Catalog
        declared = None
    columns = {c.name: c for c in declared.schema.columns} if declared else {}
    key = declared.schema.primary_key if declared else None
    found = []
    for field in tables.spark.table(tables.name(name)).schema.fields:
        column = columns.get(field.name)
        in_key = None
        if key is not None and field.name in key.columns:
            in_key = "primary key" + (", TIMESERIES" if key.timeseries == field.name else "")
        found.append(Column(field.name, field.dataType.simpleString(),
                            field.nullable if column is None else column.nullable,
                            column.comment if column else (field.metadata or {}).get("comment"), in_key))
    return (declared.comment if declared else None), found


def _history(tables: Tables, name: str) -> list[Commit]:
    commits = []
    for entry in tables.store.history(name, limit=HISTORY):
        stamp = entry.get("timestamp")
        if isinstance(stamp, (int, float)):  # delta-rs: milliseconds since the epoch
            stamp = datetime.fromtimestamp(stamp / 1000, timezone.utc).replace(tzinfo=None)
        commits.append(Commit(int(entry["version"]), stamp, str(entry.get("operation") or ""),
                              {k: str(v) for k, v in (entry.get("operationParameters") or {}).items()},
                              dict(entry.get("operationMetrics") or {})))
    return commits
