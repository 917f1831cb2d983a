"""The validation job on real pipeline tables: generated drops -> offline_features pipeline -> validate.

Clean data passes every check (with five days of history, so volume and distribution are judged too);
the generator's defects are caught by the declared checks; results keep one row per check and day.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date, timedelta

import pytest

from lakehouse.core.storage import TableStore
from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.pipelines import run_pipeline
from quality.history import RESULTS_TABLE
from quality.publish import Publisher
from quality.validation import validate

START = date(2026, 1, 1)
DAYS = 6
LAST = START + timedelta(days=DAYS - 1)


def warehouse(spark, base_settings, tmp_path_factory, defect_rate: float):
    """Settings of a warehouse holding DAYS generated days, run through the pipeline once (for LAST)."""
    root = tmp_path_factory.mktemp("dq")
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "landing_path": str(root / "landing"),
        "schema_name": f"t_{uuid.uuid4().hex[:10]}"})
    settings = settings.model_copy(update={"blob": settings.blob.model_copy(update={"local_dir": root / "reports"})})
    generate_range(GeneratorConfig(customers=2000, defect_rate=defect_rate, seed=7), settings.landing, START, LAST)
    assert run_pipeline(spark, settings, "offline_features", LAST, full_refresh=True).ok
    return settings


@pytest.fixture(scope="module")
def clean(spark, base_settings, tmp_path_factory):
    return warehouse(spark, base_settings, tmp_path_factory, 0.0)


def test_clean_data_passes_every_check_and_history_enables_the_trended_checks(spark, clean):
    results = [validate(spark, clean, START + timedelta(days=d)) for d in range(DAYS)]
    last = results[-1]
    assert last.status == "ok" and last.gate_passed, [(c.table, c.name, c.message) for c in last.failed]
    skipped = [c for c in last.checks if c.outcome == "skipped"]  # five earlier days: distribution judged, but
    assert skipped and {c.category for c in skipped} == {"volume"}  # volume waits for two of each weekday
    assert all("earlier Tuesdays in the history to allow for the weekly rhythm" in c.message for c in skipped)
    assert {c.category for c in last.checks} == {"schema", "completeness", "validity", "uniqueness", "referential",
                                                 "freshness", "volume", "distribution", "expectations"}
    assert last.rows["silver_transactions"] > 15_000 and last.expectations.state == "COMPLETED"
    assert [c.outcome for c in results[0].checks if c.category == "volume"] == ["skipped"] * 8
    store = TableStore(spark, clean)
    assert store.read(RESULTS_TABLE).where(f"run_date = DATE '{LAST}'").count() == len(last.checks)
    assert validate(spark, clean, LAST).status == "ok"  # a rerun replaces the day's rows, history intact
    assert store.read(RESULTS_TABLE).count() == sum(len(r.checks) for r in results)
    assert (clean.blob.local_dir / "lakehouse-reports" / "data-quality/2026/01/06/report.html").exists()
    assert Publisher(clean).pending() == []


def test_the_generators_defects_are_caught(spark, base_settings, tmp_path_factory):
    settings = warehouse(spark, base_settings, tmp_path_factory, 0.2)
    result = validate(spark, settings, LAST)
    failed = {(c.table, c.name) for c in result.failed}
    expected = {
        ("bronze_transactions", "rescued_data"),                  # malformed lines, "abc" amounts
        ("bronze_transactions", "completeness:transaction_id"),   # null keys
        ("bronze_transactions", "range:amount"),                  # negative amounts
        ("bronze_transactions", "allowed_values:category"),       # "???"
        ("bronze_customers", "completeness:customer_id"),
        ("event_log_offline_features", "expectations"),
    }
    assert expected <= failed, sorted(failed)
    assert ("silver_transactions", "range:amount") not in failed  # silver holds what passed the expectations
    sample = next(c for c in result.failed if c.name == "allowed_values:category" and c.table == "bronze_transactions")
    assert sample.samples and all(row["category"] == "???" for row in sample.samples)


def quality_cli(settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`lakehouse quality ...` in its own process (one engine per process), with the test's settings."""
    variables = {**os.environ, "LAKEHOUSE_STORAGE_ROOT": str(settings.storage_root),
                 "LAKEHOUSE_LANDING_PATH": str(settings.landing), "LAKEHOUSE_SCHEMA_NAME": settings.schema_name, **env}
    variables.pop("AZURE_STORAGE_CONNECTION_STRING", None)
    code = "from lakehouse.app.quality_cli import quality; quality(prog_name='lakehouse quality')"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=variables, timeout=300)


def test_cli_publishes_to_a_local_azurite_by_default_and_exits(clean):
    run = quality_cli(clean, "validate", "--date", LAST.isoformat())
    assert run.returncode == 0, run.stdout + run.stderr
    assert "data quality 2026-01-06: ok (0 failed of" in run.stdout and "gate passed" in run.stdout
    assert "report: http://127.0.0.1:" in run.stdout and "/lakehouse-reports/data-quality/2026/01/06/report.html" in run.stdout
    assert (clean.storage_root.parent / "azurite").is_dir()  # persisted next to the warehouse


def test_cli_exits_1_when_the_gate_closes(clean, tmp_path):
    run = quality_cli(clean, "validate", "--date", "2026-02-01", LAKEHOUSE_BLOB__LOCAL_DIR=str(tmp_path))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "gate CLOSED" in run.stdout
    assert "error silver_transactions volume: 0 rows, fewer than 1" in run.stdout
    assert (tmp_path / "lakehouse-reports" / "data-quality/2026/02/01/report.json").exists()
