"""The training set of one run date: labeled spine -> point-in-time features -> time split, in pandas.

Features come from the feature store's point-in-time join of the ARDS (each spine row gets its
customer's latest ARDS row with feature_date <= as_of_date), so training sees exactly what the
MRDS would have served on that date. Lineage records the Delta versions of every table read.

Incomplete windows (`training.incomplete_windows`, default "exclude"): the first months of a warehouse have
30- and 90-day features summed over fewer days, values production never shows once the history is long
enough. By default the as-of dates start at the first feature date whose windows are all complete (so the
split's parts keep their sizes), and a looked-up row that is still incomplete is dropped; "include" keeps them.
Lineage records the choice, the first complete date and how many incomplete rows the set holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.core.job_settings import TrainingSettings
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from ml.errors import NotEnoughHistory
from ml.features.definitions import ENTITY_KEY, FEATURE_NAMES, LOOKBACK_DAYS, TIMESERIES_KEY, Completeness
from ml.training.labels import AS_OF, LABEL, as_of_dates, labeled_spine
from ml.training.pipeline import model_input
from ml.training.split import PARTS, TimeSplit, time_split

SOURCES = ("ards", "silver_customers", "silver_churn")


@dataclass(frozen=True)
class TrainingData:
    frame: pd.DataFrame  # keys, as_of_date, label, features, `part`
    split: TimeSplit
    lineage: dict[str, Any]

    def part(self, name: str) -> tuple[pd.DataFrame, pd.Series]:
        """Model input and labels of one split part."""
        rows = self.frame[self.frame["part"] == name]
        return model_input(rows), rows[LABEL]


# The model's longest window, that of completeness_for(FEATURE_NAMES) (no feature looks back further than
# LOOKBACK_DAYS): complete means every window is.
COMPLETE = Completeness(LOOKBACK_DAYS)


def training_frame(spark: Any, settings: Settings, spine: DataFrame, extra: tuple[str, ...] = ()) -> DataFrame:
    """`spine` (customer_id, as_of_date, label) with every ARDS feature (and the `extra` ARDS columns) as of
    its as_of_date."""
    from ml.feature_store import FeatureLookup, feature_store, register_project_tables

    store = feature_store(spark, settings)
    register_project_tables(store, settings)
    lookup = FeatureLookup(table_name=settings.table("ards"), lookup_key=ENTITY_KEY, timestamp_lookup_key=AS_OF,
                           feature_names=[*FEATURE_NAMES, *extra])
    return store.create_training_set(df=spine, feature_lookups=[lookup], label=LABEL).load_df()


def first_as_of(ards: DataFrame, table: str, cfg: TrainingSettings, complete: Completeness) -> date:
    """The first feature date training may use: the ARDS's first, or by default its first with complete windows.

    Raises NotEnoughHistory for an empty ARDS, one without the completeness column, or (excluding) one whose
    history is still shorter than the longest window."""
    if complete.name not in ards.columns:
        raise NotEnoughHistory(f"{table} has no {complete.name} column: run the offline_features pipeline with a "
                               "full refresh so it computes window completeness")
    ((first, first_complete),) = ards.agg(  # a global aggregate: one row, also over an empty table
        F.min(TIMESERIES_KEY), F.min(F.when(F.col(complete.name), F.col(TIMESERIES_KEY)))).collect()
    if first is None:
        raise NotEnoughHistory(f"{table} is empty")
    if cfg.incomplete_windows == "include":
        return first
    if first_complete is None:
        raise NotEnoughHistory(
            f"{table} has no feature date with complete {complete.window_days}-day windows: its first feature date is "
            f"{first}, so they are complete from {first + timedelta(days=complete.window_days - 1)} at the latest "
            "(training.incomplete_windows=include trains on truncated windows)")
    return first_complete


def load_training_data(spark: Any, settings: Settings, run_date: date, cfg: TrainingSettings) -> TrainingData:
    """Everything the model is fitted and evaluated on for `run_date`; raises NotEnoughHistory."""
    tables = TableStore(spark, settings)
    missing = [t for t in SOURCES if not tables.exists(t)]
    if missing:
        raise NotEnoughHistory(f"training needs table(s) {[tables.name(t) for t in missing]}: run offline_features first")
    versions = {t: tables.version(t) for t in SOURCES}
    first = first_as_of(tables.read("ards"), tables.name("ards"), cfg, COMPLETE)
    split = time_split(as_of_dates(first, run_date, cfg), cfg)
    spine = labeled_spine(tables.read("silver_customers"), tables.read("silver_churn"),
                          [*split.train, *split.validation, *split.test], cfg.horizon_days, run_date)
    found = F.greatest(*[F.col(c).isNotNull() for c in FEATURE_NAMES])  # a customer without any ARDS row is not scorable
    if cfg.incomplete_windows == "exclude":  # a stale lookup may still reach an incomplete row
        found = found & F.col(COMPLETE.name)
    frame = training_frame(spark, settings, spine, (COMPLETE.name,)).where(found).toPandas()
    frame = frame.sort_values([AS_OF, ENTITY_KEY], kind="stable", ignore_index=True)  # Spark's order is not stable
    frame["part"] = frame[AS_OF].map(split.part_of)
    for name in PARTS:
        if not (frame["part"] == name).any():
            raise NotEnoughHistory(f"the {name} split has no labeled rows for run date {run_date}")
    lineage = {"run_date": str(run_date), "horizon_days": cfg.horizon_days, **split.windows(),
               "incomplete_windows": cfg.incomplete_windows, "first_as_of": str(first),
               "incomplete_rows": int((~frame[COMPLETE.name].astype(bool)).sum()),
               **{f"{t}_version": v for t, v in versions.items()}, **{f"{t}_table": tables.name(t) for t in SOURCES}}
    return TrainingData(frame, split, lineage)
