"""`from pyspark import pipelines as dp`, Databricks' current pipeline API, on the same implementation as `dlt`.

Databricks documents `pyspark.pipelines` as the Python API of Lakeflow Spark Declarative Pipelines and keeps
`import dlt` working with the same semantics under older names
(https://docs.databricks.com/aws/en/ldp/developer/python-ref, https://docs.databricks.com/aws/en/ldp/concepts/where-is-dlt).
So every name here is the `dlt` function it renames (api.py): `create_auto_cdc_flow` is `apply_changes`,
`create_auto_cdc_from_snapshot_flow` is `apply_changes_from_snapshot`,
`temporary_view` is `view`, and `@dp.table` decides between streaming table and materialized view from its query
like `@dlt.table`. `@dp.materialized_view` declares a materialized view: its query must be a batch query, as
Databricks requires ("materialized views ... are defined as batch queries",
https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-materialized-view), so a streaming read in it is
refused at graph build.

`installed()` swaps this module in for `pyspark.pipelines` only while the runner loads a pipeline's files; before
and after, `import pyspark.pipelines` is OSS Spark's own module, untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from lakehouse.local.dlt_runtime import api
from lakehouse.local.dlt_runtime.graph import Kind

MODULE = "pyspark.pipelines"


def materialized_view(
    query_function: Callable[[], Any] | None = None,
    *,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    table_properties: dict[str, str] | None = None,
    path: str | None = None,
    partition_cols: list[str] | None = None,
    cluster_by_auto: bool = False,
    cluster_by: list[str] | None = None,
    schema: Any = None,
    row_filter: str | None = None,
    private: bool | None = None,
) -> Any:
    """Declare a materialized view (a batch query, recomputed as a whole); the keywords mean what they do in
    `@dlt.table`, and `path`, `cluster_by*`, `row_filter` are accepted and ignored locally likewise."""
    return api.declare_table(query_function, Kind.MATERIALIZED_VIEW, name=name, comment=comment,
                             spark_conf=spark_conf, table_properties=table_properties, partition_cols=partition_cols,
                             schema=schema, temporary=bool(private))


def create_sink(name: str, format: str, options: dict[str, str] | None = None) -> None:  # noqa: A002 - the API's name
    """Not run locally: a sink writes outside the pipeline (Kafka, Event Hubs, an external Delta table)."""
    raise NotImplementedError(f"create_sink {name!r} ({format}) is not supported by the local runtime")


ATTRIBUTES: dict[str, Any] = {
    "table": api.table,
    "materialized_view": materialized_view,
    "temporary_view": api.view,
    "view": api.view,  # the name Databricks' CDC examples use (https://docs.databricks.com/aws/en/ldp/cdc)
    "create_streaming_table": api.create_streaming_table,
    "append_flow": api.append_flow,
    "create_auto_cdc_flow": api.apply_changes,
    "create_auto_cdc_from_snapshot_flow": api.apply_changes_from_snapshot,
    "create_sink": create_sink,
    **{name: getattr(api, name) for name in (
        "expect", "expect_or_drop", "expect_or_fail", "expect_all", "expect_all_or_drop", "expect_all_or_fail")},
}


@contextmanager
def installed() -> Iterator[ModuleType]:
    """This API as `pyspark.pipelines` for the duration of the block; the real module is restored after."""
    import pyspark  # noqa: F401 - the parent package, whose `pipelines` attribute is swapped too

    doc = "Databricks' pyspark.pipelines API on the local runtime (lakehouse.local.dlt_runtime)"
    with api.swapped(api.module_of(MODULE, doc, ATTRIBUTES)) as module:
        yield module
