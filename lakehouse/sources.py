"""The one helper pipeline files read landing files through, so the same file runs in both places.

On Databricks it is Auto Loader (`cloudFiles`) with the contract's schema, rescued data and the
source file from `_metadata`; locally it is the runtime's incremental, tolerant file ingestion
(lakehouse.ingest) behind the local DLT runtime's streaming-source hook. Both give the same
columns: the contract's typed columns, `_rescued_data`, `_source_file`, `_ingested_at` and `_drop_date`
(the date of the landing folder, `<source>/<YYYY-MM-DD>/<file>`: bronze is partitioned by it, so reading
one day's drop does not scan the whole history).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from lakehouse.datagen.schema import SOURCES
from lakehouse.faults import maybe_crash

if TYPE_CHECKING:
    from lakehouse.ingest import FileStats

LANDING_PATH_CONF = "lakehouse.landing_path"
INGEST_THROUGH_CONF = "lakehouse.ingest_through"  # local runs: ingest day folders up to this date
LATE_DAYS_CONF = "lakehouse.late_arrival_days"  # pipeline configuration (bundle): how late a record may arrive
STORAGE_ROOT_CONF = "lakehouse.storage_root"  # local runs: where the bronze tables' folders are
LOCAL_SOURCE = "landing"
DROP_DATE = "_drop_date"
DROP_DATE_PATTERN = r"/(\d{4}-\d{2}-\d{2})/[^/]+$"  # <source>/<YYYY-MM-DD>/<file>
log = logging.getLogger(__name__)


def on_databricks() -> bool:
    return bool(os.environ.get("DATABRICKS_RUNTIME_VERSION"))


def contract_ddl(source: str) -> str:
    """The source's columns as a Spark DDL string, e.g. `customer_id STRING, amount DOUBLE`."""
    return ", ".join(f"`{name}` {dtype.upper()}" for name, dtype in SOURCES[source].columns)


def landing_stream(spark: Any, source: str) -> Any:
    """A streaming read of one source's landing files (each file once) with lineage columns."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: the contract defines {', '.join(SOURCES)}")
    if on_databricks():
        return _auto_loader(spark, source).withColumn(DROP_DATE, drop_date_column("_source_file"))
    from lakehouse.dlt_runtime.sources import read_streaming_source

    return read_streaming_source(LOCAL_SOURCE, source=source)


def drop_date(path: str) -> date | None:
    """The date of the landing folder a file is in (locally computed once per file)."""
    found = re.search(DROP_DATE_PATTERN, path)
    try:
        return date.fromisoformat(found.group(1)) if found else None
    except ValueError:  # e.g. 2026-13-45
        return None


def drop_date_column(path_column: str) -> Any:
    """`drop_date` as a Spark column (on Databricks, per row of Auto Loader's `_metadata.file_path`)."""
    from pyspark.sql import functions as F

    folder = F.nullif(F.regexp_extract(F.col(path_column), DROP_DATE_PATTERN, 1), F.lit(""))
    return folder.try_cast("date")


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
    partitions the function returns (`lakehouse.write: replace_partitions`, lakehouse/dlt_runtime/writers.py), and
    both hold the same rows. None too while the graph is being resolved (the plan is never run) and for a full
    refresh of the dataset, which rebuilds it from every date.
    """
    if on_databricks():
        return None
    from lakehouse.dlt_runtime import context
    from lakehouse.dlt_runtime.checkpoints import CheckpointStore
    from lakehouse.dlt_runtime.reads import ExecutionReader
    from lakehouse.ingest import IngestLog

    reader = context.current_reader.get()
    if not isinstance(reader, ExecutionReader) or reader.full_refresh:
        return None
    caught_up = CheckpointStore(reader.state_dir / "checkpoints").committed_at(reader.flow.name)
    logs = [IngestLog(folder) for folder in (reader.state_dir / "sources" / LOCAL_SOURCE).glob("*") if folder.is_dir()]
    new = {d for log in logs for d in map(drop_date, log.ingested_after(caught_up)) if d is not None}
    latest = max((d for log in logs for d in map(drop_date, log.ingested()) if d is not None), default=None)
    if latest is None:
        return None
    if not new:
        return DateWindow(latest, latest, empty=True)
    return DateWindow(min(new) - timedelta(days=late_days), latest)


def _auto_loader(spark: Any, source: str) -> Any:
    from pyspark.sql import functions as F

    spec = SOURCES[source]
    reader = (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json" if spec.format == "jsonl" else "csv")
        .option("rescuedDataColumn", "_rescued_data")
        .option("header", "true")
        .option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ss[.SSS]XXX")
        .schema(contract_ddl(source))
    )
    path = f"{spark.conf.get(LANDING_PATH_CONF).rstrip('/')}/{source}/"
    return reader.load(path).select(
        "*",
        F.col("_metadata.file_path").alias("_source_file"),
        F.current_timestamp().alias("_ingested_at"),
    )


def _already_written(spark: Any, table_dir: Path) -> Callable[[list[str]], set[str]]:
    """Which of an interrupted run's files reached the bronze table (asked only after a crash).

    Read from the table's own folder, not through the session catalog: a fresh process has not
    registered the table yet (it would answer "nothing written" and ingest those files twice), and the
    catalog may name a table of another storage root under the same name."""

    def check(files: list[str]) -> set[str]:
        if not (table_dir / "_delta_log").is_dir():
            return set()
        from pyspark.sql import functions as F

        table = spark.read.format("delta").load(str(table_dir))
        rows = table.where(F.col("_source_file").isin(files)).select("_source_file").distinct()
        return {r[0] for r in rows.collect()}

    return check


def local_landing_source(request: Any) -> tuple[Any, Callable[[], None]]:
    """The local DLT runtime's streaming source `landing`: new files of one source, parsed tolerantly.

    Files are recorded as pending before the rows are handed over and as ingested only when the
    runtime calls the returned commit (after the bronze write committed), so each file lands once.
    A full refresh re-reads every file. `_line` (the line in the file) is dropped so that the
    bronze schema equals Auto Loader's on Databricks.
    """
    from pyspark.sql import functions as F

    from lakehouse.ingest import IngestLog, read_files, to_spark
    from lakehouse.ingest.files import list_files

    spark = request.spark
    source = request.options["source"]
    spec = SOURCES[source]
    landing = spark.conf.get(LANDING_PATH_CONF)
    through_text = spark.conf.get(INGEST_THROUGH_CONF, "")
    through = date.fromisoformat(through_text) if through_text else None
    log = IngestLog(request.state_dir / source)
    if request.full_refresh:
        files = list_files(landing, source, spec.format, through=through)
        log.restart(files)
    else:
        table_dir = Path(spark.conf.get(STORAGE_ROOT_CONF)).joinpath(*request.target.split("."))
        files = log.new_files(landing, source, spec.format, _already_written(spark, table_dir), through=through)
        log.begin(files)
    maybe_crash("ingest.pending")
    batch = read_files(files, spec.format, spec.columns)
    for stats in batch.stats:
        _report(stats)
    staging = Path(request.state_dir) / "staging" / source
    frame = to_spark(spark, _with_drop_date(batch.table), staging).drop("_line")
    frame = frame.select(*(c for c in frame.columns if c != DROP_DATE), F.current_timestamp().alias("_ingested_at"),
                         DROP_DATE)  # the columns in Auto Loader's order

    def commit() -> None:
        maybe_crash("ingest.written")
        log.commit(batch.files)
        shutil.rmtree(staging, ignore_errors=True)

    maybe_crash("ingest.read")  # files read and staged, bronze not written: the log must still say pending
    return frame, commit


def _with_drop_date(table: Any) -> Any:
    """`table` plus DROP_DATE, computed once per file (a per-row string parse cost 0.5 s per 1M rows on Sail)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    files = pc.dictionary_encode(table["_source_file"]).combine_chunks()
    dates = pa.array([drop_date(path) for path in files.dictionary.to_pylist()], pa.date32())
    return table.append_column(DROP_DATE, pc.take(dates, files.indices))


def _report(stats: FileStats) -> None:
    """One line per landing file that delivered nothing or needed rescuing, naming the file: what to look at."""
    if stats.rows and not stats.rescued:
        return
    log.warning("landing file %s: %d row(s), %d with _rescued_data (%d unparseable line(s)), %d blank line(s), "
                "%d bytes", stats.file, stats.rows, stats.rescued, stats.corrupt, stats.blank, stats.bytes)


def register_local_sources() -> None:
    """Make `landing_stream` work under the local DLT runtime."""
    from lakehouse.dlt_runtime.sources import register_streaming_source

    register_streaming_source(LOCAL_SOURCE, local_landing_source)
