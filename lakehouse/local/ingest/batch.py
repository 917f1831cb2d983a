"""One ingestion batch: the new files of a source parsed into one Arrow table, and its hand-over to Spark.

Usage by the runtime (exactly once, see files.py):

    log = IngestLog(checkpoint_dir)
    batch = read_new_files(log, landing, "transactions", "csv", schema, already_written, through=day)
    df = to_spark(spark, batch.table, staging_dir)      # ... write df to the bronze table ...
    log.commit(batch.files)                             # then remove staging_dir
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.local.ingest.files import IngestLog
from lakehouse.local.ingest.parse import FileStats, ReaderOptions, Schema, output_schema, parse_file


@dataclass(frozen=True)
class Batch:
    """The rows of `files` (in file order, then line order) and one FileStats per file."""

    table: pa.Table
    stats: list[FileStats]
    files: list[str]


def read_files(files: Sequence[str | os.PathLike[str]], fmt: str, schema: Schema,
               reader_options: ReaderOptions = ReaderOptions()) -> Batch:
    """Parse the files and concatenate them (an empty table of the output schema when there are none)."""
    parsed = [parse_file(f, fmt, schema, reader_options) for f in files]
    table = pa.concat_tables([t for t, _ in parsed]) if parsed else output_schema(schema).empty_table()
    return Batch(table, [s for _, s in parsed], [s.file for _, s in parsed])


def read_new_files(
    log: IngestLog,
    landing: str | os.PathLike[str],
    source: str,
    fmt: str,
    schema: Schema,
    already_written: Callable[[list[str]], set[str]],
    *,
    ext: str | None = None,
    through: date | None = None,
) -> Batch:
    """List the source's new files (`*.<ext>`, ext defaulting to fmt), record them as pending, parse them.
    The caller writes `batch.table` and then calls `log.commit(batch.files)`."""
    files = log.new_files(landing, source, ext or fmt, already_written, through=through)
    log.begin(files)
    return read_files(files, fmt, schema)


def to_spark(spark: Any, table: pa.Table, staging_dir: str | os.PathLike[str]) -> Any:
    """A DataFrame of `table`, handed over as a Parquet file read by Spark.

    Why a file: `spark.createDataFrame` ships the data inside one Spark Connect message, and Sail
    refuses messages over 128 MiB (1M rows x 20 columns failed). Why Parquet: it carries the exact
    types; a UTC-adjusted timestamp reads back as TIMESTAMP (not TIMESTAMP_NTZ), date32 as DATE, int32
    as INT. The read is lazy: keep the file until the frame has been written, then remove staging_dir.
    """
    path = Path(staging_dir) / f"ingest-{uuid.uuid4().hex}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return spark.read.parquet(str(path))
