"""The bundle's daily job on real pipelines: the data-quality gate, set by the task notebook, opens on a clean day and
closes on a bad one; resume skips work.

Six generated days with the last day's transactions drop missing. The day before it is clean: the pipelines
succeed, the notebook task data_quality (bundle/notebooks/lakehouse_task.py, run by the local runner as Databricks
runs it) publishes `gate_passed=true`, quality_gate opens and train and score run. Training a model is another
test's subject (and its registry module may be under mutation testing), so train and score are test tasks under
TASKS for that run, the runner's real dispatch. On the last day data quality finds the empty day (an error), the
gate closes, train and score are Excluded.

Apart from those (`incident`): a day whose transactions break the fail rule. The offline_features update fails,
data_quality runs anyway and reports the failed update, the gate evaluates to false, train and score are Excluded and
the run fails; after the corrected file and a full refresh the next day's run judges its own update and opens the gate.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest

from lakehouse import tasks
from lakehouse.core.storage import TableStore
from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.jobs.history import runs
from lakehouse.local.jobs.runner import RunOptions, run_job
from lakehouse.local.jobs.spec import bundle_jobs
from tests.landing import landing_file

START = date(2026, 1, 1)
LAST = START + timedelta(days=5)
CLEAN = LAST - timedelta(days=1)
INCIDENT = START + timedelta(days=4)  # the incident fixture's broken day (a world of its own)
RECOVERY = INCIDENT + timedelta(days=1)


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


@pytest.fixture(scope="module")
def incident(spark, base_settings, tmp_path_factory):
    """A clean first deployment, the day whose transactions break the fail rule, and the recovery after the supplier's
    corrected file and the full refresh of what read transactions (lakehouse.app.demo's incident, at a small size)."""
    from lakehouse.app.demo import PIPELINE, RECOVERY_TABLES
    from lakehouse.local.datagen import incident as staged
    from lakehouse.local.pipelines import run_pipeline

    root = tmp_path_factory.mktemp("incident")
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "landing_path": str(root / "landing"),
        "schema_name": f"t_{uuid.uuid4().hex[:10]}"})
    settings = settings.model_copy(update={"blob": settings.blob.model_copy(update={"local_dir": root / "reports"})})
    generate_range(GeneratorConfig(customers=1500, seed=11, incident_day=INCIDENT), settings.landing, START, RECOVERY)
    daily = bundle_jobs()["churn_daily"]
    trained: list[tuple[str, date]] = []
    with pytest.MonkeyPatch.context() as patch:
        for name in ("train", "score"):
            patch.setitem(tasks.TASKS, name, lambda spark_, settings_, day, name=name: trained.append((name, day)) or {})
        run_job(spark, settings, daily, INCIDENT - timedelta(days=1), RunOptions(full_refresh=True))
        failed = run_job(spark, settings, daily, INCIDENT)
        staged.deliver_correction(settings.landing, INCIDENT)
        assert run_pipeline(spark, settings, PIPELINE, INCIDENT, full_refresh_selection=RECOVERY_TABLES).ok
        recovered = run_job(spark, settings, daily, RECOVERY)
    return settings, daily, failed, recovered, trained


def report(settings, day: date) -> dict:
    return json.loads((settings.blob.local_dir / settings.blob.container / f"data-quality/{day:%Y/%m/%d}/report.json")
                      .read_text())


def test_a_failed_pipeline_update_closes_the_gate_and_excludes_training_and_scoring(incident):
    """data_quality runs after the failed update (run_if ALL_DONE) and reports it, quality_gate evaluates to false
    although online_features did not run (AT_LEAST_ONE_SUCCESS), train and score are Excluded; the run still fails."""
    settings, daily, run, _, trained = incident
    assert run.status == {"offline_features": "FAILED", "online_features": "UPSTREAM_FAILED",
                          "data_quality": "SUCCESS", "publish_features": "UPSTREAM_FAILED",
                          "quality_gate": "SUCCESS", "train": "EXCLUDED", "score": "EXCLUDED"}, run.failures()
    assert "currency_is_eur" in run.tasks["offline_features"].error
    assert run.tasks["data_quality"].values["gate_passed"] == "false"
    assert run.tasks["quality_gate"].values == {"outcome": "false"}
    assert not run.leaves_ok(daily)  # publish_features, a leaf, did not succeed: the run fails and on_failure mails
    assert (INCIDENT, "train") not in {(d, n) for n, d in trained}
    day = report(settings, INCIDENT)
    assert day["gate_passed"] is False
    update = next(c for c in day["checks"] if c["name"] == "pipeline_update")
    assert update["outcome"] == "failed" and update["message"].endswith("is FAILED"), update


def test_the_next_day_judges_its_own_update_and_opens_the_gate_again(incident):
    settings, _, _, recovered, trained = incident
    assert recovered.status == {t: "SUCCESS" for t in recovered.status}, recovered.failures()
    assert recovered.tasks["quality_gate"].values == {"outcome": "true"}
    update = next(c for c in report(settings, RECOVERY)["checks"] if c["name"] == "pipeline_update")
    assert update["outcome"] == "passed" and update["message"].endswith("is COMPLETED"), update
    assert trained[-2:] == [("train", RECOVERY), ("score", RECOVERY)]
