"""Auto Loader's schema inference and evolution for `cloudFiles` without `.schema(...)` (auto_loader.py).

As Databricks documents it (https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/schema):
* the schema is inferred once, from the first files (up to 1000), and stored in `cloudFiles.schemaLocation`
  (in a pipeline a location the pipeline manages: locally under the stream's checkpoint folder); later updates use
  the stored schema;
* JSON and CSV columns are strings unless `cloudFiles.inferColumnTypes` is true; `cloudFiles.schemaHints`
  (`name TYPE, ...`) override the inferred types; JSON fields come in name order, as Spark's JSON inference sorts
  them, CSV columns in header order (`header` false: `_c0`, `_c1`, ..., as Spark names them);
* a `_rescued_data` column is added (named by `rescuedDataColumn` when given);
* `cloudFiles.schemaEvolutionMode` `addNewColumns` (the default): a file with a column the schema lacks stops the
  stream with an error after the new columns were appended to the stored schema, so the next update reads them.
  Databricks pipelines retry such an update by themselves; locally, rerun it.
Nested JSON values and types beyond the parser's (string, bigint, int, double, boolean, date, timestamp) are inferred
as strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.core.declared_schema import parse

if TYPE_CHECKING:  # pyarrow loads when files are read
    from lakehouse.local.ingest.parse import ReaderOptions

SAMPLE_FILES = 1000
_SCHEMAS = "_schemas"
_INT = re.compile(r"^-?\d+$")
_DOUBLE = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$")
_WIDER = ["int", "bigint", "double", "string"]
Columns = list[tuple[str, str]]


class SchemaEvolved(Exception):
    """New columns were found and stored; the next update reads them (Auto Loader's UnknownFieldException)."""


def stream_schema(files: Sequence[str], fmt: str, options: Mapping[str, str], location: Path) -> Columns:
    """The stream's schema: stored, or inferred now and stored; raises SchemaEvolved when `files` add columns."""
    current = _stored(location)
    if current is None:
        current = _hinted(infer(files[:SAMPLE_FILES], fmt, _true(options, "cloudFiles.inferColumnTypes"),
                                reader_options(options)), options)
        _store(location, current)
        return current
    mode = options.get("cloudFiles.schemaEvolutionMode", "addNewColumns")
    known = {name for name, _ in current}
    inferred = infer(files, fmt, _true(options, "cloudFiles.inferColumnTypes"), reader_options(options))
    new = [c for c in inferred if c[0] not in known]
    if new and mode == "addNewColumns":
        _store(location, current + _hinted(new, options))
        raise SchemaEvolved(
            f"new column(s) {[n for n, _ in new]} in the input: added to the stream's schema at {location}; rerun the "
            "update to read them (Auto Loader addNewColumns; Databricks pipelines retry by themselves)"
        )
    return current


def infer(files: Sequence[str], fmt: str, infer_types: bool, csv: ReaderOptions) -> Columns:
    """The columns of `files` with their types (all strings for JSON/CSV unless `infer_types`)."""
    seen: dict[str, str | None] = {}
    for file in files:
        for name, kind in _file_columns(file, fmt, infer_types, csv):
            seen[name] = _wider(seen.get(name), kind)
    names = sorted(seen) if fmt == "json" else list(seen)
    return [(n, seen[n] or "string") for n in names]


def reader_options(options: Mapping[str, str]) -> ReaderOptions:
    """CSV `header` (Spark's default: false) and `sep` / `delimiter` (default ","), JSON `multiLine` (default false)
    (https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/options, CSV and JSON options)."""
    from lakehouse.local.ingest.parse import ReaderOptions

    return ReaderOptions(header=_true(options, "header"), sep=options.get("sep", options.get("delimiter", ",")),
                         multi_line=_true(options, "multiLine"))


def _file_columns(file: str, fmt: str, infer_types: bool, options: ReaderOptions) -> list[tuple[str, str | None]]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        from lakehouse.local.ingest.parse import ARROW_TYPES

        by_arrow = {str(t): k for k, t in ARROW_TYPES.items()}
        return [(f.name, by_arrow.get(str(f.type), "string")) for f in pq.read_schema(file)]
    text = Path(file).read_text(errors="replace")
    if fmt == "csv":
        import csv

        rows = list(csv.reader((line for line in text.splitlines() if line), delimiter=options.sep))
        if options.header:
            header, body = (rows[0], rows[1:]) if rows else ([], [])
        else:
            header, body = [f"_c{i}" for i in range(max(map(len, rows), default=0))], rows
        return [(name, _column_type([r[i] for r in body if i < len(r)]) if infer_types else "string")
                for i, name in enumerate(header)]
    if options.multi_line:
        from lakehouse.local.ingest.parse import json_records

        text = json_records(Path(file).read_bytes()).decode(errors="replace")
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        try:
            record = json.loads(line) if line.strip() else None
        except ValueError:
            continue  # a corrupt record: rescued when the file is read
        for name, value in (record.items() if isinstance(record, dict) else ()):
            found[name] = _wider(found.get(name), _json_type(value) if infer_types else "string")
    return list(found.items())


def _json_type(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    return "string"


def _column_type(values: list[str]) -> str | None:
    present = [v for v in values if v != ""]
    if not present:
        return None
    if all(_INT.match(v) for v in present):
        return "int" if all(-(2**31) <= int(v) < 2**31 for v in present) else "bigint"
    if all(_DOUBLE.match(v) for v in present):
        return "double"
    if all(v.lower() in ("true", "false") for v in present):
        return "boolean"
    if all(_TIMESTAMP.match(v) for v in present):
        return "timestamp"
    return "string"


def _wider(a: str | None, b: str | None) -> str | None:
    if a is None or a == b:
        return b if a is None else a
    if b is None:
        return a
    if a in _WIDER and b in _WIDER:
        return _WIDER[max(_WIDER.index(a), _WIDER.index(b))]
    return "string"


def _hinted(columns: Columns, options: Mapping[str, str]) -> Columns:
    hints = options.get("cloudFiles.schemaHints")
    if not hints:
        return columns
    typed = {c.name: c.dtype for c in parse(hints, "cloudFiles.schemaHints").columns}
    return [(name, typed.get(name, kind)) for name, kind in columns] + \
        [(n, t) for n, t in typed.items() if n not in {c for c, _ in columns}]


def _true(options: Mapping[str, str], key: str) -> bool:
    return options.get(key, "false").lower() == "true"


def _stored(location: Path) -> Columns | None:
    versions = sorted((int(p.name) for p in (location / _SCHEMAS).glob("*") if p.name.isdigit()), reverse=True)
    if not versions:
        return None
    return [tuple(c) for c in json.loads((location / _SCHEMAS / str(versions[0])).read_text())["columns"]]


def _store(location: Path, columns: Columns) -> None:
    folder = location / _SCHEMAS
    folder.mkdir(parents=True, exist_ok=True)
    version = len([p for p in folder.glob("*") if p.name.isdigit()])
    tmp = folder / f".{version}.tmp"
    tmp.write_text(json.dumps({"columns": columns}))
    tmp.replace(folder / str(version))
