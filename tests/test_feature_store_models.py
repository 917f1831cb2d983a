"""A model logged with its feature lookups scores a frame of keys: features looked up, then the model applied."""

from __future__ import annotations

from datetime import date

import mlflow
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from lakehouse.local.feature_store import LocalFeatureStore
from lakehouse.platform import tracking
from ml.feature_store import FeatureLookup, FeatureStoreError

D = date.fromisoformat


@pytest.fixture
def fs(spark, settings):
    store = LocalFeatureStore(spark, settings)
    rows = [(f"C{c}", D("2026-01-01") if d == 0 else D("2026-01-02"), float(c * 10 + d), c % 2) for c in range(20) for d in (0, 1)]
    store.create_table(name="daily", primary_keys=["customer_id", "feature_date"], timeseries_column="feature_date",
                       df=spark.createDataFrame(rows, "customer_id string, feature_date date, spend double, flag int"))
    return store


def test_log_model_then_score_batch_looks_features_up(spark, fs, settings):
    spine = spark.createDataFrame([(f"C{c}", D("2026-01-02"), c % 2) for c in range(20)],
                                  "customer_id string, as_of_date date, churned int")
    lookup = FeatureLookup(table_name="daily", lookup_key="customer_id", timestamp_lookup_key="as_of_date")
    training_set = fs.create_training_set(df=spine, feature_lookups=[lookup], label="churned")
    train = training_set.load_df().toPandas()
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(train[["spend", "flag"]], train["churned"])
    tracking.configure(settings)  # the caller's run and registry (MLflow's globals may point at another test's store),
    mlflow.set_experiment(experiment_id=tracking.experiment_id(settings))  # artifacts beside them, not in ./mlruns
    with mlflow.start_run():
        info = fs.log_model(model=model, artifact_path="model", flavor=mlflow.sklearn, training_set=training_set,
                            registered_model_name="fs_test_model", serialization_format="cloudpickle")
    assert info.metadata["feature_spec"]["lookups"][0]["features"] == [["spend", "spend"], ["flag", "flag"]]

    keys = spark.createDataFrame([("C3", D("2026-01-02")), ("C4", D("2026-01-01")), ("C99", D("2026-01-02"))],
                                 "customer_id string, as_of_date date")
    scored = {r.customer_id: r.prediction for r in fs.score_batch(model_uri="models:/fs_test_model/1", df=keys).collect()}
    expected = model.predict(train.set_index("customer_id").loc[["C3"], ["spend", "flag"]])
    assert scored["C3"] == float(expected[0])
    assert scored["C4"] == float(model.predict(fs.read_table(name="daily").where("customer_id = 'C4' AND feature_date = '2026-01-01'")
                                               .toPandas()[["spend", "flag"]])[0])
    assert set(scored) == {"C3", "C4", "C99"}  # an unknown key is scored on imputed (null) features

    with pytest.raises(FeatureStoreError, match="lookup key"):
        fs.score_batch(model_uri="models:/fs_test_model/1", df=keys.drop("customer_id"))
