"""FeatureLookups checked against the feature tables and the frame they join into, before any work.

Databricks' own `FeatureLookup` objects are the spec; each becomes a `ResolvedLookup`: plain data that
names the table (and the Delta version read, for lineage), the key columns on both sides, the features
with their output names, the lookback and the defaults. It is what a logged model carries to find its
features again at scoring time, and both the local and the Databricks store run the same checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from pyspark.sql.types import StructType

from ml.feature_store.errors import FeatureNotFound, FeatureStoreError, LookupKeyError
from ml.feature_store.tables import FeatureTable

DescribeTable = Callable[[str], tuple[FeatureTable, StructType, "int | None"]]


@dataclass(frozen=True)
class ResolvedLookup:
    table: str
    version: int | None
    lookup_key: tuple[str, ...]
    table_keys: tuple[str, ...]
    timestamp_lookup_key: str | None
    timeseries_column: str | None
    features: dict[str, str]  # table column -> output column
    lookback_seconds: float | None = None
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def point_in_time(self) -> tuple[str, str] | None:
        """The frame's timestamp lookup key and the table's timeseries column of a lookup into a time series table
        (resolve() requires both or neither); None for a lookup by key alone."""
        if self.timestamp_lookup_key and self.timeseries_column:
            return self.timestamp_lookup_key, self.timeseries_column
        return None

    @property
    def lookback(self) -> timedelta | None:
        return None if self.lookback_seconds is None else timedelta(seconds=self.lookback_seconds)

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-safe; features as [column, output] pairs, as YAML writers may sort mapping keys."""
        return {**asdict(self), "lookup_key": list(self.lookup_key), "table_keys": list(self.table_keys),
                "features": [list(pair) for pair in self.features.items()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ResolvedLookup":
        return cls(**{**data, "lookup_key": tuple(data["lookup_key"]), "table_keys": tuple(data["table_keys"]),
                      "features": dict(data["features"])})


def _types(schema: StructType) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in schema.fields}


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def resolve(lookups: Sequence[Any], frame: StructType, describe: DescribeTable) -> list[ResolvedLookup]:
    """Check every lookup against its table and `frame` (the spine's schema); raises a FeatureStoreError."""
    if not isinstance(lookups, (list, tuple)) or not lookups:
        raise FeatureStoreError("feature_lookups must be a non-empty list of FeatureLookup")
    frame_types = _types(frame)
    resolved: list[ResolvedLookup] = []
    outputs: set[str] = set()
    for lookup in lookups:
        if not hasattr(lookup, "lookup_key"):
            raise FeatureStoreError(f"{type(lookup).__name__} is not supported here: only FeatureLookup")
        one = _resolve(lookup, frame_types, describe)
        clashes = sorted(set(one.features.values()) & outputs)
        if clashes:
            raise FeatureStoreError(f"output column(s) {clashes} come from more than one lookup: use rename_outputs")
        outputs |= set(one.features.values())
        resolved.append(one)
    return resolved


def _resolve(lookup: Any, frame_types: dict[str, str], describe: DescribeTable) -> ResolvedLookup:
    table, schema, version = describe(lookup.table_name)
    table_types = _types(schema)
    keys, ts = _as_list(lookup.lookup_key), lookup.timestamp_lookup_key
    if table.timeseries_column and not ts:
        raise LookupKeyError(f"{table.name} is a time series feature table: the lookup needs timestamp_lookup_key")
    if ts and not table.timeseries_column:
        raise LookupKeyError(f"{table.name} has no timeseries column: drop timestamp_lookup_key {ts!r}")
    available = [c for c in table_types if c not in table.primary_keys]
    names = list(lookup.feature_names) or available
    unknown = [n for n in names if n not in available]
    if unknown:
        raise FeatureNotFound(f"{table.name} has no feature(s) {unknown}; it has {available}")
    lookback = lookup.lookback_window
    resolved = ResolvedLookup(
        table=table.name, version=version, lookup_key=tuple(keys), table_keys=table.entity_keys,
        timestamp_lookup_key=ts, timeseries_column=table.timeseries_column,
        features={n: lookup._get_output_name(n) for n in names},  # the library's own rename rule
        lookback_seconds=None if lookback is None else lookback.total_seconds(),
        defaults=dict(lookup.default_values or {}),
    )
    _check_keys(resolved, table_types, frame_types)
    return resolved


def check_keys(lookups: Sequence[ResolvedLookup], frame: StructType, describe: DescribeTable) -> None:
    """Check a frame to score against lookups resolved earlier (the tables as they are now)."""
    for lookup in lookups:
        _check_keys(lookup, _types(describe(lookup.table)[1]), _types(frame))


def _check_keys(lookup: ResolvedLookup, table_types: dict[str, str], frame_types: dict[str, str]) -> None:
    if len(lookup.lookup_key) != len(lookup.table_keys):
        raise LookupKeyError(f"lookup into {lookup.table} gives {len(lookup.lookup_key)} lookup key(s) "
                             f"{list(lookup.lookup_key)}; the table's keys are {list(lookup.table_keys)}")
    for key, table_key in zip(lookup.lookup_key, lookup.table_keys):
        _check_column(key, table_types[table_key], frame_types, f"lookup key for {lookup.table}.{table_key}")
    if lookup.point_in_time:
        as_of, timeseries_column = lookup.point_in_time
        _check_column(as_of, table_types[timeseries_column], frame_types,
                      f"timestamp lookup key for {lookup.table}.{timeseries_column}")


def _check_column(column: str, expected: str, frame_types: dict[str, str], role: str) -> None:
    if column not in frame_types:
        raise LookupKeyError(f"the frame has no column {column!r} ({role}); it has {sorted(frame_types)}")
    if frame_types[column] != expected:
        hint = (" Convert a timestamp instant with ml.feature_store.as_of_date(): the last complete day."
                if (frame_types[column], expected) == ("timestamp", "date") else "")
        raise LookupKeyError(f"column {column!r} ({role}) is {frame_types[column]}, the table's is {expected}.{hint}")
