"""What a drift run's result says (quality/drift/result.py): the retraining signal, which columns count, and the
summary.json it publishes, on a hand-made result (the job that fills it is tested in test_drift*.py)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timezone

import pytest

from quality.drift.report import ColumnDrift
from quality.drift.result import DriftResult


def column(name: str, drifted: bool, status: str = "evaluated", kind: str = "feature") -> ColumnDrift:
    return ColumnDrift(name, "num", "wasserstein", 0.1, 0.3 if drifted else 0.01, drifted, status, kind=kind)


def result(drifted_share: float, reasons: list[str], columns: list[ColumnDrift] | None = None, **extra) -> DriftResult:
    return DriftResult(
        run_id="r-1", month=date(2026, 6, 1), env="local", started_at=datetime(2026, 7, 1, 2, 0, tzinfo=timezone.utc),
        current={"rows": 10}, reference={"rows": 20}, sampling={"seed": 42}, drifted_count=2,
        drifted_share=drifted_share, drift_share_threshold=0.05, retrain_reasons=reasons,
        columns=columns if columns is not None else [
            column("spend_30d", True), column("plan", False), column("gone", True, "missing_in_current"),
            column("new", False, "missing_in_reference"), column("absent", False, "missing_in_table"),
            column("probability", True, kind="prediction")],
        **extra)


def test_dataset_drift_is_reached_at_the_share_and_the_signal_follows_the_reasons():
    assert result(0.05, []).dataset_drift and not result(0.0499, []).dataset_drift
    assert not result(0.5, []).retrain_recommended  # the signal is the reasons', set by the job
    assert result(0.0, ["prediction drift"]).retrain_recommended


def test_only_features_count_as_columns_and_a_vanished_one_as_compared():
    found = result(0.4, ["dataset drift"])
    assert found.number_of_columns == 3  # spend_30d, plan, gone; not new, absent or the score
    assert found.drifted_columns == ["spend_30d", "gone"]
    assert found.prediction.column == "probability"
    assert result(0.4, [], columns=[column("plan", False)]).prediction is None


def test_the_summary_holds_every_figure_as_json_and_refuses_nan():
    found = result(0.4, ["dataset drift"], performance={"roc_auc": 0.7}, duration_s=1.23456, warnings=["w"],
                   settings={"drift_share": 0.05}, evidently_version="0.7")
    summary = json.loads(found.to_json())
    assert {k: summary[k] for k in ("run_id", "month", "env", "started_at", "duration_s", "dataset_drift",
                                    "drifted_share", "drift_share_threshold", "number_of_columns",
                                    "number_of_drifted_columns", "drifted_columns", "retrain_recommended",
                                    "retrain_reasons", "warnings", "current", "reference", "sampling",
                                    "performance", "settings", "evidently_version")} == {
        "run_id": "r-1", "month": "2026-06", "env": "local", "started_at": "2026-07-01T02:00:00+00:00",
        "duration_s": 1.235, "dataset_drift": True, "drifted_share": 0.4, "drift_share_threshold": 0.05,
        "number_of_columns": 3, "number_of_drifted_columns": 2, "drifted_columns": ["spend_30d", "gone"],
        "retrain_recommended": True, "retrain_reasons": ["dataset drift"], "warnings": ["w"],
        "current": {"rows": 10}, "reference": {"rows": 20}, "sampling": {"seed": 42},
        "performance": {"roc_auc": 0.7}, "settings": {"drift_share": 0.05}, "evidently_version": "0.7"}
    assert [c["column"] for c in summary["columns"]] == ["spend_30d", "plan", "gone", "new", "absent"]
    assert summary["prediction_drift"]["column"] == "probability" and summary["prediction_drift"]["drifted"]
    assert json.loads(result(0.4, [], columns=[column("plan", False)]).to_json())["prediction_drift"] is None
    with pytest.raises(ValueError):
        result(math.nan, []).to_json()
