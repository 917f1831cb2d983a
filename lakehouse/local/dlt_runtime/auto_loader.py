"""`spark.readStream.format("cloudFiles")` in a pipeline file: Auto Loader on the runtime's exactly-once ingestion.

Databricks' Auto Loader reads each new file of a directory once (https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/).
Locally the reader is a streaming source of the runtime (sources.py): the files under the path not ingested yet are
listed with the ingested-files log (lakehouse.local.ingest.files), parsed by lakehouse.local.ingest.parse and handed to Spark;
they are marked ingested only after the flow's write committed. Supported options, as documented
(https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/options):

* `cloudFiles.format` json (JSON lines, or `multiLine`), csv (`header`, default false as in Spark; `sep` /
  `delimiter`) or parquet,
  and `.schema(...)` (DDL or StructType);
* `rescuedDataColumn`: values that do not fit their column's type, and fields not in the schema, are kept there as
  JSON with `_file_path` (https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/schema#rescue);
  without it, as with Auto Loader given a schema, such values are null;
* `_metadata` (`file_path`, `file_name`, `file_size`, `file_modification_time`), Databricks' hidden file metadata
  column (https://docs.databricks.com/aws/en/ingestion/file-metadata-column): locally a real struct column that the
  runtime removes from the flow's output, so `select("*")` leaves it out and `_metadata.file_path` works. Locally
  `file_path` is the file's absolute path, not a URI.

Exactly once across crashes: a batch's files are recorded as pending with the target table's Delta version before
anything is written; after a crash, pending files count as ingested if the target's version moved (the flow's write
is its only commit in between) and are read again otherwise. A view has no table to ask: its pending files are read
again (at least once).

Without `.schema(...)`, the schema is inferred, stored and evolved as Auto Loader does (`cloudFiles.schemaLocation`,
`cloudFiles.inferColumnTypes`, `cloudFiles.schemaHints`, `addNewColumns`: schema_inference.py).
Options the local side cannot honour (`cloudFiles.format` text/avro/...) are refused by
name rather than read differently. Other reader options (`timestampFormat`, ...) are
accepted: the parser reads ISO-8601 values.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.core.declared_schema import parse
from lakehouse.core.faults import maybe_crash
from lakehouse.local.dlt_runtime import context
from lakehouse.local.dlt_runtime.schema_inference import reader_options, stream_schema
from lakehouse.local.dlt_runtime.sources import SourceRequest, local_path, register_streaming_source

if TYPE_CHECKING:  # pyarrow loads when files are ingested, not where only the names below are read
    import pyarrow as pa

    from lakehouse.local.ingest.parse import FileStats

SOURCE = "cloudFiles"
METADATA = "_metadata"
RESCUED = "_rescued_data"
FORMATS = {"json": "json", "csv": "csv", "parquet": "parquet"}
# Local runs only: ingest `<YYYY-MM-DD>` folders up to this date, so tests and the demo replay history day by day
# (Auto Loader has no equivalent: it ingests every new file present; lakehouse/local/pipelines.py explains why that is the
# same set on the daily schedule).
INGEST_THROUGH_CONF = "lakehouse.ingest_through"
_PENDING_TARGET = "pending_target.json"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
log = logging.getLogger(__name__)


class CloudFilesReader:
    """The DataStreamReader of `spark.readStream.format("cloudFiles")`: collects options and the schema, and
    `load(path)` reads through the running flow's reader (discovery records the source, execution ingests)."""

    def __init__(self) -> None:
        self._options: dict[str, str] = {}
        self._schema: Any = None

    def option(self, key: str, value: Any) -> CloudFilesReader:
        self._options[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return self

    def options(self, **options: Any) -> CloudFilesReader:
        for key, value in options.items():
            self.option(key, value)
        return self

    def schema(self, schema: Any) -> CloudFilesReader:
        self._schema = schema
        return self

    def format(self, source: str) -> CloudFilesReader:  # noqa: A003 - the PySpark name
        if source != SOURCE:
            raise NotImplementedError(f"readStream.format({source!r}) after cloudFiles is not supported locally")
        return self

    def load(self, path: str | None = None) -> Any:
        if path is None:
            raise ValueError("cloudFiles needs a path: readStream.format('cloudFiles').load(path)")
        return context.reader().read_source(SOURCE, {"path": path, "options": dict(self._options),
                                                     "schema": self._schema})


def read_cloud_files(request: SourceRequest) -> tuple[Any, Callable[[], None]]:
    """The streaming source behind CloudFilesReader: the new files under the path, parsed, and their commit."""
    from lakehouse.local.ingest import IngestLog, read_files, to_spark

    options: Mapping[str, str] = request.options["options"]
    fmt, given = _format(options), request.options["schema"]
    root = local_path(request.options["path"], request.volumes_root)
    stream = _stream_dir(request)
    ingested = IngestLog(stream)
    files = _listing(root, request.spark.conf.get(INGEST_THROUGH_CONF, "") or None)
    if not request.full_refresh:
        files = ingested.new_files_of(files, _written_since_begin(request, stream))
    if given is None:  # inferred once, stored, evolved (schema_inference.py); checked before files are begun
        location = options.get("cloudFiles.schemaLocation")
        columns = stream_schema(files, fmt, options,
                                stream if location is None else local_path(location, request.volumes_root))
    else:
        columns = _columns(given, request.flow)
    _note_target(request, stream)
    if request.full_refresh:
        ingested.restart(files)
    else:
        ingested.begin(files)
    maybe_crash("ingest.pending")
    if fmt == "parquet":
        table = _parquet(files, columns)
    else:
        batch = read_files(files, fmt, columns, reader_options(options))
        _report(batch.stats, root)
        table = batch.table.drop(["_line"])
    table = _with_metadata(table, files).drop(["_source_file"])
    rescued = options.get("rescuedDataColumn") or (RESCUED if given is None else None)  # inference always rescues
    table = table.rename_columns([rescued if n == RESCUED and rescued else n for n in table.column_names])
    if not rescued and RESCUED in table.column_names:
        table = table.drop([RESCUED])
    staging = stream / "staging"
    shutil.rmtree(staging, ignore_errors=True)  # a failed update's hand-over
    frame = to_spark(request.spark, table, staging)

    def commit() -> None:
        maybe_crash("ingest.written")
        ingested.commit(files)
        shutil.rmtree(staging, ignore_errors=True)

    maybe_crash("ingest.read")  # files read and staged, the target not written: the log must still say pending
    return frame, commit


def _format(options: Mapping[str, str]) -> str:
    fmt = options.get("cloudFiles.format")
    if fmt not in FORMATS:
        raise NotImplementedError(f"cloudFiles.format {fmt!r} is not supported locally: use one of {sorted(FORMATS)}")
    return fmt


def _columns(schema: Any, flow: str) -> list[tuple[str, str]]:
    declared = parse(schema, f"{flow} (cloudFiles schema)")
    return [(c.name, c.dtype) for c in declared.columns]


def _listing(root: Path, through: str | None) -> list[str]:
    """Every data file under `root`, sorted; names starting with `_` or `.` are skipped, as Spark's file sources
    skip them (checkpoints, `_SUCCESS`, hidden files). `through`: skip `<YYYY-MM-DD>` folders after that date."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d[0] not in "._" and not (through and _DAY.match(d) and d > through))
        found += [os.path.join(folder, n) for n in names if n[0] not in "._"]
    return sorted(os.path.abspath(f) for f in found)


def _report(stats: list[FileStats], root: Path) -> None:
    """A warning per file that needs a look, naming it; the empty files of the batch in one INFO line (`-v`).

    A file that rescued rows, had unparseable lines, or held bytes but no rows is what an operator must open. An empty
    (0-byte) file is how an event source delivers a quiet day: a warning for each (hundreds on a full refresh of the
    demo) would bury the warnings that matter, so they are counted, not named.
    """
    empty = 0
    for file in stats:
        if file.bytes == 0:
            empty += 1
        elif file.rescued or not file.rows:
            log.warning("landing file %s: %d row(s), %d with _rescued_data (%d unparseable line(s)), %d blank line(s), "
                        "%d bytes", file.file, file.rows, file.rescued, file.corrupt, file.blank, file.bytes)
    if empty:
        log.info("%d empty landing file(s) under %s: 0 bytes, no rows", empty, root)


def _parquet(files: list[str], columns: list[tuple[str, str]]) -> pa.Table:
    """Parquet files conformed to the schema by name: a missing column is null, and a column of another type or not
    in the schema is rescued as JSON, like the text formats."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakehouse.local.ingest.parse import ARROW_TYPES, output_schema

    out = output_schema(columns)
    parts = []
    for file in files:
        data = pq.read_table(file)
        rows = data.num_rows
        arrays, rescued = [], [dict() for _ in range(rows)]
        for name, kind in columns:
            if name not in data.column_names:
                arrays.append(pa.nulls(rows, ARROW_TYPES[kind]))
                continue
            col = data.column(name)
            try:
                arrays.append(col.cast(ARROW_TYPES[kind]))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                arrays.append(pa.nulls(rows, ARROW_TYPES[kind]))
                for i, value in enumerate(col.to_pylist()):
                    rescued[i][name] = value
        known = {n for n, _ in columns}
        for name in (n for n in data.column_names if n not in known):
            for i, value in enumerate(data.column(name).to_pylist()):
                rescued[i][name] = value
        text = [json.dumps(r | {"_file_path": file}, default=str) if r else None for r in rescued]
        arrays += [pa.array(text, pa.string()), pa.repeat(pa.scalar(file), rows), pa.nulls(rows, pa.int32())]
        parts.append(pa.Table.from_arrays(arrays, schema=out))
    return pa.concat_tables(parts) if parts else out.empty_table()


def _with_metadata(table: pa.Table, files: list[str]) -> pa.Table:
    """`_metadata` per row, computed once per file and spread with `take` (no per-row work)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stats = {f: os.stat(f) for f in files}
    fields = pa.struct([("file_path", pa.string()), ("file_name", pa.string()), ("file_size", pa.int64()),
                        ("file_modification_time", pa.timestamp("us", tz="UTC"))])
    if table.num_rows == 0:
        return table.append_column(METADATA, pa.array([], fields))
    encoded = pc.dictionary_encode(table["_source_file"]).combine_chunks()
    paths = encoded.dictionary.to_pylist()
    per_file = pa.array([{"file_path": p, "file_name": os.path.basename(p), "file_size": stats[p].st_size,
                          "file_modification_time": stats[p].st_mtime_ns // 1000} for p in paths], fields)
    return table.append_column(METADATA, pc.take(per_file, encoded.indices))


def _stream_dir(request: SourceRequest) -> Path:
    """One checkpoint per stream (flow and path), as each Auto Loader stream has its own."""
    digest = hashlib.sha256(str(request.options["path"]).encode()).hexdigest()[:12]
    return request.state_dir / request.flow / digest


def _note_target(request: SourceRequest, stream: Path) -> None:
    """Record the target table's Delta version before a batch is written (see `_written_since_begin`)."""
    path = stream / _PENDING_TARGET
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{_PENDING_TARGET}.{os.getpid()}.tmp")  # atomic: a kill leaves the old or the new file
    tmp.write_text(json.dumps({"version": _delta_version(request.target_dir)}))
    os.replace(tmp, path)


def _written_since_begin(request: SourceRequest, stream: Path) -> Callable[[list[str]], set[str]]:
    """After a crash: the pending files reached the target iff its Delta version moved since they were begun (the
    flow's one write is the only commit to its target between begin and commit)."""

    def check(files: list[str]) -> set[str]:
        path = stream / _PENDING_TARGET
        before = json.loads(path.read_text())["version"] if path.exists() else None
        moved = before is not None and _delta_version(request.target_dir) > before
        return set(files) if moved else set()

    return check


def _delta_version(table_dir: Path | None) -> int:
    log = None if table_dir is None else table_dir / "_delta_log"
    if log is None or not log.is_dir():
        return -1
    return max((int(p.stem) for p in log.glob("*.json") if p.stem.isdigit()), default=-1)


# Registered once, on import: a caller may re-register the name (the benchmark wraps it to time ingestion).
register_streaming_source(SOURCE, read_cloud_files, hidden_columns=(METADATA,))
