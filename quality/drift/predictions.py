"""Model-side monitoring, when the scoring job has written predictions: drift of the scores, and performance
on the predictions whose labels have matured.

Prediction drift compares the `probability` column of the predictions scored in the current month with
those scored in the reference window (same sampler, same Evidently run as the features). Performance: a
prediction of day D is labelled once D + horizon has passed by the ARDS's latest date (the data the job can
see), label = the customer churned in (D, D + horizon] (silver_churn), as in training; the metrics are the
training job's (ml.evaluation.metrics), compared with the promotion gate's minimums.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.core.job_settings import DriftSettings
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from ml.features.definitions import ENTITY_KEY
from quality.drift.report import NUM, ColumnDrift, read_results, run_report
from quality.drift.sample import sample_rows
from quality.drift.windows import Window

SCORE_DATE, PROBABILITY, LABEL = "score_date", "probability", "churned"
KEYS = [ENTITY_KEY, SCORE_DATE]


def scored(store: TableStore, cfg: DriftSettings, window: Window) -> DataFrame | None:
    """The predictions scored in `window`, None when there is no predictions table."""
    if not store.exists(cfg.predictions_table):
        return None
    return store.read(cfg.predictions_table).where(F.col(SCORE_DATE).between(F.lit(window.start), F.lit(window.end)))


def prediction_drift(store: TableStore, cfg: DriftSettings, current: Window,
                     reference: Window) -> tuple[tuple[ColumnDrift, Any] | None, str | None]:
    """Drift of the scores with its Evidently snapshot, or None and why it was not measured."""
    current_frame, reference_frame = (scored(store, cfg, w) for w in (current, reference))
    if current_frame is None or reference_frame is None:  # both or neither: there is no predictions table
        return None, None
    frames = [current_frame, reference_frame]
    counts = [frame.count() for frame in frames]
    if not all(counts):
        empty = [w.source for w, n in zip((current, reference), counts) if not n]
        return None, f"prediction drift not measured: no predictions in the {' and '.join(empty)}"
    samples = [sample_rows(f, [PROBABILITY], KEYS, cfg.sample_rows, cfg.seed, n) for f, n in zip(frames, counts)]
    types = {PROBABILITY: NUM}
    snapshot = run_report(samples[0].frame, samples[1].frame, types, cfg, cfg.prediction_method, cfg.prediction_threshold)
    found = read_results(snapshot, types).columns[0]
    return (replace(found, kind="prediction"), snapshot), None


def performance(store: TableStore, settings: Settings, cfg: DriftSettings, current: Window, data_through: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Metrics of the current month's matured predictions, or None and why not."""
    from ml.evaluation.metrics import evaluate

    predictions = scored(store, cfg, current)
    if predictions is None or not store.exists("silver_churn"):
        return None, None
    training = settings.training
    horizon = training.horizon_days
    matured = predictions.where(F.date_add(F.col(SCORE_DATE), horizon) <= F.lit(data_through))
    churn = store.read("silver_churn").where(F.col("churn_date") <= F.lit(data_through)).select(ENTITY_KEY, "churn_date")
    labelled = matured.join(churn, ENTITY_KEY, "left").select(
        *KEYS, PROBABILITY,
        (F.col("churn_date").isNotNull() & (F.col("churn_date") > F.col(SCORE_DATE))
         & (F.col("churn_date") <= F.date_add(F.col(SCORE_DATE), horizon))).cast("int").alias(LABEL))
    total = labelled.count()
    if not total:
        return None, (f"performance not measured: no prediction of {current.start:%Y-%m} has a matured "
                      f"{horizon}-day label by {data_through}")
    rows = sample_rows(labelled, [PROBABILITY, LABEL], KEYS, cfg.sample_rows, cfg.seed, total).frame
    metrics = evaluate(rows[LABEL].to_numpy(), rows[PROBABILITY].to_numpy(), training.top_k_percent)
    below = {m: t for m, t in training.gate.minimums.items() if metrics.get(m, math.nan) < t}  # NaN: not measurable
    return {**{k: None if math.isnan(v) else v for k, v in metrics.items()}, "labelled_predictions": total,
            "labels_through": str(data_through), "gate_minimums": training.gate.minimums,
            "below_minimums": below}, None
