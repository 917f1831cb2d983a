"""Defect injection: records and file layouts broken on purpose, and exactly what was broken.

Why: the pipelines' quality gates and quarantine are tested against known defects. Each record
gets at most one defect, drawn with a stream of its event day, so a defect travels with its
record when it arrives late or twice. Layout defects are drawn per drop. Nothing is injected
when defect_rate is 0. Manifest entries are built from the same arrays that broke the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.local.datagen import render
from lakehouse.local.datagen.config import GeneratorConfig
from lakehouse.local.datagen.rng import Stream, day_rng
from lakehouse.local.datagen.schema import SOURCES
from lakehouse.local.datagen.table import Table, n_rows, take

NONE = -1  # defect code of a clean record


@dataclass(frozen=True)
class Defect:
    """One way to break a record: `value` replaces the field (None: null/empty field)."""

    kind: str
    column: str | None
    value: str | None = None


MALFORMED = Defect("malformed_line", None)
RECORD_DEFECTS: dict[str, tuple[Defect, ...]] = {
    "customers": (
        Defect("null_key", "customer_id"),
        MALFORMED,
        Defect("wrong_type", "monthly_fee", "ten"),
        Defect("unknown_category", "plan", "platinum"),
        Defect("unknown_category", "region", "atlantis"),
    ),
    "transactions": (
        Defect("null_key", "transaction_id"),
        Defect("null_key", "customer_id"),
        MALFORMED,
        Defect("wrong_type", "amount", "abc"),
        Defect("negative_amount", "amount"),
        Defect("unknown_category", "category", "???"),
    ),
    "support": (
        Defect("null_key", "interaction_id"),
        Defect("null_key", "customer_id"),
        MALFORMED,
        Defect("wrong_type", "satisfaction", "five"),
    ),
    "churn": (
        Defect("null_key", "customer_id"),
        MALFORMED,
    ),
}
STREAMS = {
    "customers": Stream.DEFECTS_CUSTOMERS,
    "transactions": Stream.DEFECTS_TRANSACTIONS,
    "support": Stream.DEFECTS_SUPPORT,
    "churn": Stream.DEFECTS_CHURN,
}


@dataclass(frozen=True)
class LayoutDefect:
    """A whole file with a column more or less than the contract."""

    source: str
    kind: str  # "added_column" (appended last) or "missing_column"
    column: str


LAYOUT_DEFECTS = (
    LayoutDefect("transactions", "added_column", "promo_code"),
    LayoutDefect("support", "missing_column", "satisfaction"),
)
PROMO_CODES = ("WELCOME10", "SPRING5", "", "", "", "", "")  # by transaction id modulo 7


def mark(config: GeneratorConfig, source: str, day: date, frame: Table) -> Table:
    """Add `defect`: the index into RECORD_DEFECTS[source] of each record's defect, or NONE."""
    n = n_rows(frame)
    code = np.full(n, NONE, dtype=np.int8)
    if config.defect_rate > 0:
        rng = day_rng(config.seed, day, STREAMS[source])
        hit = rng.random(n) < config.defect_rate
        code[hit] = rng.integers(0, len(RECORD_DEFECTS[source]), n)[hit]
    return {**frame, "defect": code}


def layout(config: GeneratorConfig, day: date) -> dict[str, LayoutDefect]:
    """The layout defects of the drop of `day`, by source."""
    if config.defect_rate == 0:
        return {}
    u = day_rng(config.seed, day, Stream.FILE_DEFECTS).random(len(LAYOUT_DEFECTS))
    return {d.source: d for d, x in zip(LAYOUT_DEFECTS, u) if x < config.file_defect_rate}


def inject(
    source: str, frame: Table, fields: render.Fields, layout_defect: LayoutDefect | None
) -> tuple[render.Fields, np.ndarray]:
    """Break the encoded fields of `frame` as marked; returns them and the defect codes applied.

    A record defect on a column the file lacks is not applied (its code becomes NONE).
    """
    fields = dict(fields)
    if layout_defect is not None and layout_defect.kind == "missing_column":
        del fields[layout_defect.column]
    elif layout_defect is not None:
        promo = pa.array(PROMO_CODES).take(pa.array(frame["id"] % len(PROMO_CODES)))
        fields[layout_defect.column] = promo
    codes = frame["defect"].copy()
    fmt = SOURCES[source].format
    for code, defect in enumerate(RECORD_DEFECTS[source]):
        hit = codes == code
        if defect.column is None or not hit.any():
            continue
        if defect.column not in fields:
            codes[hit] = NONE
            continue
        column = fields[defect.column]
        if defect.kind == "negative_amount":
            broken = pc.binary_join_element_wise("-", column.filter(pa.array(hit)), "")
        else:
            broken = pa.array([render.literal(fmt, defect.value)] * int(hit.sum()), pa.string())
        fields[defect.column] = pc.replace_with_mask(column, pa.array(hit), broken)
    return fields, codes


def break_lines(source: str, lines: pa.Array, codes: np.ndarray) -> pa.Array:
    """Truncate the malformed lines: JSON cut mid-object, CSV cut to half of its fields."""
    hit = codes == RECORD_DEFECTS[source].index(MALFORMED)
    if not hit.any():
        return lines
    csv = SOURCES[source].format == "csv"
    broken = []
    for line in lines.filter(pa.array(hit)).to_pylist():
        body = line[:-1]
        if csv:
            parts = body.split(",")
            body = ",".join(parts[: len(parts) // 2])
        else:
            body = body[: len(body) // 2]
        broken.append(body + "\n")
    return pc.replace_with_mask(lines, pa.array(hit), pa.array(broken, pa.string()))


def entries(source: str, file: str, frame: Table, codes: np.ndarray) -> list[dict[str, Any]]:
    """Manifest records of the defects applied, with 1-based line numbers in the file."""
    rows = np.flatnonzero(codes != NONE)
    first_line = 2 if SOURCES[source].format == "csv" else 1
    keys = render.record_ids(source, take(frame, rows)).to_pylist()
    options = RECORD_DEFECTS[source]
    return [
        {
            "source": source,
            "file": file,
            "line": int(row) + first_line,
            "kind": options[codes[row]].kind,
            "key": key,
            "column": options[codes[row]].column,
        }
        for row, key in zip(rows, keys)
    ]


def file_entry(defect: LayoutDefect, file: str) -> dict[str, Any]:
    """Manifest record of a layout defect."""
    return {"source": defect.source, "file": file, "kind": defect.kind, "column": defect.column}
