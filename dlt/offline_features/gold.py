"""Gold: the per-customer daily aggregate and the ARDS (offline feature table).

Both are materialized views over silver. Their definition covers every date; the pipeline
configuration `lakehouse.feature_start_date` / `lakehouse.feature_end_date` narrows an update to
the dates that can have changed (the run date and the late-data window), and the local runtime's
`replace_partitions` write policy replaces just those partitions. Databricks ignores that table
property and refreshes the view itself; the content is the same either way, because a feature
row depends only on data up to the end of its feature_date.
"""

from datetime import date

import dlt

from ml.feature_store.schemas import ARDS_SCHEMA
from ml.features.definitions import ENTITY_KEY, FEATURES, TIMESERIES_KEY
from ml.features.transforms import ards, customer_daily

INCREMENTAL = {"lakehouse.write": "replace_partitions"}


def _conf_date(key: str):
    value = spark.conf.get(key, "")  # noqa: F821 - `spark` is provided by the pipeline
    return date.fromisoformat(value) if value else None


@dlt.table(
    name="customer_daily",
    comment="Per customer and activity date: transactions, spend and support contacts.",
    partition_cols=["activity_date"],
    table_properties={"quality": "gold", **INCREMENTAL},
)
@dlt.expect_all_or_fail({"daily_key_present": "customer_id IS NOT NULL AND activity_date IS NOT NULL"})
def customer_daily_table():
    return customer_daily(
        dlt.read("silver_transactions"),
        dlt.read("silver_support"),
        _conf_date("lakehouse.feature_start_date"),
        _conf_date("lakehouse.feature_end_date"),
    )


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
    start = _conf_date("lakehouse.feature_start_date")
    end = _conf_date("lakehouse.feature_end_date")
    features = ards(dlt.read("customer_daily"), dlt.read("silver_customer_updates"), dlt.read("silver_churn"), start, end)
    return features.select(ENTITY_KEY, TIMESERIES_KEY, *[f.name for f in FEATURES])
