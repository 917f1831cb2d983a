"""Delta table storage addressed as `catalog.schema.table`, the same calls locally and on Databricks.

Reads and writes go through the Spark API the same way everywhere; where a name lives (Unity Catalog on
Databricks, a Delta folder under the storage root locally) is the catalog's business: lakehouse/core/catalogs.py.
Writes are refused before anything is written when the frame does not match the table's schema
(Sail would silently ignore extra columns); a write that fails midway commits nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

from lakehouse.core.catalogs import Catalog, catalog_for, quote
from lakehouse.core.errors import SchemaMismatch, StorageError
from lakehouse.core.settings import Settings, validate_identifier


class TableStore:
    """Read, overwrite, append, replace a slice, merge by keys, and inspect versions of Delta tables."""

    def __init__(self, spark: Any, settings: Settings) -> None:
        self.spark = spark
        self.settings = settings
        self.catalog: Catalog = catalog_for(spark, settings)

    # -- naming -----------------------------------------------------------------------------
    def name(self, table: str) -> str:
        """Fully qualified name of a table given as `table`, `schema.table` or `catalog.schema.table`."""
        parts = table.split(".")
        if len(parts) > 3:
            raise StorageError(f"table name {table!r} has more than three parts")
        defaults = [self.settings.catalog, self.settings.schema_name]
        full = defaults[: 3 - len(parts)] + parts
        try:
            return ".".join(validate_identifier(p, "table name part") for p in full)
        except ValueError as exc:
            raise StorageError(str(exc)) from None

    def path(self, table: str) -> Path:
        """Where a local table's files live (Unity Catalog manages its own: StorageError there)."""
        return self.catalog.location(self.name(table))

    # -- catalog ----------------------------------------------------------------------------
    def exists(self, table: str) -> bool:
        return self.catalog.exists(self.name(table))

    def register(self, table: str) -> None:
        """Make a table visible to `spark.table` and SQL under its three-part name (locally; a no-op on Unity Catalog)."""
        self.catalog.register(self.name(table))

    def register_all(self) -> list[str]:
        """Register every table the catalog can find (locally the session catalog is in memory only)."""
        return self.catalog.register_all()

    def list_tables(self) -> list[str]:
        """Tables of the configured catalog and schema."""
        return self.catalog.tables(self.settings.catalog, self.settings.schema_name)

    # -- reads ------------------------------------------------------------------------------
    def read(self, table: str, version: int | None = None) -> Any:
        """The table as a DataFrame, optionally as of a version (time travel)."""
        if not self.exists(table):
            raise StorageError(f"table {self.name(table)} does not exist")
        self.register(table)
        if version is None:
            return self.spark.table(quote(self.name(table)))
        return self.spark.sql(f"SELECT * FROM {quote(self.name(table))} VERSION AS OF {int(version)}")

    def version(self, table: str) -> int | None:
        """Current version, None when the table does not exist."""
        if not self.exists(table):
            return None
        return int(self.history(table, limit=1)[0]["version"])

    def history(self, table: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits newest first: version, timestamp, operation, operationParameters."""
        return self.catalog.history(self.name(table), limit)

    # -- writes -----------------------------------------------------------------------------
    def overwrite(self, df: Any, table: str, partition_by: Sequence[str] = (), user_metadata: str | None = None) -> int:
        """Replace the whole table (and its schema); returns the new version. `user_metadata` labels the commit."""
        writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        return self._save(_labelled(writer, user_metadata), table, partition_by)

    def append(self, df: Any, table: str, partition_by: Sequence[str] = (), user_metadata: str | None = None,
               add_columns: bool = False) -> int:
        """Add rows; the frame must match the table's columns and types. `user_metadata` labels the commit.
        `add_columns`: columns the table lacks are added at its end (Delta's mergeSchema), nothing else may differ."""
        df = self._conform(df, table, add_columns)
        writer = df.write.format("delta").mode("append")
        if add_columns:
            writer = writer.option("mergeSchema", "true")
        return self._save(_labelled(writer, user_metadata), table, partition_by)

    def has_commit(self, table: str, user_metadata: str, depth: int = 20) -> bool:
        """Whether one of the table's last `depth` commits carries `user_metadata`."""
        return any(entry.get("userMetadata") == user_metadata for entry in self.history(table, depth))

    def replace_where(self, df: Any, table: str, predicate: str, partition_by: Sequence[str] = ()) -> int:
        """Atomically replace the rows matching `predicate` (e.g. one date) with `df`."""
        df = self._conform(df, table)
        writer = df.write.format("delta").mode("overwrite").option("replaceWhere", predicate)
        return self._save(writer, table, partition_by)

    def merge(
        self,
        df: Any,
        table: str,
        keys: Sequence[str],
        partition_by: Sequence[str] = (),
        update_condition: str | None = None,
    ) -> int:
        """Upsert by `keys` with SQL MERGE INTO; rows update only where `update_condition` holds (t./s.)."""
        if not keys:
            raise StorageError("merge needs at least one key column")
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise StorageError(f"merge into {self.name(table)}: key column(s) {missing} not in the data")
        if not self.exists(table):
            return self.overwrite(df, table, partition_by)
        df = self._conform(df, table)
        view = f"_merge_source_{uuid.uuid4().hex}"
        df.createOrReplaceTempView(view)
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        matched = f"WHEN MATCHED AND ({update_condition}) THEN" if update_condition else "WHEN MATCHED THEN"
        try:
            self.spark.sql(
                f"MERGE INTO {quote(self.name(table))} t USING `{view}` s ON {on} "
                f"{matched} UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            ).collect()
        finally:
            self.spark.catalog.dropTempView(view)
        return self.version(table)  # type: ignore[return-value]

    def _save(self, writer: Any, table: str, partition_by: Iterable[str]) -> int:
        cols = list(partition_by)
        if cols:
            writer = writer.partitionBy(*cols)
        self.catalog.save(writer, self.name(table))
        return self.version(table)  # type: ignore[return-value]

    def _conform(self, df: Any, table: str, add_columns: bool = False) -> Any:
        """The frame with the table's column order (then the columns added, with `add_columns`); refuses any other
        difference in columns or types."""
        if not self.exists(table):
            return df
        current = {f.name: f.dataType.simpleString() for f in self.read(table).schema.fields}
        incoming = {f.name: f.dataType.simpleString() for f in df.schema.fields}
        extra = sorted(set(incoming) - set(current))
        missing = sorted(set(current) - set(incoming))
        changed = sorted(c for c in set(current) & set(incoming) if current[c] != incoming[c])
        if current == incoming or (add_columns and not missing and not changed):
            return df.select(*[f"`{c}`" for c in [*current, *[c for c in incoming if c not in current]]])
        details = "; ".join(
            text
            for text in (
                f"unexpected columns {extra}" if extra else "",
                f"missing columns {missing}" if missing else "",
                ", ".join(f"{c} is {incoming[c]} not {current[c]}" for c in changed),
            )
            if text
        )
        raise SchemaMismatch(f"write to {self.name(table)} refused, schema mismatch: {details}")


def _labelled(writer: Any, user_metadata: str | None) -> Any:
    return writer if user_metadata is None else writer.option("userMetadata", user_metadata)
