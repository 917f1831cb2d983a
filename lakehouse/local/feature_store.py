"""The feature store on this machine: FeatureEngineeringClient's calls on local Delta tables and SQLite.

Emulation, not in the wheel: the seam (lakehouse/platform/feature_store.py) hands it out for local settings once
`lakehouse.local` is imported (lakehouse/local/__init__.py registers it).

Tables are TableStore tables (Delta under the storage root); a table's keys and descriptions are what
it declares, stored with it (lakehouse/core/table_metadata.py) as Unity Catalog keeps them; training sets are point-in-time joins on the engine (pit.py), models carry their lookups in MLflow
(models.py) and the online store is an SQLite file next to the warehouse (online.py). Every refusal
happens before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakehouse.core import table_metadata
from lakehouse.core.declared_schema import PrimaryKey, from_struct, with_comments
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from ml.feature_store import models
from ml.feature_store.errors import FeatureStoreError, FeatureTableNotFound
from ml.feature_store.lookups import ResolvedLookup, check_keys, resolve
from ml.feature_store.online import OnlineStore
from ml.feature_store.tables import FeatureTable, declared_feature_table, verify_declared
from ml.feature_store.training_set import TrainingSet, join_features
from ml.feature_store.writes import check_write


def online_store_path(settings: Settings) -> Path:
    return settings.storage_root.parent / "online_store" / "features.sqlite"


class LocalFeatureStore:
    """create_table / write_table / create_training_set / log_model / score_batch / publish_table, locally."""

    def __init__(self, spark: Any, settings: Settings) -> None:
        self.spark, self.settings = spark, settings
        self.store = TableStore(spark, settings)
        self.online = OnlineStore(online_store_path(settings))

    # -- tables ------------------------------------------------------------------------------
    def get_table(self, *, name: str) -> FeatureTable:
        """The table's keys and descriptions, from what the table declares (as Unity Catalog's constraints)."""
        full = self.store.name(name)
        declaration = table_metadata.read(self.store, full)
        if declaration is None:
            state = "it declares no primary key" if self.store.exists(full) else "it does not exist"
            raise FeatureTableNotFound(f"{full} is not a feature table: {state}")
        return declared_feature_table(full, declaration.schema, declaration.comment or "")

    def read_table(self, *, name: str) -> DataFrame:
        return self.store.read(self.get_table(name=name).name)

    def create_table(self, *, name: str, primary_keys: str | Sequence[str], df: DataFrame | None = None,
                     timeseries_column: str | None = None, partition_columns: Sequence[str] = (),
                     schema: StructType | None = None, description: str = "",
                     features: dict[str, str] | None = None) -> FeatureTable:
        """A new feature table from `df` (or an empty one of `schema`); an identical existing one is returned."""
        keys = (primary_keys,) if isinstance(primary_keys, str) else tuple(primary_keys)
        table = FeatureTable(self.store.name(name), keys, timeseries_column, description, dict(features or {}))
        if self.store.exists(name):
            try:
                existing = self.get_table(name=name)
            except FeatureTableNotFound:
                existing = None
            if existing is None or (existing.primary_keys, existing.timeseries_column) != (keys, timeseries_column):
                raise FeatureStoreError(f"table {table.name} already exists with other keys or none declared")
            return existing
        if df is None and schema is None:
            raise FeatureStoreError(f"create_table {table.name}: give df or schema")
        df = df if df is not None else self.spark.createDataFrame([], schema)
        check_write(table, df)
        # As the client creates a Unity Catalog table with the primary key constraint: keys NOT NULL, the key and
        # the feature descriptions declared with the table (where get_table reads them back).
        declared = from_struct(df.schema, table.name, PrimaryKey(f"{table.name.split('.')[-1]}_pk", keys, timeseries_column),
                               comments=table.features)
        self.store.overwrite(with_comments(df, declared), table.name, partition_by=partition_columns)
        table_metadata.write(self.store, table.name, table_metadata.TableDeclaration(declared, description or None))
        return self.get_table(name=table.name)

    def register_table(self, table: FeatureTable) -> FeatureTable:
        """Check an existing table (e.g. one a pipeline writes) declares the keys of `table`; writes nothing."""
        if not self.store.exists(table.name):
            raise FeatureTableNotFound(f"table {self.store.name(table.name)} does not exist: run its pipeline first")
        return verify_declared(replace(table, name=self.store.name(table.name)), self.get_table)

    def write_table(self, *, name: str, df: DataFrame, mode: str = "merge") -> None:
        """Upsert `df` by primary key; refused on missing, retyped, null or duplicate keys and other schemas."""
        if mode != "merge":
            raise FeatureStoreError(f"write_table mode {mode!r} is not supported: only 'merge' (as on Databricks)")
        table = self.get_table(name=name)
        existing = {f.name: f.dataType.simpleString() for f in self.store.read(table.name).schema.fields}
        check_write(table, df, existing)
        self.store.merge(df, table.name, keys=table.primary_keys)

    # -- training and scoring --------------------------------------------------------------
    def _describe(self, name: str) -> tuple[FeatureTable, StructType, int | None]:
        table = self.get_table(name=name)
        return table, self.store.read(table.name).schema, self.store.version(table.name)

    def create_training_set(self, *, df: DataFrame, feature_lookups: Sequence[Any], label: str | Sequence[str] | None,
                            exclude_columns: Sequence[str] = ()) -> TrainingSet:
        """The spine `df` joined point in time with the lookups' features, at the tables' current versions (kept)."""
        labels = [label] if isinstance(label, str) else list(label or [])
        missing = [c for c in labels if c not in df.columns]
        if missing:
            raise FeatureStoreError(f"label column(s) {missing} are not in the frame")
        lookups = resolve(feature_lookups, df.schema, self._describe)
        joined = join_features(df, lookups, lambda table, version: self.store.read(table, version=version))
        return TrainingSet(joined, lookups, labels, exclude_columns)

    def log_model(self, *, model: Any, artifact_path: str, flavor: ModuleType, training_set: TrainingSet,
                  registered_model_name: str | None = None, **kwargs: Any) -> Any:
        """Log into the active MLflow run (the caller's tracking URI) with the lookups in the model's metadata."""
        return models.log_model(model=model, artifact_path=artifact_path, flavor=flavor, training_set=training_set,
                                registered_model_name=registered_model_name, **kwargs)

    def score_batch(self, *, model_uri: str, df: DataFrame, result_type: str = "double") -> DataFrame:
        """`df` (lookup keys, plus timestamp keys for time series lookups) with the model's `prediction`.

        `model_uri` resolves against the settings' MLflow tracking and registry URIs.
        """
        self._use_mlflow()
        spec, inputs = models.model_feature_spec(model_uri)
        lookups = [ResolvedLookup.from_dict(d) for d in spec["lookups"]]
        check_keys(lookups, df.schema, self._describe)
        joined = join_features(df, lookups, lambda table, _version: self.store.read(table))
        features = inputs or [out for lookup in lookups for out in lookup.features.values()]
        return models.apply_model(joined, model_uri, features, result_type)

    def _use_mlflow(self) -> None:
        import mlflow

        mlflow.set_tracking_uri(self.settings.mlflow_tracking_uri)
        mlflow.set_registry_uri(self.settings.mlflow_registry_uri)

    # -- online store -----------------------------------------------------------------------
    def publish_table(self, *, name: str) -> int:
        """Upsert the table's latest row per entity key into the online store; returns rows published."""
        table = self.get_table(name=name)
        df = self.store.read(table.name)
        if table.timeseries_column:
            newest = Window.partitionBy(*table.entity_keys).orderBy(F.col(table.timeseries_column).desc())
            df = df.withColumn("_rank", F.row_number().over(newest)).where("_rank = 1").drop("_rank")
        return self.online.publish(table.name, df.toArrow(), table.entity_keys, table.timeseries_column)

    @staticmethod
    def published_values(published: int) -> dict[str, str]:
        """What a `publish_table` call did, as job task values (strings): the rows upserted into the SQLite store."""
        return {"published_rows": str(published)}

    def read_online(self, *, name: str, keys: pd.DataFrame) -> pd.DataFrame:
        """Published rows for `keys` (a frame of the entity key columns), in order; unknown keys get nulls."""
        full = self.store.name(name)
        try:
            return self.online.read(full, keys)
        except KeyError:
            raise FeatureTableNotFound(f"{full} has not been published to the online store") from None
