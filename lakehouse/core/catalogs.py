"""Where tables live: the one place that knows how tables are found, listed, versioned and saved.

TableStore (lakehouse/core/storage.py) reads and writes the same way everywhere through the Spark API; what
differs between the platforms is the catalog behind a three-part name, chosen once per store by `catalog_for`:

- Databricks: Unity Catalog. Managed tables, "the default and recommended table type", whose files
  Unity Catalog places and manages (https://learn.microsoft.com/azure/databricks/tables/managed), are created by
  `saveAsTable` and found with `spark.catalog.tableExists`, `SHOW TABLES IN catalog.schema`
  (https://learn.microsoft.com/azure/databricks/sql/language-manual/sql-ref-syntax-aux-show-tables) and
  `DESCRIBE HISTORY` (https://learn.microsoft.com/azure/databricks/sql/language-manual/delta-describe-history).
- Locally: a path-based Delta table per name under `<storage_root>/<catalog>/<schema>/<table>`, registered in
  the engine's in-memory session catalog so `spark.table(...)` and SQL see it, with history read from
  the table's Delta log by delta-rs (no engine round trip).
"""

from __future__ import annotations

import uuid
import weakref
from pathlib import Path
from typing import Any, Protocol

from lakehouse.core.errors import StorageError
from lakehouse.core.settings import Settings


def ensure_writable(path: Path, what: str = "storage root") -> None:
    """Fail early with one clear line when a local folder cannot be created or written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StorageError(f"{what} {path} is not writable: {exc.strerror or exc}") from None


def quote(name: str) -> str:
    """A dotted name with each part in backticks."""
    return ".".join(f"`{part}`" for part in name.split("."))


class Catalog(Protocol):
    """What TableStore needs from a catalog; names are always fully qualified `catalog.schema.table`."""

    def exists(self, name: str) -> bool: ...

    def register(self, name: str) -> None: ...

    def register_all(self) -> list[str]: ...

    def tables(self, catalog: str, schema: str) -> list[str]: ...

    def history(self, name: str, limit: int | None) -> list[dict[str, Any]]: ...

    def save(self, writer: Any, name: str) -> None: ...

    def location(self, name: str) -> Path: ...


class UnityCatalog:
    """Databricks: Unity Catalog managed tables."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def exists(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    def register(self, name: str) -> None:
        """Nothing to do: Unity Catalog knows every table it manages."""

    def register_all(self) -> list[str]:
        return []

    def tables(self, catalog: str, schema: str) -> list[str]:
        rows = self.spark.sql(f"SHOW TABLES IN {quote(f'{catalog}.{schema}')}").collect()
        return sorted(r.tableName for r in rows)

    def history(self, name: str, limit: int | None) -> list[dict[str, Any]]:
        rows = self.spark.sql(f"DESCRIBE HISTORY {quote(name)}").collect()
        return [r.asDict() for r in rows[:limit]]

    def save(self, writer: Any, name: str) -> None:
        writer.saveAsTable(name)

    def location(self, name: str) -> Path:
        raise StorageError(f"{name} is a Unity Catalog managed table: its files have no path of ours")


def _holds_a_table(folder: Path) -> bool:
    """A Delta table is a `_delta_log` with a commit or a checkpoint (files named by their version): a process killed
    during a table's first write can leave the folder without either, and that is no table yet, so the next write
    creates it instead of failing on a table with no columns (https://github.com/delta-io/delta/blob/master/PROTOCOL.md#delta-log-entries)."""
    log = folder / "_delta_log"
    return log.is_dir() and any(entry.name[:20].isdigit() for entry in log.iterdir())


_REGISTERED: weakref.WeakKeyDictionary[Any, set[tuple[str, str]]] = weakref.WeakKeyDictionary()  # per session


class FolderCatalog:
    """Locally: one Delta folder per table under the storage root, registered in the session catalog."""

    def __init__(self, spark: Any, root: Path) -> None:
        self.spark = spark
        self.root = root
        ensure_writable(root)

    def location(self, name: str) -> Path:
        return self.root.joinpath(*name.split("."))

    def exists(self, name: str) -> bool:
        return _holds_a_table(self.location(name))

    def register(self, name: str) -> None:
        """Make the table visible to `spark.table` and SQL under its three-part name.

        Every read and write registers its table, so each session remembers what it registered: the
        statements are idempotent, and skipping them saves two engine round trips per call.
        """
        registered = _REGISTERED.setdefault(self.spark, set())
        key = (name, str(self.location(name)))
        if key in registered:
            return
        self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {quote(name.rsplit('.', 1)[0])}")
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {quote(name)} USING delta LOCATION '{self.location(name)}'")
        registered.add(key)

    def register_all(self) -> list[str]:
        """Register every table found under the storage root (the session catalog is in memory only)."""
        found = []
        if self.root.is_dir():
            for log_dir in sorted(d for d in self.root.glob("*/*/*/_delta_log") if _holds_a_table(d.parent)):
                name = ".".join(log_dir.parent.relative_to(self.root).parts)
                self.register(name)
                found.append(name)
        return found

    def tables(self, catalog: str, schema: str) -> list[str]:
        base = self.root / catalog / schema
        return sorted(p.parent.name for p in base.glob("*/_delta_log") if _holds_a_table(p.parent)) if base.is_dir() else []

    def history(self, name: str, limit: int | None) -> list[dict[str, Any]]:
        from deltalake import DeltaTable

        if not self.exists(name):
            raise StorageError(f"table {name} does not exist")
        return list(DeltaTable(str(self.location(name))).history(limit))

    def save(self, writer: Any, name: str) -> None:
        self.location(name).parent.mkdir(parents=True, exist_ok=True)
        writer.save(str(self.location(name)))
        self.register(name)


def catalog_for(spark: Any, settings: Settings) -> Catalog:
    """Unity Catalog on Databricks, Delta folders under the storage root everywhere else."""
    return FolderCatalog(spark, settings.storage_root) if settings.local else UnityCatalog(spark)
