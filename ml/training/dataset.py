"""The training set of one run date: labeled spine -> point-in-time features -> time split, in pandas.

Features come from the feature store's point-in-time join of the ARDS (each spine row gets its
customer's latest ARDS row with feature_date <= as_of_date), so training sees exactly what the
MRDS would have served on that date. Lineage records the Delta versions of every table read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.settings import Settings
from lakehouse.storage import TableStore
from lakehouse.job_settings import TrainingSettings
from ml.errors import NotEnoughHistory
from ml.features.definitions import ENTITY_KEY, FEATURE_NAMES, TIMESERIES_KEY
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


def training_frame(spark: Any, settings: Settings, spine: DataFrame) -> DataFrame:
    """`spine` (customer_id, as_of_date, label) with every ARDS feature as of its as_of_date."""
    from ml.feature_store import FeatureLookup, feature_store, register_project_tables

    store = feature_store(spark, settings)
    register_project_tables(store, settings)
    lookup = FeatureLookup(table_name=settings.table("ards"), lookup_key=ENTITY_KEY, timestamp_lookup_key=AS_OF,
                           feature_names=list(FEATURE_NAMES))
    return store.create_training_set(df=spine, feature_lookups=[lookup], label=LABEL).load_df()


def load_training_data(spark: Any, settings: Settings, run_date: date, cfg: TrainingSettings) -> TrainingData:
    """Everything the model is fitted and evaluated on for `run_date`; raises NotEnoughHistory."""
    tables = TableStore(spark, settings)
    missing = [t for t in SOURCES if not tables.exists(t)]
    if missing:
        raise NotEnoughHistory(f"training needs table(s) {[tables.name(t) for t in missing]}: run offline_features first")
    versions = {t: tables.version(t) for t in SOURCES}
    first = tables.read("ards").agg(F.min(TIMESERIES_KEY)).first()[0]
    if first is None:
        raise NotEnoughHistory(f"{tables.name('ards')} is empty")
    split = time_split(as_of_dates(first, run_date, cfg), cfg)
    spine = labeled_spine(tables.read("silver_customers"), tables.read("silver_churn"),
                          [*split.train, *split.validation, *split.test], cfg.horizon_days, run_date)
    found = F.greatest(*[F.col(c).isNotNull() for c in FEATURE_NAMES])  # a customer without any ARDS row is not scorable
    frame = training_frame(spark, settings, spine).where(found).toPandas()
    frame = frame.sort_values([AS_OF, ENTITY_KEY], kind="stable", ignore_index=True)  # Spark's order is not stable
    frame["part"] = frame[AS_OF].map(split.part_of)
    for name in PARTS:
        if not (frame["part"] == name).any():
            raise NotEnoughHistory(f"the {name} split has no labeled rows for run date {run_date}")
    lineage = {"run_date": str(run_date), "horizon_days": cfg.horizon_days, **split.windows(),
               **{f"{t}_version": v for t, v in versions.items()}, **{f"{t}_table": tables.name(t) for t in SOURCES}}
    return TrainingData(frame, split, lineage)
