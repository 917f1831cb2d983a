"""The daily training job: training set -> fit -> evaluate -> MLflow run -> registry -> gate.

Fit: the pipeline is fitted on the train split; for boosting, the number of rounds is chosen on the
validation split (early stopping on later dates, not on a random sample); the final model is refitted
on train + validation with those settings and evaluated once on the test split, the held-out data the
gate compares champion and challenger on (resampling the test split's customers for its interval).

One training per need: a training for a run date that already has a finished, gated training on the same
data (the same `lineage.*` run date, input tables and their Delta versions) with the same settings
registers nothing. The drift job's retraining runs on the day the daily job already trained on; a second
version of an identical model would be compared with its twin (held, or promoted on resampling noise) and
leave two versions for one need. It says so and returns the earlier version with its recorded decision.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from lakehouse.core.faults import maybe_crash
from lakehouse.core.job_settings import TrainingSettings
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from lakehouse.platform import tracking
from ml import registry, uc_tags
from ml.evaluation.metrics import evaluate
from ml.features.definitions import ENTITY_KEY
from ml.serialization import churn_probability, log_model
from ml.training import plots
from ml.training.dataset import SOURCES, TrainingData, load_training_data
from ml.training.pipeline import best_iterations, build_pipeline

log = logging.getLogger(__name__)
EXAMPLE_ROWS = 5
LINEAGE = "lineage."  # run tags of the data a run trained on (TrainingData.lineage)
FINGERPRINT = "training.fingerprint"  # run tag: `settings_fingerprint` of the settings it trained with
MODEL_VERSION = "model_version"  # run tag: the version it registered


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    model_name: str
    version: str
    metrics: dict[str, float]  # test split
    decision: registry.GateDecision
    reused: bool = False  # an earlier training on the same data and settings: nothing was trained or registered


def fit(data: TrainingData, cfg: TrainingSettings) -> tuple[Pipeline, dict[str, float], int | None]:
    """The final pipeline, its validation metrics (model fitted on train only) and the chosen rounds."""
    X_train, y_train = data.part("train")
    X_val, y_val = data.part("validation")
    first = build_pipeline(cfg).fit(X_train, y_train)
    validation = evaluate(y_val.to_numpy(), churn_probability(first, X_val), cfg.top_k_percent)
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

    proba = churn_probability(model, X_test)
    for name, figure in plots.curves(y_test, proba, metrics).items():
        mlflow.log_figure(figure, f"plots/{name}")
    importance = plots.feature_importance(model, X_test, y_test, seed)
    if not importance.empty:
        mlflow.log_figure(plots.importance_figure(importance), "plots/feature_importance.png")
        drops = {str(feature): drop for feature, drop in importance.round(6).items()}  # the index holds the names
        mlflow.log_dict(drops, "feature_importance.json")
    plots.plt.close("all")


def settings_fingerprint(cfg: TrainingSettings) -> str:
    """A digest of every training setting that shapes the model or the gate's decision (`threads` only
    changes the speed): a retraining with other settings is a new need, not a repeat."""
    return hashlib.sha256(cfg.model_dump_json(exclude={"threads"}).encode()).hexdigest()[:16]


def data_identity(spark: Any, settings: Settings, run_date: date) -> dict[str, str] | None:
    """The `lineage.*` run tags a training for `run_date` on the tables as they are now records (run date, input
    tables, their Delta versions), read from table metadata before any data is; None when an input is missing."""
    tables = TableStore(spark, settings)
    if not all(tables.exists(t) for t in SOURCES):
        return None
    identity = {f"{LINEAGE}run_date": str(run_date)}
    for t in SOURCES:
        identity.update({f"{LINEAGE}{t}_version": str(tables.version(t)), f"{LINEAGE}{t}_table": tables.name(t)})
    return identity


def earlier_training(client: Any, experiment: str, name: str, identity: dict[str, str],
                     fingerprint: str) -> TrainingResult | None:
    """The newest finished training of `name` whose run tags match `identity` and `fingerprint` and whose
    version the gate decided on, as a reused result; None if there is none (a version killed before its gate
    ran has no decision to reuse, so the need is trained again)."""
    from mlflow.exceptions import MlflowException

    run_date = identity[f"{LINEAGE}run_date"]
    runs = client.search_runs([experiment], f"attributes.status = 'FINISHED' and tags.`{LINEAGE}run_date` = '{run_date}'",
                              order_by=["attributes.start_time DESC"])
    for run in runs:
        tags = run.data.tags
        if tags.get(FINGERPRINT) != fingerprint or any(tags.get(k) != v for k, v in identity.items()):
            continue
        try:
            version = client.get_model_version(name, tags[MODEL_VERSION])
        except (KeyError, MlflowException):  # no version recorded, or it was deleted since
            continue
        metrics = {k[len("test_"):]: v for k, v in run.data.metrics.items() if k.startswith("test_")}
        decision = registry.recorded_decision(version.tags, metrics)
        if decision is not None and version.run_id == run.info.run_id:
            return TrainingResult(run.info.run_id, name, str(version.version), metrics, decision, reused=True)
    return None


def train(spark: Any, settings: Settings, run_date: date | None = None) -> TrainingResult:
    """Train, log, register as challenger and run the promotion gate for `run_date` (default: settings), unless
    an earlier training did so on the same data with the same settings: then its version and decision."""
    cfg = settings.training
    run_date = run_date or settings.effective_run_date
    client = tracking.configure(settings)
    name = tracking.registered_model_name(settings)
    experiment = tracking.experiment_id(settings)
    tracking.close_dead_runs(client, experiment)
    identity = data_identity(spark, settings, run_date)
    if identity and (earlier := earlier_training(client, experiment, name, identity, settings_fingerprint(cfg))):
        log.info("%s was already trained for %s on the same data (%s) and settings by run %s: not registering an "
                 "identical version, reusing version %s and its decision (%s: %s)", name, run_date,
                 ", ".join(f"{k[len(LINEAGE):]} {v}" for k, v in identity.items() if k.endswith("_version")),
                 earlier.run_id, earlier.version, earlier.decision.outcome, earlier.decision.reason)
        return earlier
    data = load_training_data(spark, settings, run_date, cfg)
    return train_on(data, cfg, client, name, experiment, run_date)


def train_on(data: TrainingData, cfg: TrainingSettings, client: Any, name: str, experiment: str,
             run_date: date) -> TrainingResult:
    """Fit on `data`, log the run, register the version as challenger and gate it: the training job after
    its data is loaded (benchmarks call it with generated data, bypassing the Spark join)."""
    import mlflow

    with threadpool_limits(limits=cfg.threads), mlflow.start_run(
        experiment_id=experiment, run_name=f"train {run_date}", tags=tracking.process_tags()
    ) as run:
        # Run tags go to workspace tracking, not to Unity Catalog: UC's tag rules (ml/uc_tags.py) apply to
        # registered models and versions only, so the run keeps its dotted `lineage.*` and `gate.*` tags.
        mlflow.set_tags({**{f"{LINEAGE}{k}": v for k, v in data.lineage.items()},
                         FINGERPRINT: settings_fingerprint(cfg)})
        model, validation, rounds = fit(data, cfg)
        mlflow.log_params(_params(cfg, rounds))
        X_test, test_labels = data.part("test")
        y_test = test_labels.to_numpy()
        scores = churn_probability(model, X_test)
        test = evaluate(y_test, scores, cfg.top_k_percent)
        mlflow.log_metrics({**{f"val_{k}": v for k, v in validation.items()}, **{f"test_{k}": v for k, v in test.items()}})
        _log_evaluation(model, X_test, y_test, test, cfg.seed)
        info = log_model(model, X_test.head(EXAMPLE_ROWS))
        maybe_crash("train.logged")
        version = registry.register(client, name, info.model_uri, {uc_tags.RUN_DATE: str(run_date)})
        maybe_crash("train.registered")
        customers = data.frame.loc[data.frame["part"] == "test", ENTITY_KEY].to_numpy()
        decision = registry.gate(client, name, version, X_test, y_test, scores, cfg.gate, cfg.top_k_percent, customers)
        mlflow.set_tags({"gate.outcome": decision.outcome, "gate.reason": decision.reason, MODEL_VERSION: version})
    log.info("trained %s version %s: %s", name, version, decision.reason)
    return TrainingResult(run.info.run_id, name, version, test, decision)
