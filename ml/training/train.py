"""The daily training job: training set -> fit -> evaluate -> MLflow run -> registry -> gate.

Fit: the pipeline is fitted on the train split; for boosting, the number of rounds is chosen on the
validation split (early stopping on later dates, not on a random sample); the final model is refitted
on train + validation with those settings and evaluated once on the test split, the held-out data the
gate compares champion and challenger on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from lakehouse.faults import maybe_crash
from lakehouse.settings import Settings
from ml import registry, tracking, uc_tags
from lakehouse.job_settings import TrainingSettings
from ml.serialization import log_model_kwargs
from ml.training import plots
from ml.training.dataset import TrainingData, load_training_data
from ml.training.metrics import evaluate
from ml.training.pipeline import best_iterations, build_pipeline

log = logging.getLogger(__name__)
EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    model_name: str
    version: str
    metrics: dict[str, float]  # test split
    decision: registry.GateDecision


def fit(data: TrainingData, cfg: TrainingSettings) -> tuple[Pipeline, dict[str, float], int | None]:
    """The final pipeline, its validation metrics (model fitted on train only) and the chosen rounds."""
    X_train, y_train = data.part("train")
    X_val, y_val = data.part("validation")
    first = build_pipeline(cfg).fit(X_train, y_train)
    validation = evaluate(y_val.to_numpy(), first.predict_proba(X_val)[:, 1], cfg.top_k_percent)
    rounds = best_iterations(first, X_val, y_val.to_numpy())
    final = build_pipeline(cfg, **({"max_iter": rounds} if rounds else {}))
    final.fit(pd.concat([X_train, X_val]), pd.concat([y_train, y_val]))
    return final, validation, rounds


def _params(cfg: TrainingSettings, rounds: int | None) -> dict[str, Any]:
    flat = cfg.model_dump(exclude={"params", "gate"})
    flat.update({f"model.{k}": v for k, v in cfg.model_params.items()})
    flat.update({f"gate.{k}": v for k, v in cfg.gate.model_dump().items()})
    if rounds is not None:
        flat["model.chosen_max_iter"] = rounds
    return flat


def _log_evaluation(model: Pipeline, X_test: pd.DataFrame, y_test: np.ndarray, metrics: dict[str, float],
                    seed: int) -> None:
    import mlflow

    proba = model.predict_proba(X_test)[:, 1]
    for name, figure in plots.curves(y_test, proba, metrics).items():
        mlflow.log_figure(figure, f"plots/{name}")
    importance = plots.feature_importance(model, X_test, y_test, seed)
    if not importance.empty:
        mlflow.log_figure(plots.importance_figure(importance), "plots/feature_importance.png")
        mlflow.log_dict(importance.round(6).to_dict(), "feature_importance.json")
    plots.plt.close("all")


def train(spark: Any, settings: Settings, run_date: date | None = None) -> TrainingResult:
    """Train, log, register as challenger and run the promotion gate for `run_date` (default: settings)."""
    import mlflow

    cfg = settings.training
    run_date = run_date or settings.effective_run_date
    data = load_training_data(spark, settings, run_date, cfg)
    client = tracking.configure(settings)
    name = tracking.registered_model_name(settings)
    experiment = tracking.experiment_id(settings)
    tracking.close_dead_runs(client, experiment)
    with threadpool_limits(limits=cfg.threads), mlflow.start_run(
        experiment_id=experiment, run_name=f"train {run_date}", tags=tracking.process_tags()
    ) as run:
        # Run tags go to workspace tracking, not to Unity Catalog: UC's tag rules (ml/uc_tags.py) apply to
        # registered models and versions only, so the run keeps its dotted `lineage.*` and `gate.*` tags.
        mlflow.set_tags({f"lineage.{k}": v for k, v in data.lineage.items()})
        model, validation, rounds = fit(data, cfg)
        mlflow.log_params(_params(cfg, rounds))
        X_test, y_test = data.part("test")
        y_test = y_test.to_numpy()
        test = evaluate(y_test, model.predict_proba(X_test)[:, 1], cfg.top_k_percent)
        mlflow.log_metrics({**{f"val_{k}": v for k, v in validation.items()}, **{f"test_{k}": v for k, v in test.items()}})
        _log_evaluation(model, X_test, y_test, test, cfg.seed)
        info = mlflow.sklearn.log_model(model, name="model", **log_model_kwargs(model, X_test.head(EXAMPLE_ROWS)))
        maybe_crash("train.logged")
        version = registry.register(client, name, info.model_uri, {uc_tags.RUN_DATE: str(run_date)})
        maybe_crash("train.registered")
        decision = registry.gate(client, name, version, X_test, y_test, test, cfg.gate, cfg.top_k_percent)
        mlflow.set_tags({"gate.outcome": decision.outcome, "gate.reason": decision.reason, "model_version": version})
    log.info("trained %s version %s: %s", name, version, decision.reason)
    return TrainingResult(run.info.run_id, name, version, test, decision)
