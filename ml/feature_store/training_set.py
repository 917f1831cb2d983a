"""Joining resolved lookups into a frame, and the TrainingSet that create_training_set returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ml.feature_store.lookups import ResolvedLookup
from ml.feature_store.pit import point_in_time_join

ReadTable = Callable[[str, "int | None"], DataFrame]


def join_features(frame: DataFrame, lookups: Sequence[ResolvedLookup], read: ReadTable) -> DataFrame:
    """`frame` with every lookup's features: as of the timestamp key for time series tables, else by key.

    A feature whose output column the frame already has is not looked up: the frame's values win (as on
    Databricks, where score_batch uses features given in the frame).
    """
    for lookup in lookups:
        wanted = {c: out for c, out in lookup.features.items() if out not in frame.columns}
        if not wanted:
            continue
        table = read(lookup.table, lookup.version)
        if lookup.point_in_time:
            as_of, timeseries_column = lookup.point_in_time
            frame = point_in_time_join(
                frame, table, keys=lookup.lookup_key, as_of=as_of, table_keys=lookup.table_keys,
                timeseries_column=timeseries_column, features=wanted, lookback=lookup.lookback,
            )
        else:
            values = table.select(*[F.col(t).alias(k) for t, k in zip(lookup.table_keys, lookup.lookup_key)],
                                  *[F.col(c).alias(out) for c, out in wanted.items()])
            frame = frame.join(values, list(lookup.lookup_key), "left").select(*frame.columns, *wanted.values())
        defaults = {out: v for out, v in lookup.defaults.items() if out in wanted.values()}
        if defaults:
            frame = frame.fillna(defaults)
    return frame


class TrainingSet:
    """The spine joined with its features (lazy), and the lookup spec a logged model keeps."""

    def __init__(self, df: DataFrame, lookups: Sequence[ResolvedLookup], labels: Sequence[str],
                 exclude_columns: Sequence[str] = ()) -> None:
        self._df = df.drop(*exclude_columns) if exclude_columns else df
        self.lookups = tuple(lookups)
        self.labels = tuple(labels)

    def load_df(self) -> DataFrame:
        return self._df

    @property
    def feature_columns(self) -> list[str]:
        """Output columns the lookups added, in lookup order."""
        return [out for lookup in self.lookups for out in lookup.features.values() if out in self._df.columns]

    @property
    def feature_spec(self) -> dict[str, Any]:
        return {"lookups": [lookup.to_dict() for lookup in self.lookups], "labels": list(self.labels)}
