"""Local feature table metadata, kept where Unity Catalog keeps it on Databricks: next to the tables.

One small Delta table (`feature_tables` in the configured schema) holds a row per feature table: its
full name and its metadata as JSON. Delta rather than the tables' own properties, because a pipeline's
overwrite replaces a table's schema and properties, and this must survive a full refresh.
"""

from __future__ import annotations

import json

from lakehouse.storage import TableStore
from ml.feature_store.tables import FeatureTable

REGISTRY_TABLE = "feature_tables"
_SCHEMA = "name string, metadata string"


class Registry:
    """Read and upsert feature table metadata."""

    def __init__(self, store: TableStore) -> None:
        self.store = store

    def get(self, name: str) -> FeatureTable | None:
        if not self.store.exists(REGISTRY_TABLE):
            return None
        rows = self.store.read(REGISTRY_TABLE).where(f"name = '{self.store.name(name)}'").collect()
        return FeatureTable.from_dict(json.loads(rows[0]["metadata"])) if rows else None

    def names(self) -> list[str]:
        if not self.store.exists(REGISTRY_TABLE):
            return []
        return sorted(r["name"] for r in self.store.read(REGISTRY_TABLE).select("name").collect())

    def put(self, table: FeatureTable) -> None:
        """Record `table` (by full name); no new Delta version when it is already recorded as is."""
        if self.get(table.name) == table:
            return
        row = self.store.spark.createDataFrame([(table.name, json.dumps(table.to_dict(), sort_keys=True))], _SCHEMA)
        self.store.merge(row, REGISTRY_TABLE, keys=["name"])
