"""`from pyspark import pipelines as dp` inside a pipeline file: Databricks' API on the local runtime's `dlt`.

Each test runs a pipeline written only against `pyspark.pipelines` as Databricks documents it
(https://docs.databricks.com/aws/en/ldp/developer/python-ref) and checks its tables, or checks that outside a
pipeline run the real OSS `pyspark.pipelines` is what Python imports.
"""

from __future__ import annotations

import json
import sys

import pytest

from lakehouse.local.dlt_runtime import PipelineDefinitionError
from tests.test_dlt_runtime import flow_events, pipeline_of, raw, run, write_files

CHANGES = "id int, name string, region string, seq int, op string"

DP_PIPELINE = """
    from pyspark import pipelines as dp
    from pyspark.sql import functions as F
    RAW = spark.conf.get("test.raw")

    @dp.temporary_view
    def changes():
        return spark.readStream.table(RAW)

    @dp.table(private=True, schema="id INT NOT NULL, name STRING, region STRING, seq INT, op STRING")
    @dp.expect_or_drop("has id", "id IS NOT NULL")
    @dp.expect("known region", "region IN ('eu', 'us')")
    def valid_changes():
        return spark.readStream.table("changes")

    dp.create_streaming_table("customers")
    dp.create_auto_cdc_flow(
        target="customers",
        source="valid_changes",
        keys=["id"],
        sequence_by=F.col("seq"),
        apply_as_deletes=F.expr("op = 'DELETE'"),
        except_column_list=["op"],
    )

    @dp.materialized_view(comment="customers per region")
    def per_region():
        return spark.read.table("customers").groupBy("region").count()

    dp.create_streaming_table("all_ids")

    @dp.append_flow(target="all_ids")
    def ids_from_changes():
        return spark.readStream.table("valid_changes").select("id")
"""


def test_a_pipeline_written_against_pyspark_pipelines_runs_with_the_dlt_semantics(spark, settings, store, tmp_path):
    store.overwrite(raw(spark, [(1, "a", "eu", 1, "UPSERT"), (1, "b", "eu", 2, "UPSERT"), (2, "x", "us", 1, "UPSERT"),
                                (None, "n", "eu", 1, "UPSERT"), (3, "y", "mars", 1, "UPSERT")], CHANGES), "raw")
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"p.py": DP_PIPELINE}))
    first = run(spark, settings, pipeline)
    assert first.ok, first.error
    assert sorted(tuple(r) for r in store.read("customers").select("id", "name").collect()) == [
        (1, "b"), (2, "x"), (3, "y")]
    assert store.read("customers").columns == ["id", "name", "region", "seq"]
    assert sorted(tuple(r) for r in store.read("per_region").collect()) == [("eu", 1), ("mars", 1), ("us", 1)]
    assert first.datasets["valid_changes"].rows_dropped == 1 and store.read("all_ids").count() == 4
    assert not store.exists("changes")  # a temporary view is never stored
    quality = flow_events(spark, store, "p", first.update_id)["valid_changes"]
    assert [(e["name"], e["passed_records"], e["failed_records"]) for e in json.loads(quality["expectations"])] == [
        ("has id", 4, 1), ("known region", 4, 1)] and quality["dropped"] == "1"

    store.append(raw(spark, [(2, None, "us", 5, "DELETE"), (4, "z", "eu", 1, "UPSERT")], CHANGES), "raw")
    second = run(spark, settings, pipeline)
    assert second.flows["customers"].rows_deleted == 1 and second.flows["ids_from_changes"].rows_written == 2
    assert sorted(r.id for r in store.read("customers").collect()) == [1, 3, 4]
    assert sorted(tuple(r) for r in store.read("per_region").collect()) == [("eu", 2), ("mars", 1)]


def test_a_materialized_view_reading_a_stream_is_refused(spark, settings, store, tmp_path):
    """Databricks defines a materialized view by a batch query; @dp.table would make it a streaming table."""
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01")]), "raw")
    body = ("from pyspark import pipelines as dp\n@dp.materialized_view\ndef mv():\n"
            "    return spark.readStream.table(spark.conf.get('test.raw'))\n")
    with pytest.raises(PipelineDefinitionError, match="materialized view 'mv' reads a stream"):
        run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", {"mv.py": body})))
    assert run(spark, settings, pipeline_of(settings, write_files(tmp_path / "ok", {"mv.py": body.replace(
        "materialized_view", "table")}))).datasets["mv"].kind == "streaming_table"


def test_the_real_pyspark_pipelines_is_untouched_outside_a_pipeline_run(spark, settings, store, tmp_path):
    import pyspark
    import pyspark.pipelines as real

    seen = {}
    body = ("from pyspark import pipelines as dp\nimport pyspark.pipelines\nSEEN = spark.conf.get('test.seen')\n"
            "__import__('builtins').__dict__[SEEN] = (dp, pyspark.pipelines)\n"
            "@dp.table\ndef t():\n    return spark.range(2)\n")
    key = f"_seen_{tmp_path.name}"
    try:
        assert run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", {"t.py": body}),
                                                **{"test.seen": key})).ok
        seen = __builtins__[key] if isinstance(__builtins__, dict) else getattr(__builtins__, key)
    finally:
        import builtins
        builtins.__dict__.pop(key, None)
    dp, imported = seen
    assert dp is imported and dp is not real and dp.create_auto_cdc_flow.__module__ == "lakehouse.local.dlt_runtime.api"
    assert sys.modules["pyspark.pipelines"] is real and pyspark.pipelines is real
    assert store.read("t").count() == 2
    with pytest.raises(NotImplementedError, match="create_sink 'x' \\(kafka\\) is not supported"):
        dp.create_sink("x", "kafka")
