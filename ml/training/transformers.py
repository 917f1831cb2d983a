"""Custom scikit-learn transformers of the churn pipeline (top-level classes, so skops can load them).

They take and return pandas frames, so the pipeline works on raw MRDS/ARDS columns by name and the
derived columns are computed inside the model: scoring can never drift from training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


def _floats(X: object) -> np.ndarray:
    """A float matrix; pandas nullable columns (pd.NA, e.g. from Arrow) become NaN."""
    return pd.DataFrame(X).to_numpy(dtype="float64", na_value=np.nan)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, missing (not infinite) where the denominator is 0 or missing."""
    return numerator.astype("float64") / denominator.astype("float64").replace(0.0, np.nan)


class DerivedFeatures(TransformerMixin, BaseEstimator):
    """Adds behaviour ratios the raw windows only imply: engagement drop, spend per fee, complaint shares."""

    DERIVED = ("activity_drop_7d_30d", "spend_per_fee_30d", "cancellation_share_90d", "unresolved_share_30d")

    def fit(self, X: pd.DataFrame, y: object = None) -> "DerivedFeatures":
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        out = X.copy()
        out["activity_drop_7d_30d"] = out["active_days_30d"] / 30.0 - out["active_days_7d"] / 7.0
        out["spend_per_fee_30d"] = _ratio(out["spend_30d"], out["monthly_fee"])
        out["cancellation_share_90d"] = _ratio(out["cancellation_contacts_90d"], out["support_contacts_90d"])
        out["unresolved_share_30d"] = _ratio(out["unresolved_contacts_30d"], out["support_contacts_30d"])
        return out


class QuantileClipper(TransformerMixin, BaseEstimator):
    """Caps each numeric column at the quantile learned in fit: a few extreme spenders must not dominate."""

    def __init__(self, quantile: float = 0.995) -> None:
        self.quantile = quantile

    def fit(self, X: np.ndarray, y: object = None) -> "QuantileClipper":
        values = _floats(X)
        self.n_features_in_ = values.shape[1]
        self.upper_ = np.nanquantile(values, self.quantile, axis=0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        values = _floats(X)
        return np.where(values > self.upper_, self.upper_, values)


class MissingCategory(TransformerMixin, BaseEstimator):
    """Replaces missing categories (None as well as NaN, which SimpleImputer misses for object columns)
    with one explicit category, and makes every value a string for the encoder."""

    def __init__(self, fill_value: str = "missing") -> None:
        self.fill_value = fill_value

    def fit(self, X: pd.DataFrame, y: object = None) -> "MissingCategory":
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        frame = pd.DataFrame(X).astype(object)
        return frame.where(frame.notna(), self.fill_value).astype(str).to_numpy()

