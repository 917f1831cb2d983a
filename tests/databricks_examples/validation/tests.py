# Copied from Databricks' "Expectation recommendations and advanced patterns",
# https://docs.databricks.com/aws/en/ldp/expectation-patterns ("Primary key uniqueness"), unchanged except for the
# import line the page's snippets leave out. Run by tests/test_databricks_examples.py over the tables of report.py.
# The page's "Missing record detection" snippet is left out: it selects "r.key as r_key" as a column name, which
# PySpark's select() (and Sail's) resolves as a name, not an expression (README, Local Lakeflow).
from pyspark import pipelines as dp

@dp.materialized_view(
  name="report_pk_tests",
  comment="Validates primary key uniqueness"
)
@dp.expect_or_fail("unique_pk", "num_entries = 1")
def validate_pk_uniqueness():
  return (
    spark.read.table("report")
      .groupBy("pk")
      .count()
      .withColumnRenamed("count", "num_entries")
  )
