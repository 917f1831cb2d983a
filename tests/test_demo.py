"""The README's main command end to end at a small size, in a subprocess as a user runs it.

The demo's story happens and is told: generation with defects, the first deployment (full refresh, first model
promoted), a clean month's drift run ("no drift"), seven daily runs of which the third fails on the staged incident
(expect_or_fail currency_is_eur: the pipeline update fails, data quality reports it and closes the gate, training and
scoring are excluded) and the fourth recovers from the corrected delivery, and the drifted month's drift run ("drift, retrain"); quarantine and expectation metrics hold the
defects. A rerun on the same data resumes, redoes nothing and does not repeat the incident. It is also the end-to-end
test of the Databricks contract (docs/databricks-contract.md): the jobs run on the Databricks-shaped paths, the
gate a notebook task's value, the event logs under the bundle's names, the feature tables' keys declared, the
champion's tags within Unity Catalog's rules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable
from mlflow import MlflowClient

from lakehouse.app.demo_story import story
from lakehouse.core.errors import LakehouseError
from lakehouse.core.table_metadata import SCHEMA_PROPERTY
from lakehouse.local.bundle import load_bundle
from lakehouse.local.datagen import GeneratorConfig
from ml import uc_tags

# The demo's default history, 181 days (the fewest its story allows): the 90-day windows are complete from 03-31, so
# the first training (06-23) has train as-of dates from 03-31 on, the clean month (May) has the champion's complete
# April as reference and the drifted month (June) ends on the last day (ml/features/definitions.py, lakehouse/app/demo.py)
DAYS, CUSTOMERS = 181, 800
LAST = date(2026, 1, 1) + timedelta(days=DAYS - 1)
FIRST_COMPLETE = date(2026, 1, 1) + timedelta(days=89)
INCIDENT, RECOVERY = LAST - timedelta(days=4), LAST - timedelta(days=3)
CLEAN_MONTH, DRIFT_MONTH = date(2026, 5, 1), date(2026, 6, 1)


def demo(tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKEHOUSE_STORAGE_ROOT": str(tmp / "warehouse"), "LAKEHOUSE_LANDING_PATH": str(tmp / "landing"),
           "LAKEHOUSE_TRAINING__AS_OF_EVERY_DAYS": "2", "LAKEHOUSE_TRAINING__HORIZON_DAYS": "7",
           "LAKEHOUSE_TRAINING__GATE__MINIMUMS": '{"roc_auc": 0.55}',
           "LAKEHOUSE_TRAINING__GATE__MIN_POSITIVES": "3"}  # 800 customers: fewer churners than the default 50
    return subprocess.run([sys.executable, "-m", "lakehouse.app.cli", "demo", "--days", str(DAYS), "--customers",
                           str(CUSTOMERS)], env=env, cwd=tmp, capture_output=True, text=True, timeout=900)


def table(tmp: Path, name: str):
    return DeltaTable(str(tmp / "warehouse" / "lakehouse" / "churn" / name)).to_pandas()


def databricks_shaped(tmp: Path, daily) -> None:
    """What the daily runs did went through the paths Databricks runs: the gate is the notebook task's value, the
    event logs are the tables the bundle publishes, the ARDS declares its key, the champion's tags pass UC's rules."""
    ran = daily[daily.run_date != INCIDENT]
    gates = ran[ran.task == "data_quality"].task_values.tolist()
    assert gates and all('"gate_passed": "true"' in values for values in gates)
    assert set(ran[ran.task == "train"].status) == {"SUCCESS"}
    for pipeline in load_bundle("local")["resources"]["pipelines"].values():
        assert len(table(tmp, pipeline["event_log"]["name"])) > 0
    declared = DeltaTable(str(tmp / "warehouse" / "lakehouse" / "churn" / "ards")).metadata().configuration
    assert "PRIMARY KEY (customer_id, feature_date TIMESERIES)" in declared[SCHEMA_PROPERTY]
    client = MlflowClient(f"sqlite:///{tmp / 'mlflow' / 'mlflow.db'}", f"sqlite:///{tmp / 'mlflow' / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("churn_model", "champion")
    uc_tags.check_all(champion.tags)
    assert champion.tags[uc_tags.GATE_OUTCOME] == "promoted"


def complete_windows_only(tmp: Path) -> None:
    """Every training started at the first complete feature date, and the drift job compared complete windows on
    both sides: the default of training.incomplete_windows and drift.incomplete_windows."""
    client = MlflowClient(f"sqlite:///{tmp / 'mlflow' / 'mlflow.db'}")
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    assert runs and {r.data.tags["lineage.first_as_of"] for r in runs} == {str(FIRST_COMPLETE)}
    assert {r.data.tags["lineage.train_as_of"][:10] >= str(FIRST_COMPLETE) for r in runs} == {True}
    drift = table(tmp, "drift_history")
    assert (drift.reference_start >= FIRST_COMPLETE).all() and (drift.month > FIRST_COMPLETE).all()
    assert set(drift.reference_source) == {"champion training window"}


def test_the_story_is_placed_from_the_history_and_refuses_one_too_short():
    plan = story(GeneratorConfig(customers=CUSTOMERS), DAYS)
    assert (plan.first_deployment, plan.daily[0], plan.last) == (LAST - timedelta(days=7), LAST - timedelta(days=6), LAST)
    assert (plan.incident_day, plan.recovery_day, plan.clean_month, plan.drift_month) == (INCIDENT, RECOVERY, CLEAN_MONTH,
                                                                                          DRIFT_MONTH)
    assert (plan.config.incident_day, plan.config.drift_start, plan.config.defect_rate) == (INCIDENT, DRIFT_MONTH, 0.002)
    assert story(GeneratorConfig(defect_rate=0.01), DAYS).config.defect_rate == 0.01  # a configured rate is kept
    with pytest.raises(LakehouseError, match="180 days from 2026-01-01 are too few, give at least 181"):
        story(GeneratorConfig(), DAYS - 1)


def the_incident_and_its_recovery(tmp: Path, daily) -> None:
    """The incident day's pipeline update failed on the fail rule, data quality ran anyway and closed the gate on the
    failed update, training and scoring were excluded, the online features not built; the offline_features event log
    holds that failed update and a later completed one; every other day succeeded, with scores."""
    incident = daily[daily.run_date == INCIDENT].set_index("task")
    assert incident.status.to_dict() == {"offline_features": "FAILED", "online_features": "UPSTREAM_FAILED",
                                         "data_quality": "SUCCESS", "publish_features": "UPSTREAM_FAILED",
                                         "quality_gate": "SUCCESS", "train": "EXCLUDED", "score": "EXCLUDED"}
    assert "currency_is_eur" in incident.error["offline_features"]
    assert json.loads(incident.task_values["data_quality"])["gate_passed"] == "false"
    assert json.loads(incident.task_values["quality_gate"]) == {"outcome": "false"}
    results = table(tmp, "data_quality_results")
    update = results[(results.run_date == INCIDENT) & (results.check_name == "pipeline_update")]
    assert update.outcome.tolist() == ["failed"] and update.message.str.endswith("is FAILED").all(), update
    others = daily[daily.run_date != INCIDENT]
    assert set(others.status) == {"SUCCESS"}, others[others.status != "SUCCESS"][["run_date", "task", "error"]]
    events = table(tmp, "event_log_offline_features")
    states = [json.loads(d)["update_progress"]["state"] for d in
              events[events.event_type == "update_progress"].sort_values("timestamp").details]
    assert "FAILED" in states and states[-1] == "COMPLETED"
    predictions = table(tmp, "predictions")
    assert set(predictions.score_date) == {LAST - timedelta(days=d) for d in range(7, -1, -1)} - {INCIDENT}


def defects_reach_quarantine_and_expectations(tmp: Path) -> None:
    """The day's defects are dropped into quarantine with their rules and count as failed expectation records."""
    quarantined = table(tmp, "quarantine_transactions")
    assert len(quarantined) > 0
    assert {"amount_positive", "customer_id_present"} <= {r for rules in quarantined._failed_rules for r in rules}
    events = table(tmp, "event_log_offline_features")
    failed = sum(e["failed_records"] for d in events[events.event_type == "flow_progress"].details
                 for e in json.loads(d)["flow_progress"].get("data_quality", {}).get("expectations", []))
    assert failed > 0


def both_drift_verdicts(runs) -> None:
    """The clean month says no drift (retrain excluded), the drifted month drift and retrain (retrain ran)."""
    drift = runs[runs.job == "churn_drift"]
    assert sorted(drift.run_date.unique()) == [DRIFT_MONTH - timedelta(days=1), LAST]
    status = {(r.run_date, r.task): r.status for r in drift.itertuples()}
    assert status[(DRIFT_MONTH - timedelta(days=1), "retrain")] == "EXCLUDED"
    assert status[(LAST, "retrain")] == "SUCCESS"
    values = {r.run_date: json.loads(r.task_values) for r in drift[drift.task == "drift"].itertuples()}
    assert values[DRIFT_MONTH - timedelta(days=1)] == {"retrain": "false", "dataset_drift": "false"}
    assert values[LAST] == {"retrain": "true", "dataset_drift": "true"}


@pytest.mark.slow
def test_demo_tells_its_story_and_a_rerun_resumes(tmp_path):
    first = demo(tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    runs = table(tmp_path, "job_runs")
    daily = runs[runs.job == "churn_daily"]
    assert sorted(daily.run_date.unique()) == [LAST - timedelta(days=d) for d in range(7, -1, -1)]
    assert len(daily) == 8 * 7
    the_incident_and_its_recovery(tmp_path, daily)
    defects_reach_quarantine_and_expectations(tmp_path)
    both_drift_verdicts(runs)
    assert table(tmp_path, "predictions").features_complete.all()  # scored days are long after the first 90 days
    complete_windows_only(tmp_path)
    databricks_shaped(tmp_path, daily)
    printed = " ".join((first.stdout + first.stderr).split())  # progress goes to stderr; the console wraps lines
    for told in (f"failed: {INCIDENT}", "expect_or_fail currency_is_eur", f"on {RECOVERY} the corrected file",
                 f"gate closed on {INCIDENT}, training and scoring excluded",
                 "May vs champion training window 2026-04-01..2026-04-30: no drift, no retraining",
                 "June vs champion training window", "drift, retrain", "lakehouse job history", "lakehouse ui"):
        assert told in printed, (told, printed[-3000:])

    again = demo(tmp_path)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    rerun = table(tmp_path, "job_runs")
    rerun = rerun[~rerun.run_id.isin(set(runs.run_id))]
    assert len(rerun) == len(runs) - 7 and INCIDENT not in set(rerun.run_date)  # the incident is not repeated
    work = rerun[~rerun.task.isin(["quality_gate", "retrain_needed"])]
    assert set(work.status) <= {"SKIPPED", "EXCLUDED"}, work[["task", "status"]]
