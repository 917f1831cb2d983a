"""Feature table metadata, and the project's two feature tables described from the feature definitions.

A feature table is a Delta table with primary keys (the entity keys plus, for a time series table, the
timeseries column) and descriptions of the table and of each feature; every non-key column is a feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from lakehouse.settings import Settings
from ml.features.definitions import ENTITY_KEY, FEATURES, TIMESERIES_KEY
from ml.feature_store import mrds
from ml.feature_store.errors import FeatureStoreError


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


def ards_table(settings: Settings) -> FeatureTable:
    """The offline feature table written by the offline pipeline."""
    return FeatureTable(
        name=settings.table("ards"),
        primary_keys=(ENTITY_KEY, TIMESERIES_KEY),
        timeseries_column=TIMESERIES_KEY,
        description=(f"Analytics Ready Data Set: one row per active customer and {TIMESERIES_KEY}, "
                     f"features as of the end of {TIMESERIES_KEY}."),
        features={f.name: f.description for f in FEATURES},
    )


def mrds_table(settings: Settings) -> FeatureTable:
    """The online feature table written by the online pipeline."""
    return FeatureTable(
        name=settings.table("mrds"),
        primary_keys=(ENTITY_KEY,),
        description=mrds.DESCRIPTION,
        features={**{k: v for k, v in mrds.COLUMNS.items() if k != ENTITY_KEY}, **{f.name: f.description for f in FEATURES}},
    )


def project_tables(settings: Settings) -> tuple[FeatureTable, ...]:
    return ards_table(settings), mrds_table(settings)
