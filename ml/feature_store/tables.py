"""Feature table metadata, and the project's two feature tables described from the feature definitions.

A feature table is a Delta table with primary keys (the entity keys plus, for a time series table, the
timeseries column) and descriptions of the table and of each feature; every non-key column is a feature.
Its keys are what the table itself declares: on Databricks the Unity Catalog primary key constraint
(`PRIMARY KEY (..., ts TIMESERIES)`, which FeatureEngineeringClient.get_table reads), locally the same
declaration stored with the Delta table (lakehouse/core/table_metadata.py). `ards_table` / `mrds_table` are
what the project expects the pipelines to declare; `verify_declared` checks a table against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from lakehouse.core.declared_schema import DeclaredSchema
from lakehouse.core.settings import Settings
from ml.feature_store import mrds
from ml.feature_store.errors import FeatureStoreError, FeatureTableNotFound
from ml.features.definitions import COMPLETENESS, ENTITY_KEY, FEATURES, TIMESERIES_KEY


@dataclass(frozen=True)
class FeatureTable:
    """Keys and descriptions of a feature table (`features`: feature name -> description)."""

    name: str
    primary_keys: tuple[str, ...]
    timeseries_column: str | None = None
    description: str = ""
    features: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.primary_keys:
            raise FeatureStoreError(f"feature table {self.name} needs at least one primary key")
        if self.timeseries_column and self.timeseries_column not in self.primary_keys:
            raise FeatureStoreError(
                f"feature table {self.name}: timeseries column {self.timeseries_column!r} must be one of the "
                f"primary keys {list(self.primary_keys)}"
            )

    @property
    def entity_keys(self) -> tuple[str, ...]:
        """The keys a lookup matches on: the primary keys without the timeseries column."""
        return tuple(k for k in self.primary_keys if k != self.timeseries_column)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "primary_keys": list(self.primary_keys), "timeseries_column": self.timeseries_column,
                "description": self.description, "features": dict(self.features)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FeatureTable":
        return cls(name=data["name"], primary_keys=tuple(data["primary_keys"]),
                   timeseries_column=data.get("timeseries_column"), description=data.get("description") or "",
                   features=dict(data.get("features") or {}))


def declared_feature_table(name: str, schema: DeclaredSchema, description: str = "") -> FeatureTable:
    """The feature table a declared schema describes: its primary key (with the TIMESERIES column) and the
    comments of its other columns, the features."""
    key = schema.primary_key
    if key is None:
        raise FeatureTableNotFound(
            f"{name} is not a feature table: it declares no primary key (declare `CONSTRAINT <name> PRIMARY KEY "
            "(...)` with NOT NULL key columns in its definition, e.g. the pipeline's schema=)"
        )
    features = {c.name: c.comment or "" for c in schema.columns if c.name not in key.columns}
    return FeatureTable(name, key.columns, key.timeseries, description, features)


def verify_declared(expected: FeatureTable, get_table: Callable[..., FeatureTable]) -> FeatureTable:
    """The existing table `expected.name` as its store describes it, refused unless it declares the expected keys.

    Nothing is written: keys are declared where the table is defined (a pipeline's schema=), never added later.
    """
    try:
        found = get_table(name=expected.name)
    except FeatureTableNotFound as exc:
        raise FeatureStoreError(str(exc)) from None  # it exists (callers check) but is not a feature table
    if (set(found.primary_keys), found.timeseries_column) != (set(expected.primary_keys), expected.timeseries_column):
        raise FeatureStoreError(
            f"{expected.name} declares primary key {list(found.primary_keys)} (timeseries {found.timeseries_column}), "
            f"expected {list(expected.primary_keys)} (timeseries {expected.timeseries_column}): fix its definition"
        )
    return found


def ards_table(settings: Settings) -> FeatureTable:
    """The offline feature table written by the offline pipeline."""
    return FeatureTable(
        name=settings.table("ards"),
        primary_keys=(ENTITY_KEY, TIMESERIES_KEY),
        timeseries_column=TIMESERIES_KEY,
        description=(f"Analytics Ready Data Set: one row per active customer and {TIMESERIES_KEY}, "
                     f"features as of the end of {TIMESERIES_KEY}."),
        features={**{f.name: f.description for f in FEATURES}, **{c.name: c.description for c in COMPLETENESS}},
    )


def mrds_table(settings: Settings) -> FeatureTable:
    """The online feature table written by the online pipeline."""
    return FeatureTable(
        name=settings.table("mrds"),
        primary_keys=(ENTITY_KEY,),
        description=mrds.DESCRIPTION,
        features={**{k: v for k, v in mrds.COLUMNS.items() if k != ENTITY_KEY}, **{f.name: f.description for f in FEATURES},
                  **{c.name: c.description for c in COMPLETENESS}},
    )


def project_tables(settings: Settings) -> tuple[FeatureTable, ...]:
    return ards_table(settings), mrds_table(settings)
