"""Checks a frame must pass before it is written to a feature table (on both stores): nothing is written otherwise."""

from __future__ import annotations

from typing import Any

from pyspark.sql import functions as F

from ml.feature_store.errors import DuplicateKeyError, FeatureStoreError, LookupKeyError
from ml.feature_store.tables import FeatureTable

SAMPLE = 5


def check_write(table: FeatureTable, df: Any, key_types: dict[str, str] | None = None) -> None:
    """Refuse missing or retyped key columns (`key_types`: the existing table's), null keys and duplicate keys."""
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    missing = [k for k in table.primary_keys if k not in types]
    if missing:
        raise LookupKeyError(f"write to {table.name} refused: the frame lacks primary key column(s) {missing}")
    retyped = [f"{k} is {types[k]} not {key_types[k]}" for k in table.primary_keys if key_types and types[k] != key_types[k]]
    if retyped:
        raise LookupKeyError(f"write to {table.name} refused: {', '.join(retyped)}")
    keys = list(table.primary_keys)
    bad = (
        df.groupBy(*keys).count()
        .where(F.col("count") > 1)
        .unionByName(df.where(" OR ".join(f"`{k}` IS NULL" for k in keys)).select(*keys, F.lit(1).alias("count")))
        .limit(SAMPLE).collect()
    )
    nulls = [r.asDict() for r in bad if any(r[k] is None for k in keys)]
    if nulls:
        raise FeatureStoreError(f"write to {table.name} refused: null primary key in rows such as {nulls}")
    if bad:
        sample = [{**{k: str(r[k]) for k in keys}, "rows": r["count"]} for r in bad]
        raise DuplicateKeyError(f"write to {table.name} refused: primary key {keys} is not unique, e.g. {sample}")
