"""Silver: typed, cleaned, deduplicated records with the expectations of quality/expectations.py.

Per source: the rows passing the warn/drop/fail rules, `apply_changes` upserting them by key
(re-delivered duplicates and late updates collapse onto one row; customers become current state,
SCD type 1), and a quarantine table keeping every row that broke a drop rule with the rule names.
Customers' validated changes are a table of their own (`silver_customer_updates`, append-only):
gold reads it for point-in-time profiles and `silver_customers` is upserted from it. `_rescued_data`
stays in the validated rows (a warn rule reads it) and is left out of the upserted tables. What differs between
sources (key, sequence, derived `event_date`, partitions, the kept validated table) is data: `SOURCES` and `SILVER`
in lakehouse/core/source_contract.py.
"""

import dlt
from pyspark.sql import functions as F

from lakehouse.core.rules import quarantine_rows
from lakehouse.core.source_contract import SILVER, SOURCES
from quality.expectations import RULES

LINEAGE = ["_rescued_data"]


def prepared(source: str):
    """The bronze stream of a source with the derived columns silver adds (a streaming read of a dataset of this
    pipeline: https://docs.databricks.com/aws/en/ldp/developer/python-ref)."""
    df = spark.readStream.table(f"bronze_{source}")  # noqa: F821 - `spark` is provided by the pipeline
    if SILVER[source].event_date:
        df = df.withColumn("event_date", F.to_date(SOURCES[source].time_column))
    return df


def checked(source: str, name: str, as_table: bool) -> None:
    """The rows of a source that pass its drop and fail rules (warn rules are counted only)."""
    rules = RULES[source]
    decorate = dlt.table if as_table else dlt.view

    @decorate(name=name, comment=f"Validated {source} rows (expectations applied).")
    @dlt.expect_all(rules.warn)
    @dlt.expect_all_or_drop(rules.drop)
    @dlt.expect_all_or_fail(rules.fail)
    def valid():
        return prepared(source)


def silver_tables(source: str) -> None:
    spec, contract, rules = SILVER[source], SOURCES[source], RULES[source]
    key = contract.key
    valid_name = spec.validated_table or f"{source}_checked"
    checked(source, valid_name, as_table=spec.validated_table is not None)

    @dlt.table(
        name=f"quarantine_{source}",
        comment=f"{source} rows that broke a drop rule; `_failed_rules` names the rules.",
        table_properties={"quality": "quarantine"},
    )
    def quarantine():
        return quarantine_rows(prepared(source), rules.drop)

    dlt.create_streaming_table(
        name=f"silver_{source}",
        comment=f"Deduplicated, validated {source} (latest version per {key}).",
        partition_cols=list(spec.partitions) or None,
        table_properties={"quality": "silver"},
    )
    dlt.apply_changes(
        target=f"silver_{source}",
        source=valid_name,
        keys=[key],
        sequence_by=F.col(contract.time_column),
        except_column_list=LINEAGE,
    )


for _source in SILVER:
    silver_tables(_source)

