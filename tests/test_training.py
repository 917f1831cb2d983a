"""Training pieces: label horizon, time split, the pipeline's input contract, metrics, skops round trip."""

from __future__ import annotations

from datetime import date, timedelta

import mlflow
import numpy as np
import pandas as pd
import pytest
import skops.io
from threadpoolctl import threadpool_limits

from lakehouse.core.job_settings import GateSettings, TrainingSettings
from ml.errors import NotEnoughHistory, UntrustedModel
from ml.evaluation.metrics import evaluate, lift_at_k
from ml.serialization import TRUSTED_TYPES, check_trusted, load_model, log_model_kwargs
from ml.synthetic import synthetic_tables
from ml.training.labels import as_of_dates, labeled_spine
from ml.training.pipeline import INPUT_COLUMNS, build_pipeline, model_input
from ml.training.split import time_split

D = date.fromisoformat
RUN = D("2026-03-31")
SMALL = {"hist_gradient_boosting": {"max_iter": 30, "max_leaf_nodes": 7}, "logistic_regression": {"max_iter": 500}}


def small(**kwargs: object) -> TrainingSettings:
    return TrainingSettings(params=SMALL, threads=1, **kwargs)


@pytest.fixture(autouse=True)
def one_thread():
    """Native threads fight over the 2 shared cores (4x slower than one thread under load)."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """ARDS-shaped rows with labels: churn within 14 days of the row's date."""
    tables = synthetic_tables(300, D("2026-01-01"), 40, seed=3)
    ards = tables["ards"].merge(tables["silver_churn"], on="customer_id", how="left")
    horizon = ards["feature_date"] + timedelta(days=14)
    ards["churned"] = (ards["churn_date"].notna() & (ards["churn_date"] <= horizon)).astype(int)
    return ards.drop(columns=["churn_date", "reason"])


# -- labels ---------------------------------------------------------------------------------
def test_as_of_dates_only_where_the_horizon_has_matured():
    cfg = TrainingSettings(horizon_days=14, as_of_every_days=7, window_days=60)
    dates = as_of_dates(D("2026-01-01"), RUN, cfg)
    assert dates[-1] == RUN - timedelta(days=14)
    assert all(d + timedelta(days=14) <= RUN for d in dates)
    assert {(b - a).days for a, b in zip(dates, dates[1:])} == {7}
    assert dates[0] >= RUN - timedelta(days=60)
    with pytest.raises(NotEnoughHistory, match="no as-of date"):
        as_of_dates(D("2026-03-20"), RUN, cfg)


def test_label_horizon_never_looks_past_the_data(spark):
    customers = spark.createDataFrame(
        [("A", D("2025-01-01")), ("B", D("2025-01-01")), ("C", D("2025-01-01")), ("E", D("2025-01-01")),
         ("F", D("2025-01-01")), ("G", D("2026-03-05"))], "customer_id string, signup_date date")
    churn = spark.createDataFrame(
        [("A", D("2026-03-15")),  # as_of + horizon exactly: churned
         ("B", D("2026-03-16")),  # one day past the horizon: not churned
         ("C", D("2026-03-01")),  # churned on the as-of date: not in the population
         ("E", D("2026-04-02"))],  # after the run date: unknown then, must not count
        "customer_id string, churn_date date")
    spine = labeled_spine(customers, churn, [D("2026-03-01")], horizon_days=14, run_date=D("2026-03-31"))
    assert {r.customer_id: r.churned for r in spine.collect()} == {"A": 1, "B": 0, "E": 0, "F": 0}
    # The same churn row counts once it is in the past of a later run date.
    later = labeled_spine(customers, churn, [D("2026-03-20")], horizon_days=14, run_date=D("2026-04-03"))
    assert {r.customer_id: r.churned for r in later.collect()}["E"] == 1
    with pytest.raises(NotEnoughHistory):
        labeled_spine(customers, churn, [D("2026-03-20")], horizon_days=14, run_date=D("2026-03-31"))


# -- split ----------------------------------------------------------------------------------
@pytest.mark.parametrize("every", [1, 3, 7])
def test_split_has_no_time_overlap(every):
    cfg = TrainingSettings(horizon_days=10, validation_days=7, test_days=7, as_of_every_days=every, window_days=200)
    split = time_split(as_of_dates(D("2025-10-01"), RUN, cfg), cfg)
    assert split.train and split.validation and split.test
    # every label window (d, d + horizon] of a part ends before the next part's first as-of date
    assert max(split.train) + timedelta(days=10) <= min(split.validation)
    assert max(split.validation) + timedelta(days=10) <= min(split.test)
    assert not set(split.train) & set(split.validation) | set(split.validation) & set(split.test)
    assert max(split.test) == RUN - timedelta(days=10)


def test_split_parts_have_their_exact_sizes_and_gaps():
    """Daily as-of dates 01-01..01-30, 3-day gaps: test = the last 5, validation = the 4 ending 3 days before
    test, train = everything up to 3 days before validation; the gap dates are in no part."""
    cfg = TrainingSettings(horizon_days=3, validation_days=4, test_days=5)
    days = [D("2026-01-01") + timedelta(days=i) for i in range(30)]
    split = time_split(list(reversed(days)) + days[:3], cfg)  # order and duplicates do not matter
    assert split.test == tuple(days[25:30]) and split.validation == tuple(days[19:23]) and split.train == tuple(days[:17])
    assert [split.part_of(D(d)) for d in ("2026-01-17", "2026-01-18", "2026-01-20", "2026-01-24", "2026-01-26")] == [
        "train", None, "validation", None, "test"]
    assert split.windows() == {"train_as_of": "2026-01-01..2026-01-17", "validation_as_of": "2026-01-20..2026-01-23",
                               "test_as_of": "2026-01-26..2026-01-30"}
    with pytest.raises(NotEnoughHistory) as too_few:  # validation and test, but no date left for train
        time_split(days[17:], cfg)
    assert str(too_few.value) == ("as-of dates 2026-01-18..2026-01-30 are too few for train + 4d validation + "
                                  "5d test with 3-day gaps: 0/4/5 dates")
    with pytest.raises(NotEnoughHistory, match="no as-of dates"):
        time_split([], cfg)


def test_split_refuses_too_little_history():
    cfg = TrainingSettings(horizon_days=14)
    with pytest.raises(NotEnoughHistory, match="too few"):
        time_split([D("2026-03-01") + timedelta(days=i) for i in range(20)], cfg)


# -- pipeline -------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["hist_gradient_boosting", "logistic_regression"])
def test_pipeline_takes_raw_columns_with_nulls_and_is_reproducible(frame, model):
    cfg = small(model=model)
    X, y = model_input(frame), frame["churned"]
    first = build_pipeline(cfg).fit(X, y).predict_proba(X)[:, 1]
    again = build_pipeline(cfg).fit(X, y).predict_proba(X)[:, 1]
    np.testing.assert_array_equal(first, again)
    raw = frame.head(50).copy()  # as the MRDS delivers: keys, dates, ints, None categories, pd.NA
    raw.loc[raw.index[:5], "plan"] = None
    raw["tenure_days"] = raw["tenure_days"].astype("Int32")
    raw.loc[raw.index[:3], "tenure_days"] = pd.NA
    proba = build_pipeline(cfg).fit(X, y).predict_proba(raw)[:, 1]
    assert proba.shape == (50,) and np.isfinite(proba).all()


def test_metrics_and_lift():
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    p = np.linspace(0, 1, 10)
    assert lift_at_k(y, p, 20) == pytest.approx(1.0 / 0.2)
    metrics = evaluate(y, p, 20)
    assert metrics["roc_auc"] == 1.0 and metrics["lift_at_k"] == 5.0
    assert np.isnan(evaluate(np.zeros(5), np.full(5, 0.1), 20)["roc_auc"])
    assert set(GateSettings().minimums) | set(GateSettings().maximums) <= set(metrics)


# -- serialization --------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["hist_gradient_boosting", "logistic_regression"])
def test_every_type_in_the_model_is_trusted(frame, model):
    fitted = build_pipeline(small(model=model)).fit(model_input(frame), frame["churned"])
    assert set(skops.io.get_untrusted_types(data=skops.io.dumps(fitted))) <= set(TRUSTED_TYPES)


def test_save_load_predict_equality(frame, tmp_path):
    X = model_input(frame)
    fitted = build_pipeline(small()).fit(X, frame["churned"])
    path = str(tmp_path / "model")
    mlflow.sklearn.save_model(fitted, path, **log_model_kwargs(fitted, X.head(3)))
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict_proba(X))
    assert list(loaded.metadata.get_input_schema().input_names()) == list(INPUT_COLUMNS)


def test_a_model_trusting_other_types_is_refused(frame, tmp_path):
    X = model_input(frame)
    fitted = build_pipeline(small()).fit(X, frame["churned"])
    path = str(tmp_path / "model")
    kwargs = {**log_model_kwargs(fitted, X.head(3)), "skops_trusted_types": [*TRUSTED_TYPES, "builtins.eval"]}
    mlflow.sklearn.save_model(fitted, path, **kwargs)
    with pytest.raises(UntrustedModel, match="builtins.eval"):
        check_trusted(path)


# -- labels at their boundaries (mutation testing, benchmarks/results/mutation.md) --------------------------------
def test_as_of_dates_are_exactly_the_matured_steps_back_from_the_last_within_the_window():
    cfg = TrainingSettings(horizon_days=14, as_of_every_days=7, window_days=30)
    # the window bounds them (run - 30 = 03-01, later than the first feature date): 03-17 back by 7 to 03-03
    assert as_of_dates(D("2026-01-01"), RUN, cfg) == [D("2026-03-03"), D("2026-03-10"), D("2026-03-17")]
    # the first feature date bounds them
    assert as_of_dates(D("2026-03-09"), RUN, cfg) == [D("2026-03-10"), D("2026-03-17")]
    # a single matured date is enough; one day less history is not
    assert as_of_dates(D("2026-03-17"), RUN, cfg) == [D("2026-03-17")]
    with pytest.raises(NotEnoughHistory, match="no as-of date"):
        as_of_dates(D("2026-03-18"), RUN, cfg)


def test_label_boundaries_signup_on_the_as_of_date_churn_on_the_run_date_horizon_ending_on_it(spark):
    """A customer signed up on the as-of date is in that day's population, one churned before it is not; a churn on
    the run date is known that day; an as-of date whose horizon ends exactly on the run date is matured."""
    customers = spark.createDataFrame([("S", D("2026-03-17")), ("R", D("2025-01-01")), ("P", D("2025-01-01"))],
                                      "customer_id string, signup_date date")
    churn = spark.createDataFrame([("R", RUN), ("P", D("2026-03-10"))], "customer_id string, churn_date date")
    spine = labeled_spine(customers, churn, [D("2026-03-17")], horizon_days=14, run_date=RUN)
    assert {r.customer_id: r.churned for r in spine.collect()} == {"S": 0, "R": 1}
