"""What a local Delta table declares about itself: its schema with constraints, and its comment.

On Databricks a pipeline dataset's declared schema (NOT NULL, COMMENT, PRIMARY KEY ... TIMESERIES) and its
comment are kept by Unity Catalog, where FeatureEngineeringClient.get_table reads the keys from the table's
constraints. Locally the same declaration is kept in the Delta table's own metadata (the Delta protocol's
metaData action: https://github.com/delta-io/delta/blob/master/PROTOCOL.md#change-metadata): the table
property `lakehouse.schema` holds the declared DDL, normalised by lakehouse/core/declared_schema.py, and the
Delta `description` holds the table comment. Delta keeps both across appends, replaceWhere, MERGE and
overwrites, so they are committed (one metadata commit through delta-rs) only when they change.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.core.declared_schema import DeclaredSchema, parse
from lakehouse.core.storage import TableStore

SCHEMA_PROPERTY = "lakehouse.schema"


@dataclass(frozen=True)
class TableDeclaration:
    schema: DeclaredSchema
    comment: str | None = None


def read(store: TableStore, table: str) -> TableDeclaration | None:
    """The declaration stored with local table `table`; None when it has none (or does not exist)."""
    metadata = _metadata(store, table)
    if metadata is None or SCHEMA_PROPERTY not in metadata.configuration:
        return None
    return TableDeclaration(parse(metadata.configuration[SCHEMA_PROPERTY], store.name(table)), metadata.description)


def write(store: TableStore, table: str, declaration: TableDeclaration) -> bool:
    """Store `declaration` with existing local table `table`; returns whether a commit was needed."""
    from deltalake import DeltaTable

    metadata = _metadata(store, table)
    if metadata is None:
        raise FileNotFoundError(f"table {store.name(table)} does not exist")
    ddl = declaration.schema.ddl()
    if metadata.configuration.get(SCHEMA_PROPERTY) == ddl and metadata.description == declaration.comment:
        return False
    delta = DeltaTable(str(store.path(table)))
    if metadata.configuration.get(SCHEMA_PROPERTY) != ddl:
        delta.alter.set_table_properties({SCHEMA_PROPERTY: ddl}, raise_if_not_exists=False)
    if metadata.description != declaration.comment and declaration.comment is not None:
        delta.alter.set_table_description(declaration.comment)
    return True


def _metadata(store: TableStore, table: str):  # noqa: ANN202 - deltalake's Metadata, imported lazily
    if not store.settings.local:
        raise NotImplementedError("table declarations are read from Unity Catalog on Databricks")
    if not store.exists(table):
        return None
    from deltalake import DeltaTable

    return DeltaTable(str(store.path(table))).metadata()
