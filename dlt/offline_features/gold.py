"""Gold: the per-customer daily aggregate and the ARDS (offline feature table).

Both are materialized views over silver. Their definition covers every date. An update works out
from the data it ingested which dates can have changed (`lakehouse.platform.sources.recompute_window`): the
drop dates of the files ingested since the table was last written, back by the pipeline's
`lakehouse.late_arrival_days`, through the latest drop (never past the last activity date, the end
of the full definition too); no run date is passed in. Locally only those
dates are computed and the runtime's `replace_partitions` write policy replaces just those
partitions. On Databricks the window is every date: the view holds what its query returns and the
pipeline refreshes it as a whole. The content is the same either way, because a feature row depends
only on data up to the end of its feature_date. Reprocessing a past day: deliver its corrected file
(the next update recomputes from that drop date on), or fully refresh the tables (README).
"""

from datetime import date

import dlt
from pyspark.sql import DataFrame

from lakehouse.platform.sources import LATE_DAYS_CONF, DateWindow, recompute_window
from ml.feature_store.schemas import ARDS_SCHEMA
from ml.features.definitions import COMPLETENESS_NAMES, ENTITY_KEY, FEATURES, TIMESERIES_KEY
from ml.features.transforms import ards, customer_daily

INCREMENTAL = {"lakehouse.write": "replace_partitions"}


def _window() -> DateWindow | None:
    """The dates this update recomputes (None: all), from the drops it ingested and the late-arrival window."""
    return recompute_window(spark, int(spark.conf.get(LATE_DAYS_CONF, "2")))  # noqa: F821 - provided by the pipeline


def _bounds(window: DateWindow | None) -> tuple[date | None, date | None]:
    return (window.start, window.end) if window else (None, None)


def _unless_empty(frame: DataFrame, window: DateWindow | None) -> DataFrame:
    """No rows when nothing new arrived: the partitions stay as they are (nothing they depend on changed)."""
    return frame.limit(0) if window and window.empty else frame


@dlt.table(
    name="customer_daily",
    comment="Per customer and activity date: transactions, spend and support contacts.",
    partition_cols=["activity_date"],
    table_properties={"quality": "gold", **INCREMENTAL},
)
@dlt.expect_all_or_fail({"daily_key_present": "customer_id IS NOT NULL AND activity_date IS NOT NULL"})
def customer_daily_table():
    window = _window()
    return _unless_empty(customer_daily(
        spark.read.table("silver_transactions"),  # noqa: F821 - `spark` is provided by the pipeline
        spark.read.table("silver_support"),  # noqa: F821
        *_bounds(window),
    ), window)


# schema=: the columns, types, comments and the key `PRIMARY KEY (customer_id, feature_date TIMESERIES)`, generated
# from the feature definitions (ml/feature_store/schemas.py). Databricks takes a pipeline dataset's keys from its
# definition (https://docs.databricks.com/aws/en/dlt-ref/dlt-python-ref-table, `schema`), where the feature store
# finds them; an ALTER on the materialized view would be reverted by the next update.
@dlt.table(
    name="ards",
    comment=(
        f"Analytics Ready Data Set: offline feature table, primary key {ENTITY_KEY}, "
        f"timeseries key {TIMESERIES_KEY}; features as of the end of {TIMESERIES_KEY}."
    ),
    partition_cols=[TIMESERIES_KEY],
    table_properties={"quality": "gold", **INCREMENTAL},
    schema=ARDS_SCHEMA,
)
@dlt.expect_all_or_fail({"ards_key_present": f"{ENTITY_KEY} IS NOT NULL AND {TIMESERIES_KEY} IS NOT NULL"})
@dlt.expect_all(
    {
        "tenure_not_negative": "tenure_days >= 0",
        "spend_not_negative": "spend_90d >= 0",
        "windows_nested": "txn_count_7d <= txn_count_30d AND txn_count_30d <= txn_count_90d",
    }
)
def ards_table():
    window = _window()
    read = spark.read.table  # noqa: F821 - datasets of this pipeline, read as dlt.read reads them
    features = ards(read("customer_daily"), read("silver_customer_updates"), read("silver_churn"), *_bounds(window))
    return _unless_empty(features.select(ENTITY_KEY, TIMESERIES_KEY, *[f.name for f in FEATURES], *COMPLETENESS_NAMES),
                         window)
