"""Rows appended to a Delta table between two versions: the local stand-in for a streaming read.

Sail has no Structured Streaming, so `dlt.read_stream(x)` becomes a batch read of exactly the data files
added to `x` since the version a flow last consumed. delta-rs lists the files of both versions; the new
ones are read directly (partition values, which Delta keeps in the log rather than in the files, are added
back as typed literals). Like a Databricks streaming read, this needs an append-only upstream: a file of
the consumed version that is gone means rows were rewritten or deleted, and the read refuses with a hint
to full-refresh the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
from deltalake import DeltaTable
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime.checkpoints import Position
from lakehouse.local.dlt_runtime.errors import UpstreamNotAppendOnly


@dataclass(frozen=True)
class Increment:
    """New rows of a table (a lazy DataFrame), the position to record once they are written, and whether any."""

    frame: Any
    position: Position
    empty: bool


def read_appended(store: TableStore, table: str, since: Position | None, reader: str) -> Increment:
    """Rows appended to `table` after `since` (everything when None), as of its current version."""
    path = store.path(table)
    current = DeltaTable(str(path))
    position = Position(version=current.version(), table_id=current.metadata().id)
    table_frame = store.read(table)
    new_files = _added_files(current, since, path, table, reader)
    if not new_files:
        return Increment(table_frame.limit(0), position, empty=True)
    schema = table_frame.schema
    partition_cols = list(current.metadata().partition_columns)
    data_schema = StructType([f for f in schema.fields if f.name not in partition_cols])
    groups: dict[tuple[Any, ...], list[str]] = {}
    for file, values in new_files:
        groups.setdefault(tuple(values.get(c) for c in partition_cols), []).append(file)
    frames = []
    for values, files in groups.items():
        frame = store.spark.read.schema(data_schema).parquet(*files)
        for column, value in zip(partition_cols, values):
            frame = frame.withColumn(column, F.lit(value).cast(schema[column].dataType))
        frames.append(frame.select(*[f"`{c}`" for c in schema.names]))
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return Increment(result, position, empty=False)


def _added_files(
    current: DeltaTable, since: Position | None, path: Path, table: str, reader: str
) -> list[tuple[str, dict[str, Any]]]:
    """(absolute file, partition values) of the files in `current` that `since` did not have."""
    actions = pa.table(current.get_add_actions(flatten=True))
    if since is not None:
        hint = f"run a full refresh of {reader!r} to reprocess {table} from scratch"
        if since.table_id != current.metadata().id or since.version > current.version():
            raise UpstreamNotAppendOnly(f"{reader!r} reads {table} as a stream, but that table was recreated; {hint}")
        seen = set(pa.table(DeltaTable(str(path), version=since.version).get_add_actions(flatten=True)).column("path").to_pylist())
        missing = seen - set(actions.column("path").to_pylist())
        if missing:
            raise UpstreamNotAppendOnly(
                f"{reader!r} reads {table} as a stream, but {table} changed other than by appends since version "
                f"{since.version} ({len(missing)} data file(s) were removed or rewritten); streaming reads need an "
                f"append-only source: {hint}"
            )
    else:
        seen = set()
    rows = actions.to_pylist()
    partition_keys = [k for k in actions.column_names if k.startswith("partition.")]
    if "deletionVector" in actions.column_names and any(r["deletionVector"] for r in rows if r["path"] not in seen):
        raise UpstreamNotAppendOnly(f"{reader!r} cannot stream from {table}: its new files carry deletion vectors")
    return [
        (_local_file(path, r["path"]), {k[len("partition.") :]: r[k] for k in partition_keys})
        for r in rows
        if r["path"] not in seen
    ]


def _local_file(root: Path, relative: str) -> str:
    """Paths in the Delta log may be URL-encoded; use whichever spelling exists on disk."""
    raw = root / relative
    return str(raw if raw.exists() else root / unquote(relative))
