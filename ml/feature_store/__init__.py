"""Feature store access: one interface, Databricks Feature Engineering in a workspace, Delta + SQLite locally
(lakehouse/local/feature_store.py); which one a run gets is the seam's call (lakehouse/platform/feature_store.py).

    from ml.feature_store import FeatureLookup, as_of_date, feature_store, register_project_tables

    fs = feature_store(spark, settings)
    register_project_tables(fs, settings)          # checks the ARDS and MRDS declare their keys
    training_set = fs.create_training_set(df=labels, label="churned", feature_lookups=[
        FeatureLookup(table_name=settings.table("ards"), lookup_key="customer_id",
                      timestamp_lookup_key="as_of_date", feature_names=list(FEATURE_NAMES))])

`FeatureLookup` is the library's own class, imported on first use (it pulls in MLflow, seconds).
The point-in-time boundary rule is documented in pit.py.
"""

from __future__ import annotations

from typing import Any

from lakehouse.core.settings import Settings
from lakehouse.platform.feature_store import feature_store, register
from ml.feature_store.errors import (
    DuplicateKeyError,
    FeatureNotFound,
    FeatureStoreError,
    FeatureTableNotFound,
    LookupKeyError,
)
from ml.feature_store.pit import as_of_date, point_in_time_join
from ml.feature_store.tables import FeatureTable, ards_table, mrds_table, project_tables
from ml.feature_store.training_set import TrainingSet

__all__ = [
    "DuplicateKeyError", "FeatureLookup", "FeatureNotFound", "FeatureStoreError", "FeatureTable", "FeatureTableNotFound",
    "LookupKeyError", "TrainingSet", "ards_table", "as_of_date", "feature_store", "mrds_table",
    "point_in_time_join", "project_tables", "register_project_tables",
]  # fmt: skip


def databricks_feature_store(spark: Any, settings: Settings) -> Any:
    """The Databricks client, imported on first use (the library takes ~12 s to import and needs a workspace)."""
    from ml.feature_store.databricks import DatabricksFeatureStore

    return DatabricksFeatureStore(spark, settings)


register("databricks", databricks_feature_store)


def register_project_tables(store: Any, settings: Settings) -> list[FeatureTable]:
    """The ARDS and MRDS as feature tables, checked to declare the expected keys in their pipeline definitions
    (nothing is written); skips those not there yet."""
    registered = []
    for table in project_tables(settings):
        try:
            registered.append(store.register_table(table))
        except FeatureTableNotFound:
            continue
    return registered


def __getattr__(name: str) -> Any:
    if name == "FeatureLookup":
        from databricks.ml_features.entities.feature_lookup import FeatureLookup

        return FeatureLookup
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
