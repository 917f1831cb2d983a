"""Tolerant parsing of one landing file (JSON lines, or CSV with or without a header) into an Arrow table.

Why: Sail fails a whole read on one malformed line and has no rescued-data column, so landing files
are parsed here, with Auto Loader's rescued-data semantics. Every non-blank line becomes exactly one
row. A value that does not fit its column's type, and a field that is not in the schema, go to
`_rescued_data` (a JSON object of the original values plus `_file_path`) and the typed column is
null; a missing field is just null. A line that cannot be parsed at all (not a JSON object, a CSV row
with the wrong field count) becomes a row of nulls whose `_rescued_data` holds `_corrupt_record`.
Invalid UTF-8 is decoded with replacement and the line is rescued with `_invalid_utf8` (the line with
the undecodable bytes escaped). Empty lines are skipped and counted. `_source_file` and `_line`
(1-based; a CSV header is line 1) name the exact origin of every row. A CSV file without a header (`ReaderOptions`)
maps its fields to the schema's columns by position, as Spark's CSV reader does given a schema; a multiLine JSON
file's records are numbered as lines.

Speed: pyarrow parses the whole file with every CSV column read as a string, then values are checked
and cast column by column with vectorized regexes; Python only touches the JSON lines pyarrow rejects
(located from its error's row number) and the rows that get a `_rescued_data` entry.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

RESCUED, SOURCE_FILE, LINE = "_rescued_data", "_source_file", "_line"
CORRUPT_RECORD, INVALID_UTF8, FILE_PATH = "_corrupt_record", "_invalid_utf8", "_file_path"
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
FORMATS = {"json": "json", "jsonl": "json", "csv": "csv"}
Schema = Sequence[tuple[str, str]]

# What pyarrow's JSON reader yields per column: temporal values stay strings and are checked below.
_JSON_TYPES = {**ARROW_TYPES, "int": pa.int64(), "date": pa.string(), "timestamp": pa.string()}
# Strict text forms of CSV values and JSON temporal strings. The pattern is the definition: a cast of
# its matches cannot fail, except for days beyond the month's end (2026-02-30), see _real_days.
_YEAR = r"([1-9]\d{3}|0[1-9]\d\d|00[1-9]\d|000[1-9])"
_DATE = _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_PATTERNS = {
    "bigint": r"^-?\d+$",
    "int": r"^-?\d+$",
    "double": r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$",
    "date": f"^{_DATE}$",
    "timestamp": f"^{_DATE}[T ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{{1,6}})?)?"
    r"(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)$",
}
_INT32 = (-(2**31), 2**31 - 1)
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_ROW_IN_ERROR = re.compile(r"in row (\d+)")
_SCAN_CHUNK = 1 << 22  # newline scan in 4 MiB pieces: one full-size mask costs more in page faults
_SLAB = 1 << 20  # bytes per pyarrow JSON call: error row numbers are relative to one block
_BISECT_MIN = 8  # lines below which a failing JSON range goes to Python without further splitting
csv.field_size_limit(2**31 - 1)  # the csv module's 128 KiB default would make a long value a corrupt record


@dataclass(frozen=True)
class ReaderOptions:
    """Spark's file reader options the parser honours: CSV `header` (default true here, the landing contract's files
    have one) and field separator `sep`; JSON `multiLine` (a file is one JSON record or an array of records, read
    as one line per record; a file that does not parse is one corrupt record)."""

    header: bool = True
    sep: str = ","
    multi_line: bool = False


@dataclass(frozen=True)
class FileStats:
    """What one file produced, for the runtime's log line and event log."""

    file: str
    rows: int
    rescued: int  # rows with a `_rescued_data` entry (corrupt lines included)
    corrupt: int  # lines that could not be parsed at all
    blank: int  # empty lines, skipped (rows + blank + CSV header = lines in the file)
    bytes: int


def output_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema of every parse result for `schema`."""
    _check_schema(schema)
    fields = [pa.field(name, ARROW_TYPES[kind]) for name, kind in schema]
    extra = [pa.field(RESCUED, pa.string()), pa.field(SOURCE_FILE, pa.string()), pa.field(LINE, pa.int32())]
    return pa.schema(fields + extra)


def parse_file(path: str | os.PathLike[str], fmt: str, schema: Schema,
               reader_options: ReaderOptions = ReaderOptions()) -> tuple[pa.Table, FileStats]:
    """Parse one file ("json" = JSON lines, or "csv") into a table of `output_schema(schema)`."""
    out_schema = output_schema(schema)
    if fmt not in FORMATS:
        raise ValueError(f"unsupported format {fmt!r}: use one of {sorted(FORMATS)}")
    source = os.path.abspath(path)
    raw_bytes = Path(path).read_bytes()
    data = raw_bytes.removeprefix(b"\xef\xbb\xbf")
    if not data:
        return out_schema.empty_table(), FileStats(source, 0, 0, 0, 0, len(raw_bytes))
    if FORMATS[fmt] == "json" and reader_options.multi_line:
        data = json_records(data)
    lines = _Lines.of(data)
    notes: dict[int, dict[str, Any]] = {}
    if not _valid_utf8(data):
        data, notes = _repair_utf8(data, lines)
        lines = _Lines.of(data)
    if FORMATS[fmt] == "csv":
        raw, line_no, corrupt = _parse_csv(data, lines, schema, notes, reader_options)
    else:
        raw, line_no, corrupt = _parse_json(data, lines, schema, notes)
    header = 1 if FORMATS[fmt] == "csv" and reader_options.header else 0
    blank = int(np.count_nonzero(lines.end[header:] == lines.start[header:]))
    table, rescued = _finish(raw, line_no, notes, schema, out_schema, source)
    return table, FileStats(source, table.num_rows, rescued, corrupt, blank, len(raw_bytes))


def _check_schema(schema: Schema) -> None:
    names = [name for name, _ in schema]
    unknown = [f"{name} {kind}" for name, kind in schema if kind not in ARROW_TYPES]
    if unknown:
        raise ValueError(f"unsupported column types {unknown}: use one of {sorted(ARROW_TYPES)}")
    if len(set(names)) != len(names) or {RESCUED, SOURCE_FILE, LINE} & set(names):
        raise ValueError(f"column names must be unique and not {RESCUED}, {SOURCE_FILE} or {LINE}: {names}")


@dataclass(frozen=True)
class _Lines:
    """Byte offsets of every line; [start, end) is its text without the newline and a trailing CR."""

    start: np.ndarray
    end: np.ndarray

    @classmethod
    def of(cls, data: bytes) -> _Lines:
        b = np.frombuffer(data, np.uint8)
        pieces = [np.flatnonzero(b[o : o + _SCAN_CHUNK] == 10) + o for o in range(0, len(b), _SCAN_CHUNK)]
        newlines = np.concatenate(pieces)
        stop = newlines if data.endswith(b"\n") else np.append(newlines, len(b))
        start = np.concatenate(([0], newlines + 1))[: len(stop)]
        cr = (stop > start) & (b[np.maximum(stop - 1, 0)] == 13)
        return cls(start, stop - cr)

    def text(self, data: bytes, i: int) -> str:
        return data[self.start[i] : self.end[i]].decode()


def _valid_utf8(data: bytes) -> bool:
    """Arrow's SIMD check of the whole buffer (zero copy), far faster than bytes.decode."""
    offsets = pa.py_buffer(np.array([0, len(data)], np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _repair_utf8(data: bytes, lines: _Lines) -> tuple[bytes, dict[int, dict[str, Any]]]:
    """Decode the lines holding invalid UTF-8 with replacement; note each with its escaped original."""
    b = np.frombuffer(data, np.uint8)
    suspects = np.unique(np.searchsorted(lines.start, np.flatnonzero(b >= 0x80), side="right") - 1)
    pieces, notes, pos = [], {}, 0
    for i in suspects.tolist():
        raw = data[lines.start[i] : lines.end[i]]
        try:
            raw.decode()
        except UnicodeDecodeError:
            notes[i + 1] = {INVALID_UTF8: raw.decode("utf-8", "backslashreplace")}
            pieces += [data[pos : lines.start[i]], raw.decode("utf-8", "replace").encode()]
            pos = int(lines.end[i])
    return b"".join(pieces + [data[pos:]]), notes


# -- CSV -------------------------------------------------------------------------------------------
def _parse_csv(data: bytes, lines: _Lines, schema: Schema, notes: dict,
               options: ReaderOptions) -> tuple[pa.Table, np.ndarray, int]:
    """Rows as strings keyed by header name (without a header, the schema's names in order); wrong field counts
    become corrupt records."""
    body = np.flatnonzero(lines.end > lines.start)
    if options.header:
        notes.pop(1, None)  # the header is not a row
        header = next(csv.reader([lines.text(data, 0)], delimiter=options.sep), None) or [""]
        body = body[body > 0]
    else:
        header = [name for name, _ in schema]
    cells, good = _csv_arrow(data, lines, body, len(header), options)
    if cells is None:
        cells, good = _csv_python(data, lines, body, len(header), options.sep)
    bad = np.setdiff1d(body, good, assume_unique=True)
    for i in bad.tolist():
        notes.setdefault(i + 1, {})[CORRUPT_RECORD] = lines.text(data, i)
    named = {}
    for pos, name in enumerate(header):  # a repeated name is rescued as name + position, as Spark names it
        named[f"{name}{pos}" if name in named else name] = cells[pos]
    names = {name for name, _ in schema}
    columns = {name: named.get(name, pa.nulls(len(good), pa.string())) for name, _ in schema}
    columns |= {name: col for name, col in named.items() if name not in names}
    raw = pa.table(columns)
    if len(bad):
        raw = pa.concat_tables([raw, pa.table({n: pa.nulls(len(bad), pa.string()) for n in columns})])
    return raw, np.concatenate([good, bad]) + 1, len(bad)


def _csv_arrow(data: bytes, lines: _Lines, body: np.ndarray, width: int,
               options: ReaderOptions) -> tuple[list | None, np.ndarray]:
    """pyarrow's reader, kept only when its rows map one to one onto the non-blank lines."""
    if not len(body):
        return [pa.array([], pa.string())] * width, body
    names = [f"f{i}" for i in range(width)]
    skipped: list[int] = []

    def on_invalid(row: Any) -> str:
        skipped.append(row.number)
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(int(lines.start[1]) if options.header else 0)),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),  # threads lose row numbers
            parse_options=pa_csv.ParseOptions(delimiter=options.sep, invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True, null_values=[""]
            ),
        )
    except pa.ArrowInvalid:
        return None, body
    idx = np.asarray(skipped, np.int64) - 1
    if table.num_rows + len(idx) != len(body) or (len(idx) and (idx.min() < 0 or idx.max() >= len(body))):
        return None, body  # e.g. a quoted value spanning lines: not one row per line
    return [table.column(n).combine_chunks() for n in names], np.delete(body, idx)


def _csv_python(data: bytes, lines: _Lines, body: np.ndarray, width: int, sep: str) -> tuple[list, np.ndarray]:
    """Line by line with the csv module: the reference semantics, used when pyarrow's rows do not align."""
    rows, good = [], []
    for i in body.tolist():
        try:
            fields = next(csv.reader([lines.text(data, i)], delimiter=sep, strict=True))
        except csv.Error:
            continue
        if len(fields) == width:
            rows.append(fields)
            good.append(i)
    columns = [pa.array([row[k] or None for row in rows], pa.string()) for k in range(width)]
    return columns, np.asarray(good, np.int64)


# -- JSON lines ------------------------------------------------------------------------------------
def json_records(data: bytes) -> bytes:
    """A multiLine JSON file as JSON lines: its record, or its array's records, one per line; a file that does not
    parse becomes one line (a corrupt record), as Spark gives one corrupt row for it."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return b" ".join(data.splitlines()) + b"\n"
    records = parsed if isinstance(parsed, list) else [parsed]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()



def _parse_json(data: bytes, lines: _Lines, schema: Schema, notes: dict) -> tuple[pa.Table, np.ndarray, int]:
    """pyarrow parses every line that looks like an object; the lines it rejects are parsed in Python."""
    b = np.frombuffer(data, np.uint8)
    nonblank = np.flatnonzero(lines.end > lines.start)
    looks = (b[lines.start[nonblank]] == ord("{")) & (b[lines.end[nonblank] - 1] == ord("}"))
    fast_lines, slow = nonblank[looks], nonblank[~looks].tolist()
    if len(fast_lines) == len(lines.start) and data.endswith(b"\n"):
        buf, offsets = pa.py_buffer(data), lines.start
    else:
        buf, offsets = _join(data, lines, fast_lines)
    read_schema = pa.schema([(name, _JSON_TYPES[kind]) for name, kind in schema])
    tables: list[tuple[pa.Table, np.ndarray]] = []
    for lo, hi in _slabs(offsets, buf.size):
        _scan(buf, offsets, fast_lines, lo, hi, read_schema, tables, slow)
    names = {name for name, _ in schema}
    parts, line_idx = [], []
    for table, ids in tables:
        extras = [c for c in table.column_names if c not in names]
        if extras:
            has = np.zeros(table.num_rows, bool)
            for c in extras:
                has |= table.column(c).is_valid().to_numpy(zero_copy_only=False)
            for i in ids[has].tolist():
                obj = json.loads(lines.text(data, i))
                extra = {k: v for k, v in obj.items() if k not in names and v is not None}
                notes.setdefault(i + 1, {}).update(extra)
        parts.append(table.select(read_schema.names))
        line_idx.append(ids)
    slow, corrupt, rows = sorted(slow), 0, []
    for i in slow:
        values, rescued = _json_row(lines.text(data, i), schema, names)
        corrupt += CORRUPT_RECORD in rescued
        if rescued:
            notes.setdefault(i + 1, {}).update(rescued)
        rows.append(values)
    by_column = list(zip(*rows)) if rows else [()] * len(schema)
    parts.append(pa.table([pa.array(list(c), t) for c, t in zip(by_column, read_schema.types)],
                          schema=read_schema))
    line_idx.append(np.asarray(slow, np.int64))
    return pa.concat_tables(parts), np.concatenate(line_idx) + 1, corrupt


def _join(data: bytes, lines: _Lines, ids: np.ndarray) -> tuple[pa.Buffer, np.ndarray]:
    """Concatenate the given lines, each newline-terminated, copying runs of adjacent lines at once."""
    if not len(ids):
        return pa.py_buffer(b""), ids
    pieces, offsets, base = [], [], 0
    for run in np.split(ids, np.flatnonzero(np.diff(ids) != 1) + 1):
        lo, hi = int(lines.start[run[0]]), int(lines.end[run[-1]])
        pieces += [memoryview(data)[lo:hi], b"\n"]
        offsets.append(lines.start[run] - lo + base)
        base += hi - lo + 1
    return pa.py_buffer(b"".join(pieces)), np.concatenate(offsets)


def _slabs(offsets: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Line ranges of about _SLAB bytes each (at least one line)."""
    cuts = np.unique(np.searchsorted(offsets, np.arange(_SLAB, size, _SLAB)))
    bounds = [0, *[int(c) for c in cuts if 0 < c < len(offsets)], len(offsets)]
    return [(lo, hi) for lo, hi in zip(bounds, bounds[1:]) if hi > lo]


def _scan(buf: pa.Buffer, offsets: np.ndarray, ids: np.ndarray, lo: int, hi: int, schema: pa.Schema,
          tables: list, slow: list) -> None:
    """Parse lines [lo, hi) of buf with pyarrow; a rejected line (from the error's row number, else by
    bisection) goes to `slow`. The good lines before a rejected one are parsed again together at the end."""
    stack, kept = [(lo, hi)], []
    while stack:
        a, z = stack.pop()
        end = int(offsets[z]) if z < len(offsets) else buf.size
        result = _read_json(buf.slice(int(offsets[a]), end - int(offsets[a])), schema, z - a)
        if isinstance(result, pa.Table):
            tables.append((result, ids[a:z]))
        elif result is not None:
            slow.append(int(ids[a + result]))
            kept += [(a, a + result)] if result else []
            stack += [(a + result + 1, z)] if a + result + 1 < z else []
        elif z - a <= _BISECT_MIN:
            slow.extend(ids[a:z].tolist())
        else:
            mid = (a + z) // 2
            stack += [(mid, z), (a, mid)]
    if kept:
        sub_buf, sub_offsets = _join_ranges(buf, offsets, kept)
        sub_ids = np.concatenate([ids[a:z] for a, z in kept])
        _scan(sub_buf, sub_offsets, sub_ids, 0, len(sub_ids), schema, tables, slow)


def _join_ranges(buf: pa.Buffer, offsets: np.ndarray, ranges: list[tuple[int, int]]
                 ) -> tuple[pa.Buffer, np.ndarray]:
    pieces, sub, base = [], [], 0
    for a, z in sorted(ranges):
        lo, hi = int(offsets[a]), int(offsets[z])  # z < len: a kept range always precedes a rejected line
        pieces.append(memoryview(buf)[lo:hi])
        sub.append(offsets[a:z] - lo + base)
        base += hi - lo
    return pa.py_buffer(b"".join(pieces)), np.concatenate(sub)


def _read_json(piece: pa.Buffer, schema: pa.Schema, expected: int) -> pa.Table | int | None:
    """The table, or the 0-based row pyarrow rejected, or None when it does not say which (or when
    its rows do not match the lines)."""
    try:
        table = pa_json.read_json(
            pa.BufferReader(piece),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=piece.size + 1),
            parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
        )
    except pa.ArrowInvalid as exc:
        found = _ROW_IN_ERROR.search(str(exc))
        row = int(found.group(1)) if found else -1
        return row if 0 <= row < expected else None
    return table if table.num_rows == expected else None


def _json_row(text: str, schema: Schema, names: set[str]) -> tuple[list, dict[str, Any]]:
    """One line the fast path rejected: intermediate values per column, and what it rescues."""
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        return [None] * len(schema), {CORRUPT_RECORD: text}
    values, rescued = [], {}
    for name, kind in schema:
        value = obj.get(name)
        fitted = None if value is None else _fit_json(value, kind)
        if value is not None and fitted is None:
            rescued[name] = value
        values.append(fitted)
    rescued |= {k: v for k, v in obj.items() if k not in names and v is not None}
    return values, rescued


def _fit_json(value: Any, kind: str) -> Any:
    """The value in pyarrow's JSON representation of `kind`, or None when it does not fit.
    Like Spark, a string column takes any JSON value as its JSON text."""
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if kind in ("int", "bigint"):
        return value if type(value) is int and -(2**63) <= value < 2**63 else None
    if kind == "double":  # NaN and Infinity literals are accepted, as by pyarrow and Spark
        return float(value) if type(value) is float or (type(value) is int and abs(value) < 2**1024) else None
    if kind == "boolean":
        return value if type(value) is bool else None
    return value if isinstance(value, str) else None  # date, timestamp: checked as text later


# -- typing and assembly ---------------------------------------------------------------------------
def _typed(arr: pa.Array, kind: str) -> tuple[pa.Array, pa.Array]:
    """Cast one raw column to its type; returns the typed column and a mask of the values kept."""
    target = ARROW_TYPES[kind]
    if arr.type == target:
        return arr, arr.is_valid()
    if kind == "boolean":
        lower = pc.utf8_lower(arr)
        ok = pc.is_in(lower, pa.array(["true", "false"]))
        return pc.if_else(ok, pc.equal(lower, "true"), pa.scalar(None, pa.bool_())), ok
    if pa.types.is_integer(arr.type):  # JSON int column: only the int32 range can fail
        ok = pc.and_(pc.greater_equal(arr, _INT32[0]), pc.less_equal(arr, _INT32[1])).fill_null(False)
        return pc.if_else(ok, arr, pa.scalar(None, arr.type)).cast(target), ok
    ok = pc.match_substring_regex(arr, _PATTERNS[kind]).fill_null(False)
    if kind in ("int", "bigint"):
        ok = _fits_int64(arr, ok)
        as_int64 = pc.if_else(ok, arr, pa.scalar(None, pa.string())).cast(pa.int64())
        return _typed(as_int64, kind) if kind == "int" else (as_int64, ok)
    candidates = pc.if_else(ok, arr, pa.scalar(None, pa.string()))
    try:
        return candidates.cast(target), ok
    except pa.ArrowInvalid:  # a day that does not exist in its month (2026-02-30): keep real dates only
        ok = pc.and_(ok, _real_days(candidates))
        return pc.if_else(ok, arr, pa.scalar(None, pa.string())).cast(target), ok


def _real_days(text: pa.Array) -> pa.Array:
    """Whether the YYYY-MM-DD at the start of each (pattern-checked) value names a day of its month."""
    y, m, d = (pc.utf8_slice_codeunits(text, a, a + n).cast(pa.int32()).fill_null(1).to_numpy()
               for a, n in ((0, 4), (5, 2), (8, 2)))
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    return pa.array(d <= _DAYS_IN_MONTH[m - 1] + (leap & (m == 2)))


def _fits_int64(arr: pa.Array, ok: pa.Array) -> pa.Array:
    """Digit strings longer than 18 characters may overflow int64: check those few in Python."""
    long = np.flatnonzero(pc.and_(ok, pc.greater(pc.utf8_length(arr), 18)).to_numpy(zero_copy_only=False))
    if not len(long):
        return ok
    mask = ok.to_numpy(zero_copy_only=False).copy()
    for i, text in zip(long.tolist(), arr.take(long).to_pylist()):
        mask[i] = -(2**63) <= int(text) < 2**63
    return pa.array(mask)


def _finish(raw: pa.Table, line_no: np.ndarray, notes: dict[int, dict], schema: Schema, out: pa.Schema,
            source: str) -> tuple[pa.Table, int]:
    """Rows in line order, typed columns, and the `_rescued_data` JSON of every row that rescued something."""
    if len(line_no) and np.any(np.diff(line_no) < 0):
        order = np.argsort(line_no, kind="stable")
        raw, line_no = raw.take(order), line_no[order]
    rescued: dict[int, dict[str, Any]] = {}
    for line, entry in notes.items():
        row = int(np.searchsorted(line_no, line))
        if row < len(line_no) and line_no[row] == line:
            rescued[row] = dict(entry)
    columns = []
    for name, kind in schema:
        arr = raw.column(name).combine_chunks()
        typed, ok = _typed(arr, kind)
        bad = np.flatnonzero(pc.and_not(arr.is_valid(), ok).to_numpy(zero_copy_only=False))
        _collect(rescued, name, bad, arr)
        columns.append(typed)
    names = {name for name, _ in schema}
    for name in raw.column_names:
        if name not in names:  # CSV columns that are not in the schema
            arr = raw.column(name).combine_chunks()
            _collect(rescued, name, np.flatnonzero(arr.is_valid().to_numpy(zero_copy_only=False)), arr)
    n = raw.num_rows
    order = {name: i for i, (name, _) in enumerate(schema)}
    texts = [
        json.dumps(
            dict(sorted(rescued[row].items(), key=lambda kv: order.get(kv[0], len(order)))) | {FILE_PATH: source},
            ensure_ascii=False, separators=(",", ":"),
        )
        for row in sorted(rescued)
    ]
    idx = np.full(n, len(texts), np.int64)
    idx[sorted(rescued)] = np.arange(len(texts))
    columns += [
        pa.array(texts + [None], pa.string()).take(pa.array(idx)),
        pa.repeat(pa.scalar(source), n),
        pa.array(line_no.astype(np.int32)),
    ]
    return pa.Table.from_arrays(columns, schema=out), len(texts)


def _collect(rescued: dict[int, dict], name: str, rows: np.ndarray, arr: pa.Array) -> None:
    if len(rows):
        for row, value in zip(rows.tolist(), arr.take(pa.array(rows)).to_pylist()):
            rescued.setdefault(row, {})[name] = value
