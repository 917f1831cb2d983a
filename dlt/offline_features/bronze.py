"""Bronze: every landing file of every source ingested exactly once, raw columns typed by the
source contract, plus `_rescued_data` (values that did not fit), `_source_file`, `_ingested_at` and
`_drop_date` (the landing folder's date, the partition: a day's drop is read without scanning history).

On Databricks `landing_stream` is Auto Loader; locally it is the runtime's file ingestion.
"""

import dlt

from lakehouse.datagen.schema import SOURCES
from lakehouse.sources import DROP_DATE, landing_stream


def bronze_table(source: str) -> None:
    @dlt.table(
        name=f"bronze_{source}",
        comment=f"Raw {source} records as delivered, one row per landing line, each file once.",
        table_properties={"quality": "bronze"},
        partition_cols=[DROP_DATE],
    )
    def bronze():
        return landing_stream(spark, source)  # noqa: F821 - `spark` is provided by the pipeline


for _source in SOURCES:
    bronze_table(_source)
