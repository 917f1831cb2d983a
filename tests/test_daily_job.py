"""The bundle's daily job on real pipelines: the data-quality gate stops training and scoring, resume skips work.

Six generated days with the last day's transactions drop missing: the offline and online pipelines
succeed, data quality finds the empty day (an error), the gate closes, train and score are Excluded.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from lakehouse.datagen import GeneratorConfig, generate_range
from lakehouse.jobs.history import runs
from lakehouse.jobs.runner import RunOptions, run_job
from lakehouse.jobs.spec import bundle_jobs
from lakehouse.storage import TableStore
from tests.landing import landing_file

START = date(2026, 1, 1)
LAST = START + timedelta(days=5)


@pytest.fixture(scope="module")
def gated(spark, base_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("daily")
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "landing_path": str(root / "landing"),
        "schema_name": f"t_{uuid.uuid4().hex[:10]}"})
    settings = settings.model_copy(update={"blob": settings.blob.model_copy(update={"local_dir": root / "reports"})})
    generate_range(GeneratorConfig(customers=1500, seed=11), settings.landing, START, LAST)
    landing_file(settings.landing, "transactions", LAST).unlink()
    daily = bundle_jobs()["churn_daily"]
    run = run_job(spark, settings, daily, LAST, RunOptions(full_refresh=True))
    return settings, daily, run


def test_a_closed_quality_gate_excludes_training_and_scoring(gated):
    settings, daily, run = gated
    assert run.status == {"offline_features": "SUCCESS", "online_features": "SUCCESS", "data_quality": "SUCCESS",
                          "publish_features": "SUCCESS", "quality_gate": "SUCCESS", "train": "EXCLUDED",
                          "score": "EXCLUDED"}, run.failures()
    assert run.tasks["data_quality"].values["gate_passed"] == "false"
    assert run.tasks["quality_gate"].values == {"outcome": "false"}
    assert run.leaves_ok(daily)  # as on Databricks: excluded tasks count as succeeded
    report = settings.blob.local_dir / settings.blob.container / f"data-quality/{LAST:%Y/%m/%d}/report.json"
    assert '"gate_passed": false' in report.read_text()


def test_resume_skips_what_succeeded_and_leaves_tables_untouched(spark, gated):
    settings, daily, _ = gated
    store = TableStore(spark, settings)
    versions = {t: store.version(t) for t in ("ards", "mrds", "silver_transactions")}
    again = run_job(spark, settings, daily, LAST)
    assert {k: v for k, v in again.status.items() if k != "quality_gate"} == {
        "offline_features": "SKIPPED", "online_features": "SKIPPED", "data_quality": "SKIPPED",
        "publish_features": "SKIPPED", "train": "EXCLUDED", "score": "EXCLUDED"}
    assert again.tasks["quality_gate"].values == {"outcome": "false"}  # re-evaluated from the recorded values
    assert {t: store.version(t) for t in versions} == versions
    history = runs(store, "churn_daily", limit=100)
    assert [r["status"] for r in history if r["task"] == "offline_features"] == ["SKIPPED", "SUCCESS"]
    assert all(r["run_date"] == LAST for r in history)
