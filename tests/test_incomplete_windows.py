"""What the jobs do with feature rows whose windows reach back before the data history (issue 19).

Training sets and the drift windows leave them out by default and keep them when configured; scoring scores
them and flags them (`predictions.features_complete`), or leaves them out, and counts them either way. The
warehouses are synthetic (ml/synthetic.py, tests/drift_data.py) with a known history start, so which dates are
complete is known by hand.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakehouse.core.job_settings import DriftSettings, GateSettings, ScoringSettings, TrainingSettings
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from ml.features.definitions import COMPLETENESS
from ml.scoring import score
from ml.synthetic import synthetic_tables, write_tables
from ml.training.dataset import load_training_data
from ml.training.labels import AS_OF
from ml.training.train import train
from quality.drift.job import detect_drift
from quality.drift.windows import DriftInputError
from tests.drift_data import COLUMNS, ards_frame, write_ards

START, DAYS = date(2026, 1, 1), 60
RUN = START + timedelta(days=DAYS - 1)
HISTORY_START = START - timedelta(days=70)  # 90-day windows complete from START + 19 days
FIRST_COMPLETE = HISTORY_START + timedelta(days=89)
TRAINING = TrainingSettings(
    horizon_days=7, validation_days=7, test_days=7, threads=1,
    gate=GateSettings(minimums={"roc_auc": 0.6}, min_positives=5),  # 300 customers: few churners in the test split
    params={"hist_gradient_boosting": {"max_iter": 40, "max_leaf_nodes": 7}},
)


@pytest.fixture(scope="module")
def warehouse(spark, base_settings, tmp_path_factory):
    """A synthetic warehouse whose ARDS starts on START but whose data history starts 70 days earlier: the 90-day
    windows of START .. FIRST_COMPLETE - 1 are incomplete; a champion trained on it by default."""
    assert FIRST_COMPLETE == date(2026, 1, 20)
    root = tmp_path_factory.mktemp("incomplete")
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "schema_name": f"s_{uuid.uuid4().hex[:8]}", "mlflow_tracking_uri": uri,
        "mlflow_registry_uri": uri, "experiment_name": "incomplete-tests", "model_name": "churn_incomplete",
        "training": TRAINING})
    tables = synthetic_tables(300, START, DAYS, seed=11, history_start=HISTORY_START)
    write_tables(spark, TableStore(spark, settings), tables)
    return settings, tables, train(spark, settings, RUN)


def test_the_training_set_holds_only_complete_feature_dates_by_default_and_all_when_configured(spark, warehouse):
    settings, tables, _ = warehouse
    ards = tables["ards"]
    assert (~ards["window_complete_90d"]).sum() == (ards["feature_date"] < FIRST_COMPLETE).sum() > 0

    default = load_training_data(spark, settings, RUN, TRAINING)
    assert min(default.frame[AS_OF]) >= FIRST_COMPLETE
    assert default.frame["window_complete_90d"].all()
    assert default.lineage["first_as_of"] == str(FIRST_COMPLETE) and default.lineage["incomplete_rows"] == 0
    assert default.lineage["train_as_of"].startswith(str(FIRST_COMPLETE))

    everything = load_training_data(spark, settings, RUN, TRAINING.model_copy(update={"incomplete_windows": "include"}))
    assert min(everything.frame[AS_OF]) == START
    incomplete = everything.frame[~everything.frame["window_complete_90d"].astype(bool)]
    assert len(incomplete) == everything.lineage["incomplete_rows"] > 0
    assert set(incomplete[AS_OF]) == {START + timedelta(days=i) for i in range(19)}


def test_scoring_scores_and_flags_incomplete_rows_or_leaves_them_out_and_counts_them(spark, warehouse):
    settings, tables, trained = warehouse
    assert trained.decision.promote
    ards = tables["ards"]
    mrds = ards[ards["feature_date"] == RUN].assign(as_of_date=RUN).reset_index(drop=True)
    flagged = mrds["customer_id"].isin(mrds["customer_id"].iloc[::3])  # a third: windows reaching before the history
    mrds.loc[flagged, "window_complete_90d"] = False
    store = TableStore(spark, settings)
    write_tables(spark, store, {"mrds_partial": mrds})

    scored = score(spark, settings.model_copy(update={"scoring": ScoringSettings(
        feature_table="mrds_partial", predictions_table="predictions_flagged")}), RUN)
    out = store.read("predictions_flagged").toPandas().set_index("customer_id").sort_index()
    assert scored.rows == len(mrds) and scored.incomplete_rows == flagged.sum() > 0
    expected = ~flagged.set_axis(mrds["customer_id"]).sort_index()
    assert (out["features_complete"] == expected).all()

    left_out = score(spark, settings.model_copy(update={"scoring": ScoringSettings(
        feature_table="mrds_partial", predictions_table="predictions_complete", incomplete_windows="exclude")}), RUN)
    kept = store.read("predictions_complete").toPandas()
    assert left_out.rows == len(kept) == len(mrds) - flagged.sum() and left_out.incomplete_rows == flagged.sum()
    assert kept["features_complete"].all() and not set(kept["customer_id"]) & set(mrds["customer_id"][flagged])


# --- drift: a 30-day feature summed over fewer days at the start of the history looks like drift ------------------

APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
DRIFT_HISTORY_START = date(2026, 3, 20)  # 30-day windows complete from 04-18


def truncated(frame: pd.DataFrame, history_start: date) -> pd.DataFrame:
    """The frame as the ARDS computes it at the start of a history: the 30-day sums cover only the days since
    `history_start`, and each window length's completeness column says so."""
    out = frame.copy()
    covered = out["feature_date"].map(lambda d: min(30, (d - history_start).days + 1) / 30)
    out["spend_30d"] = out["spend_30d"] * covered
    out["txn_count_30d"] = np.maximum(1, (out["txn_count_30d"] * covered).round()).astype("int64")
    out["avg_amount_30d"] = out["spend_30d"] / out["txn_count_30d"]
    for c in COMPLETENESS:
        out[c.name] = out["feature_date"].map(lambda d, c=c: c.complete(d, history_start))
    return out


def local(settings: Settings, tmp_path: Path) -> Settings:
    blob = settings.blob.model_copy(update={"local_dir": tmp_path / "reports", "connection_string": None})
    return settings.model_copy(update={"blob": blob})


def test_drift_compares_only_complete_dates_by_default_and_the_truncated_windows_drift_when_included(
        store, settings, tmp_path):
    """Clean data: April and May come from the same distribution, but April's 30-day sums before 04-18 cover
    fewer days. By default the reference leaves 04-01..04-17 out (and says so): no drift. Included, the truncated
    sums shift spend_30d and txn_count_30d, a false alarm. The 90-day completeness (false throughout) does not
    matter: the compared columns' longest window is 30 days."""
    write_ards(store, *(truncated(ards_frame(month, days), DRIFT_HISTORY_START) for month, days in ((APRIL, 30), (MAY, 31))))
    config = DriftSettings(columns=COLUMNS, reference="previous_month", sample_rows=3000)
    clean = detect_drift(store.spark, local(settings, tmp_path), MAY, config)
    assert not clean.dataset_drift and clean.drifted_columns == []
    assert clean.reference["days_present"] == 13 and clean.reference["rows"] == 150 * 13
    assert clean.reference["incomplete_days"] == ["2026-04-01..2026-04-17"]
    assert clean.reference["requires"] == "window_complete_30d" and clean.current["incomplete_days"] == []
    assert any("17 day(s) left out" in w and "window_complete_30d" in w for w in clean.warnings), clean.warnings

    included = detect_drift(store.spark, local(settings, tmp_path), MAY,
                            config.model_copy(update={"incomplete_windows": "include"}))
    assert included.reference["rows"] == 150 * 30 and included.reference["incomplete_days"] == []
    assert {"spend_30d", "txn_count_30d"} <= set(included.drifted_columns)


def test_a_month_without_a_complete_date_is_refused_and_says_why(store, settings, tmp_path):
    write_ards(store, ards_frame(APRIL, 30).assign(**{c.name: False for c in COMPLETENESS}))
    config = DriftSettings(columns=COLUMNS, reference="previous_month", sample_rows=3000)
    with pytest.raises(DriftInputError, match=r"no rows for 2026-04 .*with complete windows.*30 day\(s\) left out.*"
                                              r"2026-04-01\.\.2026-04-30.*incomplete_windows=include"):
        detect_drift(store.spark, local(settings, tmp_path), APRIL, config)
