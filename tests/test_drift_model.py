"""The drift job's model side: the champion's training window as reference (and the fallbacks, each with a
warning), prediction drift of the scores, and performance on matured labels."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from lakehouse.core.job_settings import GateSettings
from lakehouse.platform import tracking
from ml import registry
from quality.drift import predictions as model_side
from quality.drift.job import detect_drift
from quality.drift.windows import Window
from tests.conftest import own_mlflow
from tests.drift_data import ards_frame, write_ards
from tests.test_drift import APRIL, CONFIG, MAY, folder, local


def make_champion(settings, train: str, validation: str) -> str:
    """A registered version aliased @champion whose run carries the training job's lineage tags."""
    client = tracking.configure(settings)
    run = client.create_run(tracking.experiment_id(settings),
                            tags={"lineage.train_as_of": train, "lineage.validation_as_of": validation})
    name = tracking.registered_model_name(settings)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias(name, registry.CHAMPION, version.version)
    return run.info.run_id


def test_reference_is_the_champions_training_window_else_the_previous_month_with_a_warning(store, settings, tmp_path):
    settings = own_mlflow(local(settings, tmp_path), tmp_path)
    write_ards(store, ards_frame(date(2026, 3, 1), 31), ards_frame(APRIL, 30), ards_frame(MAY, 31))
    config = CONFIG.model_copy(update={"reference": "champion"})

    none = detect_drift(store.spark, settings, MAY, config)
    assert none.reference["source"] == "previous month"
    assert "reference is the previous month: model churn_model has no @champion" in none.warnings

    run_id = make_champion(settings, "2026-03-05..2026-04-02", "2026-04-17..2026-05-20")
    held = detect_drift(store.spark, settings, MAY, config)
    assert (held.reference["start"], held.reference["end"]) == ("2026-03-05", "2026-04-30")  # cut before May
    assert held.reference["source"] == "champion training window" and run_id in held.reference["detail"]
    assert not any(w.startswith("reference is") for w in held.warnings)
    configured = detect_drift(store.spark, settings, MAY, CONFIG)  # previous_month: the champion is not asked
    assert configured.reference["source"] == "previous month" and configured.warnings == []

    make_champion(settings, "2025-06-01..2025-08-31", "2025-09-15..2025-09-21")  # no ARDS rows back then
    stale = detect_drift(store.spark, settings, MAY, config)
    assert stale.reference["source"] == "previous month"
    assert ("reference is the previous month: the champion training window 2025-06-01..2025-09-21 has no rows"
            in stale.warnings)


def predictions(start: date, days: int, customers: int, churners: set[str], shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(days)
    frames = []
    for i in range(days):
        ids = [f"C{n:07d}" for n in range(customers)]
        p = np.clip(rng.beta(2, 8, customers) + shift + np.array([0.4 if c in churners else 0.0 for c in ids]), 0, 1)
        frames.append(pd.DataFrame({"customer_id": ids, "score_date": start + timedelta(days=i), "probability": p,
                                    "decision": p >= 0.5, "model_name": "churn_model", "model_version": "1"}))
    return pd.concat(frames, ignore_index=True)


def test_prediction_drift_and_performance_on_matured_labels(store, settings, tmp_path):
    write_ards(store, ards_frame(APRIL, 30), ards_frame(MAY, 31))
    churners = {f"C{n:07d}" for n in range(0, 150, 10)}  # 15 customers churn on 2026-05-20
    churn = pd.DataFrame({"customer_id": sorted(churners), "churn_date": date(2026, 5, 20)})
    store.overwrite(store.spark.createDataFrame(churn), "silver_churn")
    scores = pd.concat([predictions(APRIL, 30, 150, churners, 0.0), predictions(MAY, 31, 150, churners, 0.25)])
    store.overwrite(store.spark.createDataFrame(scores), "predictions", partition_by=["score_date"])

    result = detect_drift(store.spark, local(settings, tmp_path), MAY, CONFIG)
    score = result.prediction
    assert score is not None and score.column == "probability" and score.drifted and score.method == "wasserstein"
    assert any(r.startswith("prediction drift: wasserstein") for r in result.retrain_reasons)
    performance = result.performance
    assert performance["labelled_predictions"] == 150 * 17  # May 1..17: 14-day label matured by May 31
    assert performance["labels_through"] == "2026-05-31"
    assert performance["roc_auc"] > 0.9 and performance["positive_rate"] > 0
    assert performance["below_minimums"] == {}  # a good model: the performance signal stays quiet
    assert not any(r.startswith("performance below") for r in result.retrain_reasons)
    assert result.to_dict()["prediction_drift"]["column"] == "probability"
    assert "predictions.html" in " ".join(result.published)
    page = (folder(tmp_path, "2026/05") / "predictions.html").read_text()  # a page of its own, not an iframe snippet
    assert page.lstrip().startswith("<!DOCTYPE html>") and "evidently-ui-iframe" not in page


def test_a_weak_model_makes_the_performance_signal_fire(store, settings, tmp_path):
    """Scores that ignore who churns: roc_auc ~0.5 and lift ~1, below the gate's minimums -> retrain."""
    write_ards(store, ards_frame(APRIL, 30), ards_frame(MAY, 31))
    churners = {f"C{n:07d}" for n in range(0, 150, 10)}
    churn = pd.DataFrame({"customer_id": sorted(churners), "churn_date": date(2026, 5, 20)})
    store.overwrite(store.spark.createDataFrame(churn), "silver_churn")
    scores = pd.concat([predictions(APRIL, 30, 150, set(), 0.0), predictions(MAY, 31, 150, set(), 0.0)])
    store.overwrite(store.spark.createDataFrame(scores), "predictions", partition_by=["score_date"])

    result = detect_drift(store.spark, local(settings, tmp_path), MAY, CONFIG)
    performance = result.performance
    minimums = settings.training.gate.minimums
    assert performance["roc_auc"] < minimums["roc_auc"] and performance["lift_at_k"] < minimums["lift_at_k"]
    assert performance["below_minimums"] == minimums
    reason = next(r for r in result.retrain_reasons if r.startswith("performance below the promotion gate's minimums"))
    assert f"roc_auc {performance['roc_auc']:.4f} < {minimums['roc_auc']}" in reason
    assert result.retrain_recommended


def test_performance_labels_follow_training_at_every_boundary(store, settings):
    """Labels as in training: churned in (D, D + horizon], known by the data's latest date; only matured
    predictions count. Hand-labelled rows (horizon 14, data through May 31):"""
    through = date(2026, 5, 31)
    assert settings.training.horizon_days == 14
    rows = [("C1", date(2026, 5, 10), 0.9, date(2026, 5, 24)),  # churn on D + 14: churned
            ("C2", date(2026, 5, 10), 0.5, date(2026, 5, 25)),  # churn on D + 15: not in the horizon
            ("C3", date(2026, 5, 10), 0.2, date(2026, 5, 10)),  # churn on D itself: not a churn after D
            ("C4", date(2026, 5, 17), 0.3, through),  # churn on the data's latest date (= D + 14): churned
            ("C5", date(2026, 5, 10), 0.1, None),
            ("C7", date(2026, 5, 10), 0.05, date(2026, 5, 5)),  # churned before D: no churn in the window
            ("C6", date(2026, 5, 18), 0.8, None)]  # D + 14 after the data: not matured, not counted
    store.overwrite(store.spark.createDataFrame([(c, d, p) for c, d, p, _ in rows],
                                                "customer_id string, score_date date, probability double"), "predictions")
    store.overwrite(store.spark.createDataFrame([(c, churn) for c, _, _, churn in rows if churn],
                                                "customer_id string, churn_date date"), "silver_churn")
    month = Window(MAY, through, "current month")
    found, why_not = model_side.performance(store, settings, CONFIG, month, through)
    assert why_not is None and found["labelled_predictions"] == 6
    assert found["positive_rate"] == pytest.approx(2 / 6)  # C1 and C4
    assert found["roc_auc"] == pytest.approx(7 / 8)  # positives 0.9, 0.3 against negatives 0.5, 0.2, 0.1, 0.05
    at_minimum = settings.training.model_copy(update={"gate": GateSettings(minimums={"roc_auc": found["roc_auc"]})})
    exactly, _ = model_side.performance(store, settings.model_copy(update={"training": at_minimum}), CONFIG, month, through)
    assert exactly["below_minimums"] == {}  # at the minimum is not below it


def test_model_checks_say_why_they_measured_nothing(store, settings):
    may, april = Window(MAY, date(2026, 5, 31), "current month"), Window(APRIL, date(2026, 4, 30), "previous month")
    assert model_side.prediction_drift(store, CONFIG, may, april) == (None, None)  # no scoring job yet
    scores = pd.DataFrame({"customer_id": ["C1"], "score_date": [date(2026, 5, 3)], "probability": [0.5]})
    store.overwrite(store.spark.createDataFrame(scores), "predictions")
    assert model_side.prediction_drift(store, CONFIG, may, april) == (
        None, "prediction drift not measured: no predictions in the previous month")
    assert model_side.performance(store, settings, CONFIG, may, date(2026, 5, 31)) == (None, None)  # no churn table
