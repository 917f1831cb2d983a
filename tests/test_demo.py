"""The README's main command end to end at a small size, in a subprocess as a user runs it.

Generation, the first deployment (full refresh, first model promoted), seven daily runs and the
monthly drift run all succeed; a rerun on the same data resumes and redoes nothing. It is also the end-to-end
test of the Databricks contract (docs/databricks-contract.md): the jobs run on the Databricks-shaped paths, the
gate a notebook task's value, the event logs under the bundle's names, the feature tables' keys declared, the
champion's tags within Unity Catalog's rules.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable
from mlflow import MlflowClient

from lakehouse.bundle import load_bundle
from lakehouse.table_metadata import SCHEMA_PROPERTY
from ml import uc_tags

# 153 days: the 90-day windows are complete from 03-31, so the first training (05-26) has train as-of dates from
# 03-31 on and the drift month (May) has the champion's complete April as reference (ml/features/definitions.py)
DAYS, CUSTOMERS = 153, 800
LAST = date(2026, 1, 1) + timedelta(days=DAYS - 1)
FIRST_COMPLETE = date(2026, 1, 1) + timedelta(days=89)


def demo(tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKEHOUSE_STORAGE_ROOT": str(tmp / "warehouse"), "LAKEHOUSE_LANDING_PATH": str(tmp / "landing"),
           "LAKEHOUSE_TRAINING__AS_OF_EVERY_DAYS": "2", "LAKEHOUSE_TRAINING__HORIZON_DAYS": "7",
           "LAKEHOUSE_TRAINING__GATE__MINIMUMS": '{"roc_auc": 0.55}',
           "LAKEHOUSE_TRAINING__GATE__MIN_POSITIVES": "5"}  # 800 customers: fewer churners than the default 50
    return subprocess.run([sys.executable, "-m", "lakehouse.cli", "demo", "--days", str(DAYS), "--customers",
                           str(CUSTOMERS)], env=env, cwd=tmp, capture_output=True, text=True, timeout=900)


def table(tmp: Path, name: str):
    return DeltaTable(str(tmp / "warehouse" / "lakehouse" / "churn" / name)).to_pandas()


def databricks_shaped(tmp: Path, daily) -> None:
    """What the daily runs did went through the paths Databricks runs: the gate is the notebook task's value, the
    event logs are the tables the bundle publishes, the ARDS declares its key, the champion's tags pass UC's rules."""
    gates = daily[daily.task == "data_quality"].task_values.tolist()
    assert gates and all('"gate_passed": "true"' in values for values in gates)
    assert set(daily[daily.task == "train"].status) == {"SUCCESS"}
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


@pytest.mark.slow
def test_demo_runs_every_job_and_a_rerun_resumes(tmp_path):
    first = demo(tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    runs = table(tmp_path, "job_runs")
    daily = runs[runs.job == "churn_daily"]
    assert sorted(daily.run_date.unique()) == [LAST - timedelta(days=d) for d in range(7, -1, -1)]
    results = table(tmp_path, "data_quality_results")
    failed_checks = results[results.level == "error"]
    assert set(daily.status) == {"SUCCESS"}, (daily[daily.status != "SUCCESS"][["run_date", "task", "error"]],
                                              failed_checks[["run_date", "table_name", "check_name", "message"]].to_dict("records"))
    assert len(daily) == 8 * 7
    drift = runs[runs.job == "churn_drift"]
    status = dict(zip(drift.task, drift.status))
    assert status["drift"] == "SUCCESS" and status["retrain_needed"] == "SUCCESS" and (drift.run_date == LAST).all()
    predictions = table(tmp_path, "predictions")
    assert predictions.score_date.nunique() == 8 and len(predictions) > 8 * CUSTOMERS * 0.8
    assert predictions.features_complete.all()  # scored days are long after the history's first 90 days
    complete_windows_only(tmp_path)
    databricks_shaped(tmp_path, daily)
    printed = " ".join((first.stdout + first.stderr).split())  # progress goes to stderr; the console wraps lines
    assert "lakehouse job history" in printed and "lakehouse ui" in printed, printed[-2000:]

    again = demo(tmp_path)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    rerun = table(tmp_path, "job_runs")
    rerun = rerun[~rerun.run_id.isin(set(runs.run_id))]
    assert len(rerun) == len(runs)
    work = rerun[~rerun.task.isin(["quality_gate", "retrain_needed"])]
    assert set(work.status) <= {"SKIPPED", "EXCLUDED"}, work[["task", "status"]]
