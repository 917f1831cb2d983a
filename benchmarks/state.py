"""Generated landing drops and storage snapshots, reused across benchmark runs and scripts.

Generating a size's drops and building its history take minutes to an hour; the measured work takes
seconds. So drops are kept per generator config (regenerated when the config changes) and a state is
snapshotted once and restored by hard links before every measured run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path
from typing import Any

from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.datagen.schema import manifest_path


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def generate(config: GeneratorConfig, landing: Path, first: date, last: date) -> dict[str, Any]:
    """Write the drops (reused when this exact config already wrote them); per-day seconds and rows."""
    marker = landing / manifest_path(last)
    if marker.exists() and json.loads(marker.read_text()).get("config") == config.to_dict():
        log(f"landing data for {first}..{last} already in {landing} (reused, generator not timed)")
        return {"reused": True}
    shutil.rmtree(landing, ignore_errors=True)
    days: list[dict[str, Any]] = []
    last_tick = time.perf_counter()

    def progress(day: date) -> None:
        nonlocal last_tick
        now = time.perf_counter()
        days.append({"day": day.isoformat(), "seconds": now - last_tick})
        last_tick = now
        if len(days) == 1 or len(days) % 10 == 0 or day == last:
            log(f"  generated {day} ({days[-1]['seconds']:.1f} s)")

    started = time.perf_counter()
    manifests = generate_range(config, landing, first, last, progress)
    seconds = time.perf_counter() - started
    for entry, manifest in zip(days, manifests):
        entry["rows"] = {s: f["rows"] for s, f in manifest["files"].items()}
        entry["bytes"] = sum(f["bytes"] for f in manifest["files"].values())
    total_rows = sum(sum(d["rows"].values()) for d in days)
    return {"reused": False, "seconds": seconds, "rows": total_rows, "rows_per_s": total_rows / seconds,
            "bytes": sum(d["bytes"] for d in days), "days": days}


def restore(snapshot: Path, live: Path) -> None:
    """`live` := a hard-link copy of `snapshot` (writers only add files or replace them by rename)."""
    shutil.rmtree(live, ignore_errors=True)
    subprocess.run(["cp", "-al", str(snapshot), str(live)], check=True)
