"""The pipeline's custom transformers are scikit-learn estimators: the library's own conformance checks
(parametrize_with_checks, the default suite, each expected failure with its reason), input validation that
refuses a frame of another shape or other columns than the one fitted (a scoring frame that lost a column
must not be clipped with another column's caps), and feature names out, alone and through the fitted model."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.utils.estimator_checks import parametrize_with_checks

from lakehouse.core.job_settings import TrainingSettings
from ml.serialization import TRUSTED_TYPES
from ml.synthetic import synthetic_tables
from ml.training.pipeline import INPUT_COLUMNS, build_pipeline, model_input
from ml.training.transformers import DerivedFeatures, MissingCategory, QuantileClipper

# DerivedFeatures computes ratios of named MRDS columns (REQUIRED), so it refuses the unnamed arrays (dense,
# sparse, memmapped) the checks fit it on, with a ValueError naming the columns it needs. What those checks
# test is covered on DataFrames below (fit returns self, feature counts and names, refusal of other columns,
# skops round trip) or does not apply (sparse and complex input never reach it: it gets the MRDS frame).
NEEDS_NAMED_COLUMNS = "fitted on an unnamed array: DerivedFeatures needs a DataFrame with its named MRDS columns"
DERIVED_FAILURES = dict.fromkeys((
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_complex_data", "check_dtype_object",
    "check_estimators_empty_data_messages", "check_pipeline_consistency", "check_estimator_sparse_tag",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_transformer_data_not_an_array", "check_transformer_general",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_fit2d_1sample",
    "check_fit2d_1feature", "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d",
), NEEDS_NAMED_COLUMNS)
# MissingCategory returns strings (the one-hot encoder's input) whatever it is given; these checks compare
# two outputs with assert_allclose, which cannot subtract strings. Equality of those outputs is asserted below.
STRING_OUTPUT = "returns strings: the check compares outputs with assert_allclose, which needs numbers"
MISSING_CATEGORY_FAILURES = dict.fromkeys((
    "check_pipeline_consistency", "check_estimators_pickle", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_fit_idempotent",
), STRING_OUTPUT)


def expected_failed_checks(estimator: object) -> dict[str, str]:
    """The checks each transformer is known to fail, with why (parametrize_with_checks xfails them strictly)."""
    if isinstance(estimator, DerivedFeatures):
        return DERIVED_FAILURES
    if isinstance(estimator, MissingCategory):
        return MISSING_CATEGORY_FAILURES
    return {}


@parametrize_with_checks([QuantileClipper(), MissingCategory(), DerivedFeatures()],
                         expected_failed_checks=expected_failed_checks)
def test_sklearn_conformance(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def mrds() -> pd.DataFrame:
    """MRDS-shaped rows in the model's input types, with nulls where the features may have them."""
    return model_input(synthetic_tables(200, date(2026, 1, 1), 10, seed=5)["ards"])


def test_quantile_clipper_refuses_another_number_of_columns():
    clipper = QuantileClipper(0.5).fit(np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]]))
    with pytest.raises(ValueError, match="has 1 features, but QuantileClipper is expecting 2 features"):
        clipper.transform(np.array([[100.0], [2.0]]))
    assert clipper.transform(np.array([[100.0, 1.0], [np.nan, 100.0]])).tolist()[0] == [3.0, 1.0]


def test_quantile_clipper_refuses_other_columns_and_names_its_output():
    frame = pd.DataFrame({"spend_30d": [1.0, 2.0, 900.0], "txn_count_30d": pd.array([1, None, 3], dtype="Int64")})
    clipper = QuantileClipper(0.5).fit(frame)
    assert clipper.get_feature_names_out().tolist() == ["spend_30d", "txn_count_30d"]
    assert np.isnan(clipper.transform(frame)[1, 1])  # pandas NA stays missing, for the imputer
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        clipper.transform(frame[["txn_count_30d", "spend_30d"]])
    with pytest.raises(ValueError, match="Invalid value for parameter|quantile"):
        QuantileClipper(1.5).fit(frame)


def test_missing_category_fills_none_and_nan_and_checks_its_columns():
    frame = pd.DataFrame({"plan": ["basic", None, np.nan], "region": ["north", "south", None]})
    fitted = MissingCategory().fit(frame)
    assert fitted.transform(frame).tolist() == [["basic", "north"], ["missing", "south"], ["missing", "missing"]]
    assert fitted.transform(frame).tolist() == MissingCategory().fit_transform(frame).tolist()
    assert fitted.get_feature_names_out().tolist() == ["plan", "region"]
    with pytest.raises(ValueError, match="missing:\n- region"):
        fitted.transform(frame[["plan"]])


def test_derived_features_on_frames(mrds):
    derive = DerivedFeatures()
    assert derive.fit(mrds) is derive and derive.n_features_in_ == len(INPUT_COLUMNS)
    out = derive.transform(mrds)
    assert list(out.columns) == derive.get_feature_names_out().tolist() == [*INPUT_COLUMNS, *DerivedFeatures.DERIVED]
    with pytest.raises(ValueError, match=r"the input has no column\(s\) \['monthly_fee'\]"):
        derive.transform(mrds.drop(columns="monthly_fee"))
    with pytest.raises(ValueError, match="needs a pandas DataFrame"):
        DerivedFeatures().fit(mrds.to_numpy())
    extra = derive.transform(mrds.assign(customer_id="C1")[["customer_id", *reversed(INPUT_COLUMNS)]])
    pd.testing.assert_frame_equal(extra[out.columns], out)  # MRDS rows as they are: by name, extras pass
    again = skops.io.loads(skops.io.dumps(derive), trusted=list(TRUSTED_TYPES))
    pd.testing.assert_frame_equal(again.transform(mrds), out)


def test_the_fitted_pipeline_names_the_columns_its_classifier_sees(mrds):
    rng = np.random.default_rng(0)
    model = build_pipeline(TrainingSettings(params={"hist_gradient_boosting": {"max_iter": 5}}, threads=1))
    model.fit(mrds, rng.integers(0, 2, len(mrds)))
    names = model[:-1].get_feature_names_out()
    assert len(names) == model[-1].n_features_in_ == model[:-1].transform(mrds).shape[1]
    assert "numeric__spend_per_fee_30d" in names and "numeric__missingindicator_cancellation_share_90d" in names
    assert any(n.startswith("categorical__plan_") for n in names)
    with pytest.raises(ValueError, match="monthly_fee"):
        model.predict_proba(mrds.drop(columns="monthly_fee"))
