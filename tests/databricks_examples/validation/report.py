# Not from the docs: the `report` the docs' validation test (tests.py) checks, built from a private staging table
# (https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-table, `private`: used by the pipeline, not
# published with its tables).
from pyspark import pipelines as dp


@dp.table(private=True)
def orders_staged():
  return spark.read.table(spark.conf.get("examples.orders"))


@dp.materialized_view
def report():
  return spark.read.table("orders_staged").select("key", "pk", "amount")
