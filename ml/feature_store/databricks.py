"""The feature store on Databricks: the same calls, delegated to databricks-feature-engineering.

The same checks as locally run first (lookups.py, writes.py), so a timestamp spine against the ARDS's
date key, an unknown feature or a duplicate key is refused here too, before the client is called.
Imported only on Databricks: the client takes ~12 s to import and needs workspace credentials.
Feature descriptions are Unity Catalog column comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from lakehouse.core.declared_schema import sql_string
from lakehouse.core.settings import Settings
from ml.feature_store.errors import FeatureStoreError, FeatureTableNotFound
from ml.feature_store.lookups import resolve
from ml.feature_store.tables import FeatureTable, verify_declared
from ml.feature_store.writes import check_write

if TYPE_CHECKING:
    from databricks.ml_features.entities.published_table import PublishedTable

ONLINE_STORE = "churn-online-store"  # a Databricks Online Store created once per workspace
# TRIGGERED, the library's default, spelled out: each publish_table call syncs the online table incrementally from
# the source's Change Data Feed and then stops until the next call (the daily job). It requires CDF on the source
# ("Change Data Feed (CDF) must be enabled for CONTINUOUS and TRIGGERED modes", databricks-feature-engineering
# 0.18.2 FeatureEngineeringClient.publish_table; publish modes: https://learn.microsoft.com/azure/databricks/oltp/projects/feature-store,
# https://databricks.github.io/sdk-js/api/variables/_databricks_sdk-featurestore.v1.PublishSpec_PublishMode.html),
# which the MRDS declares in its pipeline definition (dlt/online_features/mrds.py). SNAPSHOT would need no CDF but
# copies the whole table on every sync.
PUBLISH_MODE = "TRIGGERED"


def _quoted(name: str) -> str:
    return ".".join(f"`{part}`" for part in name.split("."))


class DatabricksFeatureStore:
    """Unity Catalog feature tables through FeatureEngineeringClient."""

    def __init__(self, spark: Any, settings: Settings, online_store: str = ONLINE_STORE) -> None:
        from databricks.feature_engineering import FeatureEngineeringClient

        self.spark, self.settings, self.online_store = spark, settings, online_store
        try:
            self.client = FeatureEngineeringClient()
        except ValueError as exc:  # no workspace credentials
            raise FeatureStoreError(f"the Databricks feature store is not reachable: {str(exc).splitlines()[0]}") from None

    def get_table(self, *, name: str) -> FeatureTable:
        try:
            found = self.client.get_table(name=name)
        except Exception as exc:  # noqa: BLE001 - the client raises plain exceptions for unknown tables
            raise FeatureTableNotFound(f"{name} is not a feature table: {str(exc).splitlines()[0]}") from None
        comments = {f.name: f.metadata.get("comment", "") for f in self.spark.table(found.name).schema.fields}
        timeseries = (found.timestamp_keys or [None])[0]
        keys = tuple(found.primary_keys) + ((timeseries,) if timeseries and timeseries not in found.primary_keys else ())
        return FeatureTable(found.name, keys, timeseries, found.description or "",
                            {c: comments.get(c, "") for c in found.features if c not in keys})

    def read_table(self, *, name: str) -> DataFrame:
        return self.client.read_table(name=name)

    def create_table(self, *, name: str, primary_keys: str | Sequence[str], df: DataFrame | None = None,
                     timeseries_column: str | None = None, partition_columns: Sequence[str] = (),
                     schema: StructType | None = None, description: str = "",
                     features: dict[str, str] | None = None) -> FeatureTable:
        keys = (primary_keys,) if isinstance(primary_keys, str) else tuple(primary_keys)
        table = FeatureTable(name, keys, timeseries_column, description, dict(features or {}))
        if df is not None:
            check_write(table, df)
        self.client.create_table(name=name, primary_keys=list(keys), df=df, timeseries_column=timeseries_column,
                                 partition_columns=list(partition_columns) or None, schema=schema, description=description)
        self._comment(table)
        return self.get_table(name=name)

    def register_table(self, table: FeatureTable) -> FeatureTable:
        """Check an existing table declares the keys of `table`; writes nothing.

        A pipeline's tables declare their primary key in their definition (`@dlt.table(schema=...)`, see
        ml/feature_store/schemas.py), where Unity Catalog keeps it and get_table reads it. No ALTER is run: a
        materialized view takes only COMMENT, MASK and TAGS changes through ALTER
        (https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-syntax-ddl-alter-materialized-view), and the
        next pipeline update would revert what an ALTER changed (https://docs.databricks.com/gcp/en/ldp/using-alter-sql).
        """
        if not self.spark.catalog.tableExists(table.name):
            raise FeatureTableNotFound(f"table {table.name} does not exist: run its pipeline first")
        return verify_declared(table, self.get_table)

    def _comment(self, table: FeatureTable) -> None:
        """Comments on a table create_table made (a plain Unity Catalog table, never a pipeline dataset)."""
        self.spark.sql(f"COMMENT ON TABLE {_quoted(table.name)} IS {sql_string(table.description)}")
        for column, text in table.features.items():
            self.spark.sql(f"ALTER TABLE {_quoted(table.name)} ALTER COLUMN `{column}` COMMENT {sql_string(text)}")

    def write_table(self, *, name: str, df: DataFrame, mode: str = "merge") -> None:
        table = self.get_table(name=name)
        existing = {f.name: f.dataType.simpleString() for f in self.spark.table(name).schema.fields}
        check_write(table, df, existing)
        self.client.write_table(name=name, df=df, mode=mode)

    def _describe(self, name: str) -> tuple[FeatureTable, StructType, None]:
        table = self.get_table(name=name)
        return table, self.spark.table(table.name).schema, None

    def create_training_set(self, *, df: DataFrame, feature_lookups: Sequence[Any], label: str | Sequence[str] | None,
                            exclude_columns: Sequence[str] = ()) -> Any:
        resolve(feature_lookups, df.schema, self._describe)
        return self.client.create_training_set(df=df, feature_lookups=list(feature_lookups), label=label,
                                               exclude_columns=list(exclude_columns))

    def log_model(self, **kwargs: Any) -> Any:
        return self.client.log_model(**kwargs)

    def score_batch(self, *, model_uri: str, df: DataFrame, result_type: str = "double") -> DataFrame:
        return self.client.score_batch(model_uri=model_uri, df=df, result_type=result_type)

    def publish_table(self, *, name: str) -> PublishedTable:
        """Publish `name` to the online store as `<name>_online`; returns what the service reports (the online
        table's name and the id of the pipeline that syncs it), so the job can say what happened."""
        store = self.client.get_online_store(name=self.online_store)
        if store is None:
            raise FeatureStoreError(f"online store {self.online_store!r} does not exist in this workspace")
        return self.client.publish_table(online_store=store, source_table_name=name,
                                         online_table_name=f"{name}_online", publish_mode=PUBLISH_MODE)

    @staticmethod
    def published_values(published: PublishedTable) -> dict[str, str]:
        """What a `publish_table` call did, as job task values (strings): `online_table` and `sync_pipeline_id` from
        the service's PublishedTable, the pipeline whose triggered sync fills the online table (its runs show whether
        it did)."""
        return {"online_table": str(published.online_table_name), "sync_pipeline_id": str(published.pipeline_id)}

    def read_online(self, *, name: str, keys: pd.DataFrame) -> pd.DataFrame:
        raise FeatureStoreError("on Databricks online features are read by Model Serving / Feature Serving endpoints")
