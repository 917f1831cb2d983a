"""MRDS: the latest model-ready feature row per active customer as of the latest feature date (see ml/feature_store/mrds.py).

A materialized view, recomputed each update. It reads the offline pipeline's tables by their full
names from the configuration. The as-of date comes from the data, the same on both sides: the
latest ARDS feature_date, i.e. the latest day whose drop the offline pipeline has ingested (no run
date is passed in; the daily job's scoring checks it equals its run date). Rows that cannot be scored
(no key, no features, stale, a required feature missing) are dropped and counted; implausible values
are counted only.
"""

import dlt

from ml.feature_store.mrds import DESCRIPTION, drop_rules, model_ready, warn_rules
from ml.feature_store.schemas import MRDS_SCHEMA


def _conf(key: str, default: str = "") -> str:
    return spark.conf.get(key, default)  # noqa: F821 - `spark` is provided by the pipeline


# delta.enableChangeDataFeed: the online store's TRIGGERED sync reads the MRDS's Change Data Feed (see PUBLISH_MODE in
# ml/feature_store/databricks.py). Pipeline tables take Delta properties through table_properties
# (https://docs.databricks.com/aws/en/dlt-ref/dlt-python-ref-table); CDF is enabled by this property
# (https://docs.databricks.com/aws/en/delta/delta-change-data-feed). The local runtime keeps it in the graph but
# cannot write it: Sail refuses to write a table with CDF (lakehouse/local/dlt_runtime/writers.py).
CHANGE_DATA_FEED = {"delta.enableChangeDataFeed": "true"}


# schema=: columns, types, comments and `PRIMARY KEY (customer_id)`, generated from the feature definitions
# (ml/feature_store/schemas.py); the feature store takes the key from this declaration, never from an ALTER.
@dlt.table(name="mrds", comment=DESCRIPTION, table_properties={"quality": "gold", **CHANGE_DATA_FEED},
           schema=MRDS_SCHEMA)
@dlt.expect_all_or_drop(drop_rules(int(_conf("lakehouse.mrds_max_staleness_days", "0"))))
@dlt.expect_all(warn_rules())
def mrds():
    # The offline pipeline's tables are outside this pipeline's graph: a batch read by full name, as Databricks
    # loads existing tables (https://docs.databricks.com/aws/en/dlt-ref/definition-function); dlt.read is for this graph only.
    return model_ready(
        spark.read.table(_conf("lakehouse.ards_table")),  # noqa: F821 - `spark` is provided by the pipeline
        spark.read.table(_conf("lakehouse.customer_updates_table")),  # noqa: F821
        spark.read.table(_conf("lakehouse.churn_table")),  # noqa: F821
        None,  # as of the latest ARDS feature_date
    )
