"""generate_range: simulate the world from world_start and write the drops of a date range.

Why: the single entry point. The world is always simulated from world_start and every draw
is seeded by (seed, day, stream), so a day's drop is the same bytes whether it is generated
alone, within any range, or in another process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from lakehouse.local.datagen import defects, delivery, drift, events, incident, render, writer
from lakehouse.local.datagen.config import GeneratorConfig
from lakehouse.local.datagen.schema import SOURCES, manifest_path, relative_path
from lakehouse.local.datagen.table import Table, n_rows, take
from lakehouse.local.datagen.world import World

CHUNK_ROWS = 500_000  # rows rendered at a time, to bound memory
EVENT_SOURCES = {"transactions": events.transactions, "support": events.support}


def generate_range(
    config: GeneratorConfig,
    landing: Path,
    start: date,
    end: date,
    progress: Callable[[date], None] | None = None,
) -> list[dict[str, Any]]:
    """Write the drops of `start`..`end` (inclusive) under `landing`; returns their manifests.

    Raises ValueError when end < start or start < config.world_start. `progress` is called
    with each day once its drop is complete.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if start < config.world_start:
        raise ValueError(f"start {start} is before world_start {config.world_start}: there is no drop before it")
    landing = Path(landing)
    world = World(config)
    first_event_day = start - timedelta(days=delivery.LOOKBACK_DAYS)
    history: dict[str, dict[date, Table]] = {source: {} for source in EVENT_SOURCES}
    manifests = []
    while world.day != end:
        state = world.advance()
        day = state.day
        if day < first_event_day:
            continue
        for source, make in EVENT_SOURCES.items():
            batch = delivery.mark(config, source, day, make(config, state))
            history[source][day] = defects.mark(config, source, day, batch)
            history[source].pop(day - timedelta(days=delivery.LOOKBACK_DAYS + 1), None)
        if day < start:
            continue
        drop = {
            "customers": defects.mark(config, "customers", day, events.customers(config, state)),
            "transactions": delivery.assemble(day, history["transactions"]),
            "support": delivery.assemble(day, history["support"]),
            "churn": defects.mark(config, "churn", day, events.churn(state)),
        }
        manifests.append(_write_day(config, landing, day, drop))
        if progress is not None:
            progress(day)
    return manifests


def _write_day(
    config: GeneratorConfig, landing: Path, day: date, drop: dict[str, Table]
) -> dict[str, Any]:
    layout = defects.layout(config, day)
    files: dict[str, bytes] = {}
    manifest: dict[str, Any] = {
        "date": day.isoformat(),
        "config": config.to_dict(),
        "drift": drift.describe(config, day),
        "files": {},
        "defects": [],
        "file_defects": [],
        "realism": {
            "weekday_factor": float(events.WEEKDAY_FACTOR[day.weekday()]),
            "late": [],
            "duplicates": [],
        },
    }
    if day == config.incident_day:
        clean = drop[incident.SOURCE]
        manifest["incident"] = incident.entry(day, clean)
        files[manifest["incident"]["correction"]] = _render(incident.SOURCE, clean, layout.get(incident.SOURCE))[0]
        drop = {**drop, incident.SOURCE: incident.convert(clean)}
    for source, frame in drop.items():
        path = relative_path(source, day)
        broken = source == incident.SOURCE and day == config.incident_day
        data, columns, codes = _render(source, frame, layout.get(source), broken)
        files[path] = data
        manifest["files"][source] = {
            "path": path,
            "format": SOURCES[source].format,
            "rows": n_rows(frame),
            "columns": columns,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        manifest["defects"] += defects.entries(source, path, frame, codes)
        if source in layout:
            manifest["file_defects"].append(defects.file_entry(layout[source], path))
        if "duplicate" in frame:
            manifest["realism"]["late"] += delivery.late_entries(source, day, frame)
            manifest["realism"]["duplicates"] += delivery.duplicate_entries(source, frame)
    (landing / incident.corrected_path(day)).unlink(missing_ok=True)  # delivered after an earlier generation
    writer.write_drop(landing, files, manifest_path(day), _manifest_text(manifest).encode())
    return manifest


def _render(
    source: str, frame: Table, layout_defect: defects.LayoutDefect | None, incident_file: bool = False
) -> tuple[bytes, list[str], np.ndarray]:
    """The file bytes, its columns and the defect codes applied to its rows (`incident_file`: as the broken feed
    sent them, lakehouse.local.datagen.incident)."""
    fmt = SOURCES[source].format
    chunks, codes, columns = [], [], []
    for lo in range(0, max(n_rows(frame), 1), CHUNK_ROWS):
        part = take(frame, slice(lo, lo + CHUNK_ROWS))
        encoded = render.fields(source, part)
        if incident_file:
            encoded = incident.relabel(part, encoded)
        fields, applied = defects.inject(source, part, encoded, layout_defect)
        chunks.append(render.concat(defects.break_lines(source, render.lines(fmt, fields), applied)))
        codes.append(applied)
        columns = list(fields)
    return render.header(fmt, columns) + b"".join(chunks), columns, np.concatenate(codes)


def _manifest_text(manifest: dict[str, Any]) -> str:
    """JSON with one top-level key, file or list entry per line: readable and greppable."""

    def records(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    def text(v: Any, pad: str) -> str:
        if records(v):
            return "[\n" + ",\n".join(pad + " " + json.dumps(x) for x in v) + "\n" + pad + "]"
        if isinstance(v, dict) and any(isinstance(x, dict) or records(x) for x in v.values()):
            items = (f"{pad} {json.dumps(k)}: {text(x, pad + ' ')}" for k, x in v.items())
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        return json.dumps(v)

    return text(manifest, "") + "\n"
