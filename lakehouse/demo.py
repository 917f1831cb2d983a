"""The README's main command: the system on generated data, as a first deployment would run it.

Generates the default history (skipped when the same drops are already there), runs the
offline feature pipeline over all but the last days as one full refresh, then for each of the
last days the daily incremental update, the online feature pipeline (MRDS, published to the
online store) and the data-quality validation (reports to Blob: Azurite locally), and says
where to look.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from lakehouse.azurite import local_blob
from lakehouse.datagen import GeneratorConfig, generate_range
from lakehouse.datagen.schema import manifest_path
from lakehouse.engine import spark_session
from lakehouse.errors import LakehouseError
from lakehouse.pipelines import run_pipeline
from lakehouse.progress import console, progress_bar
from lakehouse.settings import Settings
from lakehouse.status import status_table, table_status
from lakehouse.storage import TableStore, ensure_writable
from quality.validation import validate

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


def publish_mrds(spark: Any, settings: Settings) -> int:
    """Declare the feature tables' keys and publish the MRDS to the online store."""
    from ml.feature_store import feature_store, register_project_tables

    store = feature_store(spark, settings)
    register_project_tables(store, settings)
    return store.publish_table(name=settings.table("mrds"))


def _check(result: Any, what: str) -> None:
    if not result.ok:
        raise LakehouseError(f"{what} failed: {result.error}")


def run_demo(settings: Settings, config: GeneratorConfig, days: int) -> None:
    """Generate `days` of data, full refresh up to the last DAILY_DAYS, then one update per day."""
    first = config.world_start
    last = first + timedelta(days=days - 1)
    backfill_end = last - timedelta(days=DAILY_DAYS)
    generate_history(settings, config, first, last)
    reports: list[str] = []
    with local_blob(settings) as settings, spark_session(settings) as spark:
        console.rule(f"offline features: full refresh through {backfill_end}")
        _check(run_pipeline(spark, settings, "offline_features", backfill_end, full_refresh=True, console=console),
               "offline feature pipeline (full refresh)")
        for offset in range(DAILY_DAYS, 0, -1):
            day = last - timedelta(days=offset - 1)
            console.rule(f"daily run {day}")
            _check(run_pipeline(spark, settings, "offline_features", day, console=console),
                   f"offline feature pipeline for {day}")
            _check(run_pipeline(spark, settings, "online_features", day, console=console),
                   f"online feature pipeline for {day}")
            published = publish_mrds(spark, settings)
            console.print(f"online store: {published:,} MRDS rows published")
            quality = validate(spark, settings, day)
            console.print(f"data quality {day}: {quality.status}, gate {'passed' if quality.gate_passed else 'CLOSED'}"
                          f" ({len(quality.failed)} of {len(quality.checks)} checks failed)")
            reports.extend(quality.published)
        rows = table_status(TableStore(spark, settings))
    console.rule("done")
    console.print(status_table(f"{settings.catalog}.{settings.schema_name}", rows))
    console.print(f"\ntables: {settings.storage_root}\nlanding files: {settings.landing}\n"
                  f"data-quality reports: {', '.join(reports[-2:])}\n"
                  f"inspect: .venv/bin/lakehouse status; Blob: .venv/bin/lakehouse quality azurite")
