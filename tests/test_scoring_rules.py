"""The scoring job's rules on small frames, without a trained champion (ml/scoring.py; the job end to end is tested
in test_scoring.py and test_incomplete_windows.py): which column types the signature takes, the decision rules at
their edges, the incomplete-window flag, and the regrouping of the engine's batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.dummy import DummyClassifier

from lakehouse.core.job_settings import ScoringSettings
from ml.errors import ScoringRefused
from ml.scoring import ACCEPTS, _arrow_batches, _chunks, check_columns, completeness_flag, decide, predict_batches

SPARK_TYPES = ["tinyint", "smallint", "int", "bigint", "float", "double", "string", "boolean"]
# MLflow's signature enforcement (https://mlflow.org/docs/latest/ml/model/signatures): an integer
# column widens to long or double, a float to double; nothing narrows, and bigint -> double may lose precision
TAKES = {"integer": {"tinyint", "smallint", "int"}, "long": {"tinyint", "smallint", "int", "bigint"},
         "double": {"tinyint", "smallint", "int", "float", "double"}, "float": {"float"}, "string": {"string"},
         "boolean": {"boolean"}}


@pytest.mark.parametrize("model_type", sorted(TAKES))
def test_each_signature_type_takes_exactly_the_spark_types_mlflow_converts(spark, model_type):
    assert ACCEPTS[model_type] == TAKES[model_type]
    frame = spark.createDataFrame([], ", ".join(f"c_{t} {t}" for t in SPARK_TYPES))
    for spark_type in SPARK_TYPES:
        inputs = {f"c_{spark_type}": model_type}
        if spark_type in TAKES[model_type]:
            check_columns(frame, inputs, "mrds")
        else:
            with pytest.raises(ScoringRefused, match=f"^mrds does not match the model signature: c_{spark_type} is "
                                                     f"{spark_type}, the model takes {model_type}$"):
                check_columns(frame, inputs, "mrds")


def test_every_missing_column_and_wrong_type_is_named_in_one_refusal(spark):
    frame = spark.createDataFrame([], "plan int, spend_30d double")
    inputs = {"z_missing": "double", "plan": "string", "a_missing": "string", "spend_30d": "double"}
    with pytest.raises(ScoringRefused) as refused:
        check_columns(frame, inputs, "mrds")
    assert str(refused.value) == ("mrds does not match the model signature: missing columns ['a_missing', 'z_missing']; "
                                  "plan is int, the model takes string")


def predictions(spark, probabilities: list[float]):
    rows = [(f"C{i:02d}", p) for i, p in enumerate(probabilities)]
    return spark.createDataFrame(rows, "customer_id string, probability double")


def test_the_threshold_decides_at_or_above_it(spark):
    frame = predictions(spark, [0.29, 0.3, 0.31])
    got = decide(frame, ScoringSettings(threshold=0.3)).orderBy("customer_id").collect()
    assert [r.decision for r in got] == [False, True, True]


def test_top_k_takes_the_floor_of_k_percent_of_the_rows_ties_by_customer(spark):
    frame = predictions(spark, [0.9, 0.5, 0.9, 0.1, 0.7, 0.2, 0.3, 0.4, 0.6, 0.8])  # 10 rows: 25% -> 2 rows
    got = decide(frame, ScoringSettings(threshold=None, top_k_percent=25)).where("decision").collect()
    assert sorted(r.customer_id for r in got) == ["C00", "C02"]
    tied = predictions(spark, [0.5] * 4)  # 50% of 4 -> the first 2 by customer_id
    got = decide(tied, ScoringSettings(threshold=None, top_k_percent=50)).where("decision").collect()
    assert sorted(r.customer_id for r in got) == ["C00", "C01"]
    odd = predictions(spark, [i / 100 for i in range(99)])  # 50% of 99 rows: floor(49.5) = 49
    assert decide(odd, ScoringSettings(threshold=None, top_k_percent=50)).where("decision").count() == 49


def test_the_completeness_flag_is_the_longest_inputs_window_and_unknown_is_incomplete(spark):
    frame = spark.createDataFrame([("A", True, False), ("B", False, True), ("C", None, True)],
                                  "customer_id string, window_complete_90d boolean, window_complete_30d boolean")
    flag = completeness_flag(frame, ["plan", "spend_90d", "spend_30d"], "mrds")
    assert [r[0] for r in frame.select(flag).orderBy("customer_id").collect()] == [True, False, False]
    assert [r[0] for r in frame.select(completeness_flag(frame, ["plan"], "mrds")).collect()] == [True] * 3
    with pytest.raises(ScoringRefused, match="^mrds has no window_complete_7d column, so incomplete feature windows"):
        completeness_flag(frame, ["spend_7d"], "mrds")


def test_batches_are_regrouped_into_chunks_of_at_least_the_asked_rows_keeping_every_row():
    batches = [pa.RecordBatch.from_pydict({"x": list(range(i * 3, i * 3 + 3))}) for i in range(5)]  # 15 rows
    chunks = list(_chunks(iter(batches), 7))
    assert [c.num_rows for c in chunks] == [9, 6]  # 3+3+3 reaches 7; the rest is the last, smaller chunk
    assert sum((c.column("x").to_pylist() for c in chunks), []) == list(range(15))
    assert [c.num_rows for c in _chunks(iter(batches[:4]), 6)] == [6, 6]  # reaching the size exactly closes a chunk
    assert list(_chunks(iter([]), 6)) == []


def test_a_batchs_model_input_is_its_features_only_and_the_flag_travels_with_its_row():
    model = DummyClassifier(strategy="prior").fit(pd.DataFrame({"spend_30d": [1.0, 2.0, 3.0, 4.0]}), [0, 0, 0, 1])
    batch = pd.DataFrame({"customer_id": ["A", "B"], "features_complete": [1, 0], "spend_30d": [1.0, 2.0]})
    out = next(predict_batches(model, iter([batch])))
    assert list(out.columns) == ["customer_id", "probability", "features_complete"]
    assert out["customer_id"].tolist() == ["A", "B"] and np.allclose(out["probability"], 0.25)
    assert out["features_complete"].tolist() == [True, False] and out["features_complete"].dtype == bool
    plain = next(predict_batches(model, iter([batch.drop(columns="features_complete")])))
    assert list(plain.columns) == ["customer_id", "probability"]


def test_the_engine_gets_batches_of_exactly_the_declared_prediction_columns():
    """mapInArrow's result must match its declared schema (Spark refuses extra columns such as a pandas index)."""
    model = DummyClassifier(strategy="prior").fit(pd.DataFrame({"spend_30d": [1.0, 2.0, 3.0, 4.0]}), [0, 0, 0, 1])
    batch = pa.RecordBatch.from_pydict({"customer_id": ["A", "B"], "spend_30d": [1.0, 2.0]})
    out = list(_arrow_batches(model, iter([batch])))
    assert [b.schema.names for b in out] == [["customer_id", "probability"]]
