"""The bundle's daily job on real pipelines: the data-quality gate, set by the task notebook, opens on a clean day and
closes on a bad one; resume skips work.

Six generated days with the last day's transactions drop missing. The day before it is clean: the pipelines
succeed, the notebook task data_quality (bundle/notebooks/lakehouse_task.py, run by the local runner as Databricks
runs it) publishes `gate_passed=true`, quality_gate opens and train and score run. Training a model is another
test's subject (and its registry module may be under mutation testing), so train and score are test tasks under
TASKS for that run, the runner's real dispatch. On the last day data quality finds the empty day (an error), the
gate closes, train and score are Excluded.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from lakehouse.datagen import GeneratorConfig, generate_range
from lakehouse.jobs import tasks
from lakehouse.jobs.history import runs
from lakehouse.jobs.runner import RunOptions, run_job
from lakehouse.jobs.spec import bundle_jobs
from lakehouse.storage import TableStore
from tests.landing import landing_file

START = date(2026, 1, 1)
LAST = START + timedelta(days=5)
CLEAN = LAST - timedelta(days=1)


@pytest.fixture(scope="module")
def days(spark, base_settings, tmp_path_factory):
    """The daily job for the clean day (a first deployment: full refresh), then for the bad last day."""
    root = tmp_path_factory.mktemp("daily")
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "landing_path": str(root / "landing"),
        "schema_name": f"t_{uuid.uuid4().hex[:10]}"})
    settings = settings.model_copy(update={"blob": settings.blob.model_copy(update={"local_dir": root / "reports"})})
    generate_range(GeneratorConfig(customers=1500, seed=11), settings.landing, START, LAST)
    landing_file(settings.landing, "transactions", LAST).unlink()
    daily = bundle_jobs()["churn_daily"]
    trained: list[tuple[str, date]] = []
    with pytest.MonkeyPatch.context() as patch:
        for name in ("train", "score"):
            patch.setitem(tasks.TASKS, name, lambda spark_, settings_, day, name=name: trained.append((name, day)) or {})
        clean = run_job(spark, settings, daily, CLEAN, RunOptions(full_refresh=True))
    gated = run_job(spark, settings, daily, LAST)
    return settings, daily, clean, trained, gated


def test_the_gate_is_a_notebook_task_value(days):
    _, daily, _, _, _ = days
    assert daily.task("data_quality").kind == "notebook_task"
    assert daily.task("quality_gate").body["left"] == "{{tasks.data_quality.values.gate_passed}}"


def test_an_open_quality_gate_runs_training_and_scoring(days):
    settings, daily, clean, trained, _ = days
    assert clean.status == {"offline_features": "SUCCESS", "online_features": "SUCCESS", "data_quality": "SUCCESS",
                            "publish_features": "SUCCESS", "quality_gate": "SUCCESS", "train": "SUCCESS",
                            "score": "SUCCESS"}, clean.failures()
    assert clean.tasks["data_quality"].values["gate_passed"] == "true"  # set by the notebook's taskValues.set
    assert clean.tasks["quality_gate"].values == {"outcome": "true"}
    assert trained == [("train", CLEAN), ("score", CLEAN)]
    assert clean.tasks["publish_features"].values == {}  # a wheel task: its output is no task value


def test_a_closed_quality_gate_excludes_training_and_scoring(days):
    settings, daily, _, trained, run = days
    assert run.status == {"offline_features": "SUCCESS", "online_features": "SUCCESS", "data_quality": "SUCCESS",
                          "publish_features": "SUCCESS", "quality_gate": "SUCCESS", "train": "EXCLUDED",
                          "score": "EXCLUDED"}, run.failures()
    assert run.tasks["data_quality"].values["gate_passed"] == "false"
    assert run.tasks["quality_gate"].values == {"outcome": "false"}
    assert run.leaves_ok(daily)  # as on Databricks: excluded tasks count as succeeded
    assert trained == [("train", CLEAN), ("score", CLEAN)]  # nothing more
    report = settings.blob.local_dir / settings.blob.container / f"data-quality/{LAST:%Y/%m/%d}/report.json"
    assert '"gate_passed": false' in report.read_text()


def test_resume_skips_what_succeeded_and_leaves_tables_untouched(spark, days):
    settings, daily, _, _, _ = days
    store = TableStore(spark, settings)
    versions = {t: store.version(t) for t in ("ards", "mrds", "silver_transactions")}
    again = run_job(spark, settings, daily, LAST)
    assert {k: v for k, v in again.status.items() if k != "quality_gate"} == {
        "offline_features": "SKIPPED", "online_features": "SKIPPED", "data_quality": "SKIPPED",
        "publish_features": "SKIPPED", "train": "EXCLUDED", "score": "EXCLUDED"}
    assert again.tasks["quality_gate"].values == {"outcome": "false"}  # re-evaluated from the recorded values
    assert {t: store.version(t) for t in versions} == versions
    history = [r for r in runs(store, "churn_daily", limit=100) if r["run_date"] == LAST]
    assert [r["status"] for r in history if r["task"] == "offline_features"] == ["SKIPPED", "SUCCESS"]


def test_the_job_run_scopes_the_gate_and_the_pipelines_derive_the_scoring_date(spark, days):
    """The gate judges the update its own run started ({{job.start_time.iso_datetime}} -> --since); a resumed run keeps
    the start of the run it repairs. The pipelines get no date, yet the MRDS is as of the run date, as score requires."""
    from ml.scoring import ScoringRefused, feature_rows

    settings, daily, clean, _, gated = days
    assert daily.task("data_quality").body["base_parameters"]["since"] == "{{job.start_time.iso_datetime}}"
    store = TableStore(spark, settings)
    starts = [r[0] for r in store.read("event_log_offline_features").where("event_type = 'create_update'")
              .select("timestamp").collect()]
    assert len(starts) == 2 and min(starts) < gated.started_at.replace(tzinfo=None) <= max(starts)
    report = settings.blob.local_dir / settings.blob.container / f"data-quality/{LAST:%Y/%m/%d}/report.json"
    assert f"update {gated.tasks['offline_features'].values['update_id']} is COMPLETED" in report.read_text()
    # score reads the MRDS rows as of its run date: there for LAST, and only for the latest day.
    assert feature_rows(store, "mrds", LAST).count() > 0
    with pytest.raises(ScoringRefused, match=f"latest {LAST}"):
        feature_rows(store, "mrds", CLEAN)
    resumed = run_job(spark, settings, daily, LAST)
    assert resumed.started_at == gated.tasks["offline_features"].started_at  # before the update it reuses
