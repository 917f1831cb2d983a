"""The settings blocks refuse what the jobs cannot run on, at the exact bounds, and default to what the docs say.

A bound off by one lets a job start on a value it then mishandles (a zero horizon labels nothing, a confidence
of 1 never promotes, a coverage above 1 refuses every month) or refuses a valid one; a changed default changes
every run that does not set the value (the labels, the gate's decision, the drift verdict).
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from lakehouse.core.job_settings import DriftSettings, GateSettings, ScoringSettings, TrainingSettings
from lakehouse.core.settings import GeneratorSettings, Settings

NO_THRESHOLD = {"threshold": None}  # scoring: exactly one decision rule

# (model, field, accepted values at or just inside each bound, refused values just outside, other fields)
BOUNDS: list[tuple[type[BaseModel], str, list[Any], list[Any], dict[str, Any]]] = [
    (GateSettings, "min_improvement", [1e-6], [0, -0.001], {}),
    (GateSettings, "confidence", [0.51, 0.999], [0.5, 1.0], {}),
    (GateSettings, "resamples", [100], [99], {}),
    (GateSettings, "min_positives", [1], [0], {}),
    (TrainingSettings, "horizon_days", [1], [0], {}),
    (TrainingSettings, "window_days", [1], [0], {}),
    (TrainingSettings, "as_of_every_days", [1], [0], {}),
    (TrainingSettings, "validation_days", [1], [0], {}),
    (TrainingSettings, "test_days", [1], [0], {}),
    (TrainingSettings, "gap_days", [0], [-1], {}),
    (TrainingSettings, "clip_quantile", [0.51, 1.0], [0.5, 1.01], {}),
    (TrainingSettings, "top_k_percent", [0.5, 100], [0, 100.5], {}),
    (TrainingSettings, "threads", [1], [0], {}),
    (ScoringSettings, "threshold", [0.01, 0.99], [0, 1.0], {}),
    (ScoringSettings, "top_k_percent", [0.5, 100], [0, 100.5], NO_THRESHOLD),
    (DriftSettings, "num_threshold", [0.5], [0], {}),
    (DriftSettings, "cat_threshold", [0.5], [0], {}),
    (DriftSettings, "prediction_threshold", [0.5], [0], {}),
    (DriftSettings, "drift_share", [0.01, 1.0], [0, 1.01], {}),
    (DriftSettings, "sample_rows", [1], [0], {}),
    (DriftSettings, "min_day_coverage", [0, 1.0], [-0.01, 1.01], {}),
    (GeneratorSettings, "customers", [1], [0], {}),
    (GeneratorSettings, "transactions_per_customer_day", [0.5], [0], {}),
    (GeneratorSettings, "days", [1], [0], {}),
    (GeneratorSettings, "defect_rate", [0, 0.5], [-0.01, 0.51], {}),
    (Settings, "sail_port", [0, 65535], [-1, 65536], {}),
    (Settings, "shuffle_partitions", [1], [0], {}),
]


@pytest.mark.parametrize(("model", "field", "accepted", "refused", "other"), BOUNDS,
                         ids=[f"{m.__name__}.{f}" for m, f, *_ in BOUNDS])
def test_each_bound_accepts_its_edge_and_refuses_past_it(monkeypatch, model, field, accepted, refused, other):
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:  # values given here only
        monkeypatch.delenv(key)
    for value in accepted:
        assert getattr(model(**other, **{field: value}), field) == value
    for value in refused:
        with pytest.raises(ValidationError, match=field):
            model(**other, **{field: value})


def test_the_defaults_are_the_documented_ones():
    """README (training, gate, drift sections) and the fields' comments in lakehouse/core/job_settings.py."""
    gate = GateSettings()
    assert (gate.mode, gate.metric, gate.min_improvement, gate.confidence, gate.resamples, gate.seed,
            gate.min_positives) == ("enabled", "roc_auc", 0.002, 0.95, 2000, 0, 50)
    assert (gate.minimums, gate.maximums) == ({"roc_auc": 0.65, "lift_at_k": 1.5}, {"brier": 0.1})
    training = TrainingSettings()
    assert (training.horizon_days, training.window_days, training.as_of_every_days, training.validation_days,
            training.test_days, training.gap_days, training.gap, training.clip_quantile, training.top_k_percent,
            training.seed, training.threads, training.incomplete_windows) == (
        14, 365, 1, 7, 7, None, 14, 0.995, 5.0, 42, None, "exclude")
    assert training.model == "hist_gradient_boosting" and training.model_params == {
        "learning_rate": 0.1, "max_iter": 200, "max_leaf_nodes": 15, "min_samples_leaf": 50, "l2_regularization": 1.0}
    assert training.model_copy(update={"model": "logistic_regression"}).model_params == {"C": 0.5, "max_iter": 2000}
    scoring = ScoringSettings()
    assert (scoring.threshold, scoring.top_k_percent, scoring.incomplete_windows) == (0.5, None, "include")
    drift = DriftSettings()
    assert (drift.num_method, drift.num_threshold, drift.cat_method, drift.cat_threshold, drift.drift_share,
            drift.sample_rows, drift.seed, drift.reference, drift.min_day_coverage, drift.incomplete_windows,
            drift.prediction_method, drift.prediction_threshold) == (
        "wasserstein", 0.1, "jensenshannon", 0.1, 0.05, 50_000, 42, "champion", 0.5, "exclude", "wasserstein", 0.1)
    generator = GeneratorSettings()
    assert (generator.seed, generator.customers, generator.transactions_per_customer_day, generator.world_start,
            generator.days, generator.defect_rate) == (42, 6_000, 10.0, date(2026, 1, 1), 181, 0.0)


def test_a_columns_drift_method_and_threshold():
    """By type by default; a column's own method without its own threshold gets the method's default (None), since a
    p-value test must not inherit a distance threshold; its own threshold wins."""
    drift = DriftSettings(num_threshold=0.2, cat_threshold=0.3, per_column_method={"plan": "chisquare", "age": "ks"},
                          per_column_threshold={"age": 0.05, "spend_30d": 0.4})
    assert drift.column_method("spend_7d", categorical=False) == ("wasserstein", 0.2)
    assert drift.column_method("region", categorical=True) == ("jensenshannon", 0.3)
    assert drift.column_method("plan", categorical=True) == ("chisquare", None)
    assert drift.column_method("age", categorical=False) == ("ks", 0.05)
    assert drift.column_method("spend_30d", categorical=False) == ("wasserstein", 0.4)
