"""Custom scikit-learn transformers of the churn pipeline (top-level classes, so skops can load them).

Each validates its input with scikit-learn's `validate_data` (so a frame with other columns, or another
number of columns, than it was fitted on is refused instead of silently transformed: a scoring frame that
lost a column must not be clipped with another column's cap), exposes `get_feature_names_out` (so the fitted
pipeline can name the columns its classifier sees) and passes `parametrize_with_checks`
(tests/test_transformers.py, which lists and justifies each expected failure).

DerivedFeatures computes the derived columns by name inside the model, so scoring can never drift from
training; the other two work on any numeric / categorical matrix.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ml.features.definitions import MODEL_DERIVED


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, missing (not infinite) where the denominator is 0 or missing."""
    return numerator.astype("float64") / denominator.astype("float64").replace(0.0, np.nan)


class DerivedFeatures(TransformerMixin, BaseEstimator):
    """Adds behaviour ratios the raw windows only imply: engagement drop, spend per fee, complaint shares.

    Takes a DataFrame holding at least `REQUIRED` (by name: the ratios are defined on named MRDS columns, so an
    unnamed array is refused) and returns it with the `DERIVED` columns appended. Other columns pass through
    in any order, at transform too: the logged model takes MRDS rows as they are (keys, dates, labels) and
    the ColumnTransformer after this step picks its columns by name and drops the rest.
    """

    DERIVED = tuple(f.name for f in MODEL_DERIVED)  # declared in ml/features/definitions.py, computed here
    REQUIRED = tuple(dict.fromkeys(name for f in MODEL_DERIVED for name in f.inputs))

    def fit(self, X: pd.DataFrame, y: object = None) -> "DerivedFeatures":
        self._check_columns(X)
        validate_data(self, X, skip_check_array=True)  # records n_features_in_ and feature_names_in_
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        self._check_columns(X)
        out = X.copy()
        out["activity_drop_7d_30d"] = out["active_days_30d"] / 30.0 - out["active_days_7d"] / 7.0
        out["spend_per_fee_30d"] = _ratio(out["spend_30d"], out["monthly_fee"])
        out["cancellation_share_90d"] = _ratio(out["cancellation_contacts_90d"], out["support_contacts_90d"])
        out["unresolved_share_30d"] = _ratio(out["unresolved_contacts_30d"], out["support_contacts_30d"])
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The input columns, then the derived ones (the order of `transform`'s output)."""
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        return np.asarray([*names, *self.DERIVED], dtype=object)

    def _check_columns(self, X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            raise ValueError(f"{type(self).__name__} needs a pandas DataFrame with the columns {list(self.REQUIRED)}, "
                             f"got {type(X).__name__}")
        missing = [c for c in self.REQUIRED if c not in X.columns]
        if missing:
            raise ValueError(f"{type(self).__name__}: the input has no column(s) {missing}")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []  # returns a DataFrame of mixed column types
        return tags


class QuantileClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Caps each numeric column at the quantile learned in fit: a few extreme spenders must not dominate.

    Missing values stay missing (the imputer after it decides what they become); a column with no values in
    fit gets no cap. Output is float64 whatever the input type (the caps are quantiles, not input values).
    """

    _parameter_constraints: dict = {"quantile": [Interval(Real, 0, 1, closed="both")]}

    def __init__(self, quantile: float = 0.995) -> None:
        self.quantile = quantile

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: object = None) -> "QuantileClipper":
        values = validate_data(self, X, dtype="float64", ensure_all_finite="allow-nan")
        observed = ~np.isnan(values).all(axis=0)
        self.upper_ = np.full(values.shape[1], np.nan)
        self.upper_[observed] = np.nanquantile(values[:, observed], self.quantile, axis=0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = validate_data(self, X, dtype="float64", ensure_all_finite="allow-nan", reset=False)
        return np.where(values > self.upper_, self.upper_, values)  # NaN cap: comparison False, value kept

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class MissingCategory(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Replaces missing categories (None as well as NaN, which SimpleImputer misses for object columns)
    with one explicit category, and makes every value a string for the encoder."""

    def __init__(self, fill_value: str = "missing") -> None:
        self.fill_value = fill_value

    def fit(self, X: Any, y: object = None) -> "MissingCategory":
        validate_data(self, X, dtype=None, ensure_all_finite=False)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        values = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=False)
        frame = pd.DataFrame(values).astype(object)
        return frame.where(frame.notna(), self.fill_value).astype(str).to_numpy()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []  # strings for the encoder, whatever came in
        return tags
