"""Training run end to end on synthetic tables, the champion in standard MLflow clients, and batch scoring:
idempotent daily partitions and every refusal (nothing written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta

import mlflow
import numpy as np
import pytest
from pyspark.sql import functions as F

from lakehouse.core.job_settings import GateSettings, ScoringSettings, TrainingSettings
from lakehouse.core.storage import TableStore
from lakehouse.platform import tracking
from ml import uc_tags
from ml.errors import ScoringRefused
from ml.scoring import score
from ml.serialization import ALLOW_LOAD
from ml.synthetic import synthetic_tables, write_tables
from ml.training.dataset import load_training_data
from ml.training.labels import as_of_dates
from ml.training.train import data_identity, earlier_training, settings_fingerprint, train

START, DAYS = date(2026, 1, 1), 60
RUN = START + timedelta(days=DAYS - 1)
TRAINING = TrainingSettings(
    horizon_days=7, validation_days=7, test_days=7, threads=1,
    gate=GateSettings(minimums={"roc_auc": 0.6}, min_positives=5),  # 300 customers: ~15 churners in the test split
    params={"hist_gradient_boosting": {"max_iter": 40, "max_leaf_nodes": 7}},
)


@pytest.fixture(scope="module")
def trained(spark, base_settings, tmp_path_factory):
    """Synthetic warehouse (ARDS, customers, churn, an MRDS as of RUN) and one training run for RUN."""
    root = tmp_path_factory.mktemp("scoring")
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "schema_name": f"s_{uuid.uuid4().hex[:8]}", "mlflow_tracking_uri": uri,
        "mlflow_registry_uri": uri, "experiment_name": "scoring-tests", "model_name": "churn_test",
        "training": TRAINING, "scoring": ScoringSettings()})
    tables = synthetic_tables(300, START, DAYS, seed=11)
    ards = tables["ards"]
    tables["mrds"] = ards[ards["feature_date"] == RUN].assign(as_of_date=RUN)
    write_tables(spark, TableStore(spark, settings), tables)
    return settings, train(spark, settings, RUN), tables["mrds"]


def _with(settings, **scoring):
    return settings.model_copy(update={"scoring": ScoringSettings(**scoring)})


def _predictions(spark, settings):
    store = TableStore(spark, settings)
    return store, store.read("predictions").toPandas().sort_values("customer_id", ignore_index=True)


def test_training_run_is_logged_registered_and_promoted(trained):
    settings, result, _ = trained
    client = tracking.configure(settings)
    run = client.get_run(result.run_id).data
    assert run.tags["lineage.run_date"] == str(RUN)
    assert run.tags["lineage.ards_version"] == "1"  # the write, then the commit storing its declared keys
    assert run.tags["lineage.test_as_of"].endswith(str(RUN - timedelta(days=7)))
    assert run.params["horizon_days"] == "7" and run.params["model.max_iter"] == "40"
    assert {"test_roc_auc", "test_pr_auc", "test_log_loss", "test_brier", "test_lift_at_k", "val_roc_auc"} <= set(run.metrics)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    assert artifacts == {f"plots/{n}.png" for n in ("roc_curve", "pr_curve", "calibration", "feature_importance")}
    version = client.get_model_version_by_alias("churn_test", "champion")
    assert str(version.version) == result.version == str(client.get_model_version_by_alias("churn_test", "challenger").version)
    assert version.tags[uc_tags.GATE_OUTCOME] == "promoted" and result.decision.reason.startswith("first model")


def test_the_trained_version_carries_only_tags_unity_catalog_accepts(trained):
    """Every tag the real training run left on its registered version (ours and any MLflow adds) would be
    accepted by Unity Catalog, where the version is a securable; the gate's decision is among them."""
    settings, result, _ = trained
    tags = tracking.configure(settings).get_model_version("churn_test", result.version).tags
    uc_tags.check_all(tags)
    assert tags[uc_tags.RUN_DATE] == str(RUN) and tags[uc_tags.GATE_MODE] == "enabled"
    assert (tags[uc_tags.GATE_METRIC], tags[uc_tags.GATE_CHAMPION_VERSION]) == ("roc_auc", "none")
    assert tags[uc_tags.GATE_REASON] == result.decision.reason
    challenger_auc = float(tags[uc_tags.gate_metric_key("challenger", "roc_auc")])
    assert challenger_auc == pytest.approx(result.metrics["roc_auc"], abs=1e-6)
    sample = result.decision.sample  # the test split: customers on 7 as-of dates, churners counted once
    assert [int(tags[k]) for k in (uc_tags.GATE_ROWS, uc_tags.GATE_POSITIVES, uc_tags.GATE_CUSTOMERS,
                                   uc_tags.GATE_POSITIVE_CUSTOMERS)] == [
        result.metrics["rows"], round(result.metrics["rows"] * result.metrics["positive_rate"]), sample.customers,
        sample.positive_customers]
    assert sample.customers < sample.rows and 5 <= sample.positive_customers < sample.positives
    assert uc_tags.GATE_LOWER not in tags  # a first model has nothing to be compared with


def test_a_retraining_on_the_same_data_reuses_the_earlier_version_and_decision(spark, trained, caplog):
    """The drift job's retraining on the day the daily job trained (same run date, same input table versions,
    same settings) registers no identical version and starts no run: it says so and returns the earlier
    version with its recorded decision. Other data or other settings are a new need."""
    settings, result, _ = trained
    client = tracking.configure(settings)

    def count() -> tuple[int, int]:
        return (len(client.search_model_versions("name = 'churn_test'")),
                len(client.search_runs([tracking.experiment_id(settings)])))

    before = count()
    with caplog.at_level("INFO", logger="ml.training.train"):
        again = train(spark, settings, RUN)
    assert again.reused and count() == before
    assert (again.version, again.run_id) == (result.version, result.run_id)
    assert (again.decision.outcome, again.decision.reason, again.decision.sample) == (
        "promoted", result.decision.reason, result.decision.sample)
    assert again.metrics == pytest.approx(result.metrics)
    assert f"not registering an identical version, reusing version {result.version}" in caplog.text
    assert "ards_version 1" in caplog.text

    identity = data_identity(spark, settings, RUN)
    assert identity == {k: client.get_run(result.run_id).data.tags[k] for k in identity}
    experiment, fingerprint = tracking.experiment_id(settings), settings_fingerprint(settings.training)
    assert earlier_training(client, experiment, "churn_test", identity, fingerprint).version == result.version
    newer_ards = {**identity, "lineage.ards_version": str(int(identity["lineage.ards_version"]) + 1)}
    other_day = {**identity, "lineage.run_date": str(RUN - timedelta(days=1))}
    other_settings = settings_fingerprint(settings.training.model_copy(update={"seed": 7}))
    assert earlier_training(client, experiment, "churn_test", newer_ards, fingerprint) is None
    assert earlier_training(client, experiment, "churn_test", other_day, fingerprint) is None
    assert earlier_training(client, experiment, "churn_test", identity, other_settings) is None
    assert settings_fingerprint(settings.training.model_copy(update={"threads": 2})) == fingerprint  # speed only


def test_training_data_never_holds_a_gap_date(spark, trained):
    """Gap dates (between train, validation and test, so no label window crosses a split) are in no part:
    in training they would leak the labels of the validation window's first days."""
    settings, _, _ = trained
    data = load_training_data(spark, settings, RUN, TRAINING)
    split = data.split
    gaps = set(as_of_dates(START, RUN, TRAINING)) - {*split.train, *split.validation, *split.test}
    assert len(gaps) == 2 * TRAINING.gap - 2  # the 6 dates before validation and before test
    assert not gaps & set(data.frame["as_of_date"])
    parts = data.frame.groupby("part")["as_of_date"].agg(set).to_dict()
    assert parts == {"train": set(split.train), "validation": set(split.validation), "test": set(split.test)}
    assert len(data.frame) == sum(len(data.part(name)[1]) for name in ("train", "validation", "test"))


def test_champion_works_in_standard_mlflow_clients(spark, trained, tmp_path, monkeypatch):
    """pyfunc by alias and `mlflow models predict` take raw MRDS rows (keys, dates, Spark's types) and agree."""
    settings, _, _ = trained
    monkeypatch.setenv(ALLOW_LOAD, "true")  # MLflow 3 asks for it even for skops models (see ml/serialization.py)
    raw = TableStore(spark, settings).read("mrds").orderBy("customer_id").limit(20).toPandas()
    model = mlflow.pyfunc.load_model("models:/churn_test@champion")
    expected = model.get_raw_model().predict_proba(raw)
    np.testing.assert_allclose(model.predict(raw), expected)
    source, output = tmp_path / "input.json", tmp_path / "output.json"
    rows = json.loads(raw.to_json(orient="split", index=False, date_format="iso"))  # every MRDS column, as served
    source.write_text(json.dumps({"dataframe_split": rows}))
    env = {**os.environ, "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
           "MLFLOW_REGISTRY_URI": settings.mlflow_registry_uri, ALLOW_LOAD: "true"}
    done = subprocess.run([sys.executable, "-m", "mlflow", "models", "predict", "-m", "models:/churn_test@champion",
                           "-i", str(source), "-t", "json", "-o", str(output), "--env-manager", "local"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(np.array(json.loads(output.read_text())["predictions"]), expected, rtol=1e-12)


def test_scoring_replaces_the_partition_of_the_date(spark, trained):
    settings, result, mrds = trained
    first = score(spark, settings, RUN)
    store, rows = _predictions(spark, settings)
    assert first.rows == len(rows) == len(mrds) and first.model_version == result.version
    again = score(spark, settings, RUN)
    store, rerun = _predictions(spark, settings)
    assert again.table_version == first.table_version + 1 and len(rerun) == len(mrds)
    columns = ["customer_id", "score_date", "probability", "decision", "model_name", "model_version", "run_id"]
    assert rerun[columns].equals(rows[columns])
    assert (rows["decision"] == (rows["probability"] >= 0.5)).all() and rows["run_id"].eq(result.run_id).all()
    assert store.read("predictions").select("score_date").distinct().count() == 1


def test_top_k_decision(spark, trained):
    settings, _, mrds = trained
    score(spark, _with(settings, threshold=None, top_k_percent=10), RUN)
    _, rows = _predictions(spark, settings)
    assert rows["decision"].sum() == int(len(mrds) * 0.10)
    assert rows.loc[rows["decision"], "probability"].min() >= rows.loc[~rows["decision"], "probability"].max()


@pytest.fixture
def bad_features(spark, trained):
    """Writes a feature table of the MRDS's rows with one change; returns a scorer that uses it."""
    settings, _, _ = trained
    store = TableStore(spark, settings)

    def using(change):
        table = f"mrds_{uuid.uuid4().hex[:6]}"
        store.overwrite(change(store.read("mrds")), table)
        return _with(settings, feature_table=table)

    return using


@pytest.mark.parametrize(
    ("update", "day", "message"),
    [
        ({"model_name": "never_trained"}, RUN, "no champion: model never_trained has no @champion"),
        ({"scoring": ScoringSettings(feature_table="absent")}, RUN, r"feature table .*absent does not exist"),
        ({}, RUN + timedelta(days=1), f"missing or stale for {RUN + timedelta(days=1)}"),
    ],
    ids=["no-champion", "mrds-missing", "mrds-stale"],
)
def test_refusals_write_nothing(spark, trained, update, day, message):
    settings = trained[0].model_copy(update=update)
    store = TableStore(spark, settings)
    before = store.version("predictions")
    with pytest.raises(ScoringRefused, match=message):
        score(spark, settings, day)
    assert store.version("predictions") == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.drop("tenure_days"), r"missing columns \['tenure_days'\]"),
        (lambda df: df.withColumn("spend_30d", F.col("spend_30d").cast("string")), "spend_30d is string, the model takes double"),
        (lambda df: df.withColumn("plan", F.lit(1)), "plan is int, the model takes string"),
        # MLflow's schema enforcement refuses bigint -> double (precision loss): `mlflow models predict` would fail
        (lambda df: df.withColumn("spend_30d", F.col("spend_30d").cast("bigint")), "spend_30d is bigint, the model takes double"),
    ],
    ids=["missing-column", "numeric-as-string", "category-as-number", "bigint-as-double"],
)
def test_columns_not_matching_the_signature_are_refused(spark, trained, bad_features, change, message):
    settings = bad_features(change)
    store = TableStore(spark, settings)
    before = store.version("predictions")
    with pytest.raises(ScoringRefused, match=message):
        score(spark, settings, RUN)
    assert store.version("predictions") == before


def test_a_run_counts_only_the_rows_of_its_date_in_a_table_holding_earlier_ones(spark, trained):
    """The result (and the log) say how many rows this run scored, not how many the predictions table holds (here
    also the day before's and, as after a backfill of an older date, the day after's)."""
    settings, _, mrds = trained
    settings = _with(settings, predictions_table=f"predictions_{uuid.uuid4().hex[:6]}")
    store = TableStore(spark, settings)
    score(spark, settings, RUN)
    scored = store.read(settings.scoring.predictions_table)
    store.append(scored.withColumn("score_date", F.lit(RUN - timedelta(days=1))).unionByName(
        scored.withColumn("score_date", F.lit(RUN + timedelta(days=1)))), settings.scoring.predictions_table)
    again = score(spark, settings, RUN)
    assert again.rows == len(mrds)
    assert store.read(settings.scoring.predictions_table).count() == 3 * len(mrds)


@pytest.mark.parametrize(("choice", "said"), [("include", "scored and flagged (features_complete false)"),
                                               ("exclude", "left out")])
def test_the_log_says_what_became_of_incomplete_rows(spark, trained, caplog, choice, said):
    settings, result, mrds = trained
    settings = _with(settings, predictions_table=f"predictions_{uuid.uuid4().hex[:6]}", incomplete_windows=choice)
    with caplog.at_level("INFO", logger="ml.scoring"):
        score(spark, settings, RUN)
    assert (f"scored {len(mrds)} rows for {RUN} with churn_test version {result.version}; 0 row(s) with incomplete "
            f"feature windows {said}") in caplog.text


def test_an_mrds_is_dated_by_its_as_of_date_and_only_that_date_is_scored(spark, trained, bad_features):
    """The MRDS's feature_date is each customer's latest ARDS date (older for a quiet customer); its as_of_date is
    the serving date. A table also holding the next day's rows scores the run date's rows only."""
    _, _, mrds = trained
    tomorrow = RUN + timedelta(days=1)
    settings = bad_features(lambda df: df.withColumn("feature_date", F.lit(RUN - timedelta(days=3))).unionByName(
        df.withColumn("as_of_date", F.lit(tomorrow)).withColumn("feature_date", F.lit(tomorrow))))
    settings = _with(settings, feature_table=settings.scoring.feature_table,
                     predictions_table=f"predictions_{uuid.uuid4().hex[:6]}")
    assert score(spark, settings, RUN).rows == len(mrds)


def test_incomplete_rows_are_scored_and_flagged_or_left_out_and_counted_either_way(spark, trained, bad_features):
    """Every third customer's 90-day windows (the model's longest) reach before the history: by default they are
    scored with features_complete false, with `exclude` left out; the result counts them in both cases.
    (test_incomplete_windows.py tests the same on a warehouse with a real short history; this one reuses the
    trained champion, so the scoring job's mutation run needs one training, not two.)"""
    _, _, mrds = trained
    customers = sorted(mrds["customer_id"])
    partial = set(customers[::3])
    flagged = bad_features(lambda df: df.withColumn("window_complete_90d", ~F.col("customer_id").isin(partial)))

    def scored(choice: str) -> tuple[object, dict[str, bool]]:
        settings = _with(flagged, feature_table=flagged.scoring.feature_table, incomplete_windows=choice,
                         predictions_table=f"predictions_{uuid.uuid4().hex[:6]}")
        result = score(spark, settings, RUN)
        rows = TableStore(spark, settings).read(settings.scoring.predictions_table).collect()
        return result, {r.customer_id: r.features_complete for r in rows}

    included, flags = scored("include")
    assert (included.rows, included.incomplete_rows) == (len(customers), len(partial)) and 0 < len(partial) < len(customers)
    assert flags == {c: c not in partial for c in customers}
    excluded, flags = scored("exclude")
    assert (excluded.rows, excluded.incomplete_rows) == (len(customers) - len(partial), len(partial))
    assert flags == {c: True for c in customers if c not in partial}
