"""How the model is stored and loaded: skops with an explicit list of trusted types, never pickle.

skops refuses to instantiate any type that is neither one of its safe defaults (numpy, scipy and
scikit-learn estimators) nor listed in `TRUSTED_TYPES`. MLflow writes that list into the model's
MLmodel file and, since 3.x, also requires MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true to load even skops
models, because a crafted MLmodel could trust anything. `load_model` therefore checks the model's list
against this module's own before it allows the load; other clients (`mlflow models predict`,
`mlflow.pyfunc.load_model`) need the variable set by the user.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from typing import Any

from ml.errors import UntrustedModel

TRUSTED_TYPES = (
    "ml.training.transformers.DerivedFeatures",
    "ml.training.transformers.MissingCategory",
    "ml.training.transformers.QuantileClipper",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
ALLOW_LOAD = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")


def churn_probability(model: Any, features: Any) -> Any:
    """P(churn) per row, the positive class's column of `predict_proba`: the one prediction the project computes
    (training's evaluation, the gate's champion, the scoring job) and the logged model's pyfunc method below."""
    return model.predict_proba(features)[:, 1]


def log_model_kwargs(model: Any, example: Any) -> dict[str, Any]:
    """Arguments for mlflow.sklearn.save_model / log_model: skops, the trusted list, pinned requirements,
    predict_proba as the pyfunc method (the job needs probabilities, not 0/1 classes) and the signature
    of that method on `example` rows (MLflow would infer it from `predict`)."""
    from mlflow.models import infer_signature

    with warnings.catch_warnings():  # integer columns are integer on purpose: nullable ones are double already
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        signature = infer_signature(example, model.predict_proba(example))
    return {
        "input_example": example,
        "signature": signature,
        "serialization_format": "skops",
        "skops_trusted_types": list(TRUSTED_TYPES),
        "pip_requirements": [f"{name}=={version(name)}" for name in REQUIREMENTS],
        "pyfunc_predict_fn": "predict_proba",
    }


def log_model(model: Any, example: Any) -> Any:
    """Log `model` as the active run's `model` artifact and return MLflow's ModelInfo: the one way the project logs a
    model (training, the tests, the benchmarks), so every logged model is one that `load_model` accepts."""
    import mlflow.sklearn

    return mlflow.sklearn.log_model(model, name="model", **log_model_kwargs(model, example))


@contextmanager
def _loading_allowed() -> Iterator[None]:
    previous = os.environ.get(ALLOW_LOAD)
    os.environ[ALLOW_LOAD] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ALLOW_LOAD, None)
        else:
            os.environ[ALLOW_LOAD] = previous


def check_trusted(model_dir: str) -> None:
    """Refuse a model that is not skops or that trusts a type outside TRUSTED_TYPES."""
    from mlflow.models import Model

    flavor = Model.load(model_dir).flavors.get("sklearn", {})
    if flavor.get("serialization_format") != "skops":
        raise UntrustedModel(f"model at {model_dir} is not serialized with skops ({flavor.get('serialization_format')})")
    extra = sorted(set(flavor.get("skops_trusted_types") or ()) - set(TRUSTED_TYPES))
    if extra:
        raise UntrustedModel(f"model at {model_dir} trusts types outside the project's list: {extra}")


def load_model(model_uri: str) -> Any:
    """The pyfunc model at `model_uri` (e.g. models:/name@champion), after the trusted-types check."""
    import mlflow

    local = mlflow.artifacts.download_artifacts(model_uri)
    check_trusted(local)
    with _loading_allowed():
        return mlflow.pyfunc.load_model(local)
