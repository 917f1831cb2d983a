"""Models that know their features: the lookup spec travels inside the logged model, scoring applies it.

`log_model` stores the training set's resolved lookups in the model's MLmodel `metadata` (key
`feature_spec`), so every registered version and alias carries them and the model stays an ordinary
MLflow model of its flavor (`mlflow.pyfunc.load_model`, `mlflow models predict` on feature columns).
`apply_model` scores a Spark frame with mapInPandas, the model loaded once per batch iterator from a
local copy of its artifacts.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Iterator

from pyspark.sql import DataFrame

from ml.feature_store.errors import FeatureStoreError
from ml.feature_store.training_set import TrainingSet

FEATURE_SPEC = "feature_spec"


def log_model(*, model: Any, artifact_path: str, flavor: ModuleType, training_set: TrainingSet,
              registered_model_name: str | None = None, **kwargs: Any) -> Any:
    """Log `model` with `flavor` (e.g. mlflow.sklearn) and the feature spec; returns MLflow's ModelInfo."""
    metadata = {**kwargs.pop("metadata", {}), FEATURE_SPEC: training_set.feature_spec}
    return flavor.log_model(model, name=artifact_path, registered_model_name=registered_model_name,
                            metadata=metadata, **kwargs)


def model_feature_spec(model_uri: str) -> tuple[dict[str, Any], list[str] | None]:
    """The feature spec a model was logged with, and its signature's input columns (None without one)."""
    import mlflow

    info = mlflow.models.get_model_info(model_uri)
    spec = (info.metadata or {}).get(FEATURE_SPEC)
    if spec is None:
        raise FeatureStoreError(f"model {model_uri} was not logged with feature lookups (use the feature store's log_model)")
    inputs = info.signature.inputs.input_names() if info.signature is not None else None
    return spec, inputs


def apply_model(frame: DataFrame, model_uri: str, inputs: list[str], result_type: str = "double",
                output: str = "prediction") -> DataFrame:
    """`frame` with the model's prediction on its `inputs` columns as `output`."""
    import mlflow

    local_copy = mlflow.artifacts.download_artifacts(model_uri)

    def predict(batches: Iterator[Any]) -> Iterator[Any]:
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(local_copy)
        for batch in batches:
            yield batch.assign(**{output: model.predict(batch[inputs])})

    schema = ", ".join([*(f"`{f.name}` {f.dataType.simpleString()}" for f in frame.schema.fields), f"`{output}` {result_type}"])
    return frame.mapInPandas(predict, schema)
