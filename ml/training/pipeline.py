"""The one scikit-learn Pipeline that is the model: raw feature columns in, churn probability out.

derive (DerivedFeatures) -> per column type: numeric = clip at a learned quantile, impute the median
with missing-value indicators (scaled for the linear model); categorical = "missing" for nulls, one-hot
(unknown categories ignored) -> classifier. Extra input columns (keys, dates) are dropped by the
ColumnTransformer, so the logged model accepts MRDS rows as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lakehouse.core.job_settings import TrainingSettings
from ml.features.definitions import FEATURES, NULLABLE
from ml.training.transformers import DerivedFeatures, MissingCategory, QuantileClipper

CATEGORICAL = tuple(f.name for f in FEATURES if f.dtype == "string")
NUMERIC = tuple(f.name for f in FEATURES if f.dtype != "string")
INPUT_COLUMNS = CATEGORICAL + NUMERIC  # what the model reads; every other column is ignored
PANDAS_DTYPES = {"string": "object", "int": "int32", "bigint": "int64", "double": "float64"}  # Spark -> pandas
INPUT_DTYPES = {f.name: "float64" if f.name in NULLABLE else PANDAS_DTYPES[f.dtype] for f in FEATURES}


def model_input(X: pd.DataFrame) -> pd.DataFrame:
    """Rows with the column types of the model's signature: the pandas types of the MRDS's Spark types
    (MLflow refuses e.g. int64 for a double column), except double for the features that may be null,
    because a Spark int column with nulls arrives in pandas as float64."""
    return X[list(INPUT_COLUMNS)].astype(INPUT_DTYPES)


def _classifier(cfg: TrainingSettings, **overrides: object) -> object:
    params = {**cfg.model_params, **overrides}
    if cfg.model == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(early_stopping=False, random_state=cfg.seed, **params)
    return LogisticRegression(random_state=cfg.seed, **params)


def build_pipeline(cfg: TrainingSettings, **overrides: object) -> Pipeline:
    """An unfitted pipeline for `cfg.model` with `cfg.params` (and `overrides`) as hyper-parameters."""
    numeric = [("clip", QuantileClipper(cfg.clip_quantile)), ("impute", SimpleImputer(strategy="median", add_indicator=True))]
    if cfg.model == "logistic_regression":
        numeric.append(("scale", StandardScaler()))
    categorical = [("impute", MissingCategory()), ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]
    columns = ColumnTransformer(
        [("numeric", Pipeline(numeric), [*NUMERIC, *DerivedFeatures.DERIVED]), ("categorical", Pipeline(categorical), list(CATEGORICAL))],
        remainder="drop",
    )
    return Pipeline([("derive", DerivedFeatures()), ("columns", columns), ("model", _classifier(cfg, **overrides))])


def best_iterations(fitted: Pipeline, X_val: pd.DataFrame, y_val: np.ndarray) -> int | None:
    """Boosting rounds with the lowest validation log loss (early stopping on the time-based validation
    split, not a random one); None for models without rounds."""
    model = fitted[-1]
    if not hasattr(model, "staged_predict_proba"):
        return None
    features = fitted[:-1].transform(X_val)
    losses = [log_loss(y_val, p[:, 1], labels=[0, 1]) for p in model.staged_predict_proba(features)]
    return int(np.argmin(losses)) + 1
