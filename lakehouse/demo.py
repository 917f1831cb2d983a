"""The README's main command: the system on generated data, as a first deployment would run it.

Generates the default history (skipped when the same drops are already there), runs the
offline feature pipeline over all but the last days as one full refresh, then the daily
incremental updates for each of the last days, and says where to look.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from lakehouse.datagen import GeneratorConfig, generate_range
from lakehouse.datagen.schema import manifest_path
from lakehouse.engine import spark_session
from lakehouse.errors import LakehouseError
from lakehouse.pipelines import run_pipeline
from lakehouse.progress import console, progress_bar
from lakehouse.settings import Settings
from lakehouse.status import table_status
from lakehouse.storage import TableStore, ensure_writable

DAILY_DAYS = 7


def _already_generated(config: GeneratorConfig, settings: Settings, last: date) -> bool:
    path = settings.landing / manifest_path(last)
    return path.exists() and json.loads(path.read_text()).get("config") == config.to_dict()


def generate_history(settings: Settings, config: GeneratorConfig, first: date, last: date) -> None:
    """Write the drops of first..last unless exactly these drops are already in the landing zone."""
    if _already_generated(config, settings, last):
        console.print(f"source data for {first}..{last} already in {settings.landing}")
        return
    ensure_writable(settings.landing, "landing path")
    with progress_bar("generating source data", (last - first).days + 1) as advance:
        generate_range(config, settings.landing, first, last, progress=lambda d: advance(str(d)))


def _check(result: Any, what: str) -> None:
    if not result.ok:
        raise LakehouseError(f"{what} failed: {result.error}")


def run_demo(settings: Settings, config: GeneratorConfig, days: int) -> None:
    """Generate `days` of data, full refresh up to the last DAILY_DAYS, then one update per day."""
    first = config.world_start
    last = first + timedelta(days=days - 1)
    backfill_end = last - timedelta(days=DAILY_DAYS)
    generate_history(settings, config, first, last)
    with spark_session(settings) as spark:
        console.rule(f"offline features: full refresh through {backfill_end}")
        _check(run_pipeline(spark, settings, "offline_features", backfill_end, full_refresh=True, console=console),
               "offline feature pipeline (full refresh)")
        for offset in range(DAILY_DAYS, 0, -1):
            day = last - timedelta(days=offset - 1)
            console.rule(f"daily run {day}")
            _check(run_pipeline(spark, settings, "offline_features", day, console=console),
                   f"offline feature pipeline for {day}")
        rows = table_status(TableStore(spark, settings))
    console.rule("done")
    for r in rows:
        console.print(f"{r.table:<48} {r.rows:>12,} rows  v{r.version}  {r.latest_date or ''}", highlight=False)
    console.print(f"\ntables: {settings.storage_root}\nlanding files: {settings.landing}\n"
                  f"inspect: .venv/bin/lakehouse status")
