"""Bronze: every landing file of every source ingested exactly once with Auto Loader, raw columns typed by the
source contract, plus `_rescued_data` (values that did not fit), `_source_file`, `_ingested_at` and `_drop_date`
(the landing folder's date, the partition: a day's drop is read without scanning history).

Auto Loader with an explicit schema, rescued data and the file from `_metadata`, as Databricks documents it
(https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/options,
https://docs.databricks.com/aws/en/ingestion/file-metadata-column); the local runtime runs the same code on its
exactly-once file ingestion.
"""

import dlt
from pyspark.sql import functions as F

from lakehouse.core.source_contract import DROP_DATE, SOURCES, TIMESTAMP_FORMAT, contract_ddl, drop_date_column

LANDING = spark.conf.get("lakehouse.landing_path").rstrip("/")  # noqa: F821 - `spark` is provided by the pipeline


def bronze_table(source: str) -> None:
    spec = SOURCES[source]

    @dlt.table(
        name=f"bronze_{source}",
        comment=f"Raw {source} records as delivered, one row per landing line, each file once.",
        table_properties={"quality": "bronze"},
        partition_cols=[DROP_DATE],
    )
    def bronze():
        return (
            spark.readStream.format("cloudFiles")  # noqa: F821
            .option("cloudFiles.format", "json" if spec.format == "jsonl" else "csv")
            .option("rescuedDataColumn", "_rescued_data")
            .option("header", "true")
            .option("timestampFormat", TIMESTAMP_FORMAT)
            .schema(contract_ddl(source))
            .load(f"{LANDING}/{source}/")
            .select(
                "*",
                F.col("_metadata.file_path").alias("_source_file"),
                F.current_timestamp().alias("_ingested_at"),
                drop_date_column("_metadata.file_path").alias(DROP_DATE),
            )
        )


for _source in SOURCES:
    bronze_table(_source)
