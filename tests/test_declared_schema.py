"""Declared schemas (`@dlt.table(schema=...)`) and reads of tables outside the pipeline, as Databricks enforces them.

The local runtime refuses what Databricks refuses: an output that differs from the declared columns or types,
NULLs in a NOT NULL column, a primary key over nullable columns, `dlt.read` of a name outside the pipeline's
graph. What a dataset declares (keys, comments) is stored with its table, where the feature store reads it.
"""

from __future__ import annotations

import re

import pytest
from deltalake import DeltaTable

from lakehouse.local.dlt_runtime import PipelineDefinitionError
from lakehouse.local.feature_store import LocalFeatureStore
from ml.feature_store import FeatureStoreError, FeatureTable, FeatureTableNotFound
from ml.features.definitions import COMPLETENESS, FEATURES
from tests.test_dlt_runtime import pipeline_of, raw, run, write_files

TABLE = """
    import dlt
    from pyspark.sql import functions as F
    RAW = spark.conf.get("test.raw")

    @dlt.table(name="t", comment="a table", schema=spark.conf.get("test.schema"))
    @dlt.expect_or_drop("known_tag", "tag <> 'drop me'")
    def t():
        return spark.read.table(RAW).select(F.col("id").cast("string").alias("customer_id"), "day", "amount", "tag")
"""
DECLARED = ("customer_id STRING NOT NULL COMMENT 'the customer, \\'quoted\\'', day DATE NOT NULL COMMENT 'the day', "
            "amount INT COMMENT 'amount spent', tag STRING NOT NULL, CONSTRAINT t_pk PRIMARY KEY (customer_id, day TIMESERIES)")


def _pipeline(settings, tmp_path, schema: str, body: str = TABLE):
    return pipeline_of(settings, write_files(tmp_path / "src", {"t.py": body}), **{"test.schema": schema})


# -- the declared schema against the output ---------------------------------------------------------------
MISMATCHES = {
    "missing column": ("customer_id STRING, day DATE, amount INT, tag STRING, region STRING",
                       r"declared but not produced: \['region'\]"),
    "wrong type": ("customer_id STRING, day DATE, amount BIGINT, tag STRING", r"amount is int, declared bigint"),
    "extra column": ("customer_id STRING, day DATE, amount INT", r"produced but not declared: \['tag'\]"),
}


@pytest.mark.parametrize("case", sorted(MISMATCHES))
def test_an_output_that_differs_from_the_declared_schema_fails_the_update(spark, settings, store, tmp_path, case):
    schema, message = MISMATCHES[case]
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01")]), "raw")
    result = run(spark, settings, _pipeline(settings, tmp_path, schema))
    assert not result.ok and result.datasets["t"].status == "FAILED"
    assert "does not match the schema declared" in result.error and "casts nothing" in result.error
    assert re.search(message, result.error), result.error
    assert not store.exists("t")  # nothing written


def test_a_null_in_a_not_null_column_fails_the_update_and_leaves_the_table(spark, settings, store, tmp_path):
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, 6, "drop me", "2026-01-01")]), "raw")
    pipeline = _pipeline(settings, tmp_path, DECLARED)
    assert run(spark, settings, pipeline).ok
    store.append(raw(spark, [(3, None, None, "2026-01-02"), (4, None, None, "2026-01-02")]), "raw")
    failed = run(spark, settings, pipeline)
    assert not failed.ok and failed.datasets["t"].status == "FAILED"
    assert "violated the NOT NULL constraint of its declared schema on 'tag' (2 records)" in failed.error
    assert [r.customer_id for r in store.read("t").collect()] == ["1"]  # left unchanged

    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (5, None, "drop me", None)]), "raw")
    dropped = run(spark, settings, pipeline)  # NOT NULL holds for the rows written: dropped rows do not count
    assert dropped.ok and dropped.datasets["t"].rows_dropped == 1


REFUSED = {
    "nullable key": ("customer_id STRING, day DATE, amount INT, tag STRING, PRIMARY KEY (customer_id)",
                     PipelineDefinitionError, r"PRIMARY KEY column\(s\) \['customer_id'\] are nullable; declare them NOT NULL"),
    "two keys": ("customer_id STRING NOT NULL PRIMARY KEY, day DATE NOT NULL, CONSTRAINT k PRIMARY KEY (day)",
                 PipelineDefinitionError, r"declares 2 primary keys; a table can have at most one"),
    "unknown key column": ("customer_id STRING NOT NULL, CONSTRAINT k PRIMARY KEY (customer)",
                           PipelineDefinitionError, r"names unknown or repeated columns \['customer'\]"),
    "generated column": ("customer_id STRING, day DATE GENERATED ALWAYS AS (current_date())", NotImplementedError,
                         r"column 'day': 'GENERATED ALWAYS AS \( current_date \( \) \)' is not understood by the local runtime"),
    "foreign key": ("customer_id STRING, CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES c.s.t", NotImplementedError,
                    r"only PRIMARY KEY"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_declaration_databricks_refuses_or_the_runtime_cannot_read_fails_at_graph_build(spark, settings, store,
                                                                                       tmp_path, case):
    schema, error, message = REFUSED[case]
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01")]), "raw")
    with pytest.raises(error, match=message):
        run(spark, settings, _pipeline(settings, tmp_path, schema))
    assert not store.exists("t")


# -- what the table declares, where the feature store finds it --------------------------------------------------
def test_the_declared_key_and_comments_are_stored_with_the_table_for_the_feature_store(spark, settings, store, tmp_path):
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (1, 7, "b", "2026-01-02")]), "raw")
    pipeline = _pipeline(settings, tmp_path, DECLARED)
    assert run(spark, settings, pipeline).ok

    table = LocalFeatureStore(spark, settings).get_table(name="t")
    assert (table.primary_keys, table.timeseries_column, table.description) == (("customer_id", "day"), "day", "a table")
    assert table.features == {"amount": "amount spent", "tag": ""}
    comments = {f.name: f.metadata.get("comment") for f in spark.table(store.name("t")).schema.fields}
    assert comments == {"customer_id": "the customer, 'quoted'", "day": "the day", "amount": "amount spent", "tag": None}

    version = store.version("t")
    assert run(spark, settings, pipeline).ok
    assert store.version("t") == version + 1  # the declaration is committed only when it changes


def test_a_table_without_a_declared_key_is_not_a_feature_table(spark, settings, store, tmp_path):
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01")]), "raw")
    assert run(spark, settings, _pipeline(settings, tmp_path, "customer_id STRING, day DATE, amount INT, tag STRING")).ok
    fs = LocalFeatureStore(spark, settings)
    with pytest.raises(FeatureTableNotFound, match=r"\.t is not a feature table: it declares no primary key"):
        fs.get_table(name="t")
    expected = FeatureTable(store.name("t"), ("customer_id",))
    with pytest.raises(FeatureStoreError, match="declares no primary key"):  # registering declares nothing
        fs.register_table(expected)
    assert "lakehouse.schema" in DeltaTable(str(store.path("t"))).metadata().configuration


def test_the_feature_tables_schemas_come_from_the_feature_definitions():
    from lakehouse.core.declared_schema import parse
    from ml.feature_store.schemas import ARDS_SCHEMA, MRDS_SCHEMA

    ards, mrds = parse(ARDS_SCHEMA, "ards"), parse(MRDS_SCHEMA, "mrds")
    assert (ards.primary_key.columns, ards.primary_key.timeseries) == (("customer_id", "feature_date"), "feature_date")
    assert (mrds.primary_key.columns, mrds.primary_key.timeseries) == (("customer_id",), None)
    completeness = tuple(c.name for c in COMPLETENESS)
    assert ards.names == ("customer_id", "feature_date", *[f.name for f in FEATURES], *completeness)
    assert mrds.names == ("customer_id", "as_of_date", "feature_date", *[f.name for f in FEATURES], *completeness)
    by_name = {c.name: c for c in ards.columns}
    assert all((by_name[f.name].dtype, by_name[f.name].comment) == (f.dtype, f.description) for f in FEATURES)
    assert all((by_name[c.name].dtype, by_name[c.name].comment) == ("boolean", c.description) for c in COMPLETENESS)
    # every ARDS row has its completeness; an MRDS row without an ARDS row has none
    assert ards.not_null == ("customer_id", "feature_date", *completeness) and mrds.not_null == ("customer_id",)
    assert parse(ards.ddl(), "ards") == ards  # what is stored with the table reads back the same


# -- tables outside the pipeline ---------------------------------------------------------------------------------
OUTSIDE = {
    "dlt.read": ("return dlt.read(RAW)", r"dlt.read\('[a-z_.0-9]+\.raw'\) names no dataset of this pipeline .*"
                                         r"with spark.read.table\('catalog.schema.table'\)"),
    "dlt.read_stream": ("return dlt.read_stream(RAW)", r"dlt.read_stream\('[a-z_.0-9]+\.raw'\) names no dataset .*"
                                                       r"with spark.readStream.table"),
    "missing table": ("return spark.read.table(RAW + '_missing')", r"reads table [a-z_.0-9]+\.raw_missing, which does "
                                                                   "not exist"),
}


@pytest.mark.parametrize("case", sorted(OUTSIDE))
def test_a_table_outside_the_graph_is_read_with_spark_read_table_only(spark, settings, store, tmp_path, case):
    statement, message = OUTSIDE[case]
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01")]), "raw")
    body = f"import dlt\nRAW = spark.conf.get('test.raw')\n@dlt.table\ndef t():\n    {statement}\n"
    with pytest.raises(PipelineDefinitionError, match=message):
        run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", {"t.py": body})))
    body = "import dlt\nRAW = spark.conf.get('test.raw')\n@dlt.table\ndef t():\n    return spark.read.table(RAW)\n"
    assert run(spark, settings, pipeline_of(settings, write_files(tmp_path / "ok", {"t.py": body}))).ok
    assert store.read("t").count() == 1


SAME_PIPELINE = """
    import dlt
    from pyspark.sql import functions as F

    @dlt.table
    def totals():  # declared first, reads datasets declared below: only the edges order it after them
        tens = spark.read.table("src").select((F.col("n") * 10).alias("ten"))
        return tens.crossJoin(spark.table(spark.conf.get("test.src")))

    @dlt.table
    def copied():
        return spark.readStream.table("log")

    @dlt.table
    def src():
        return spark.range(3).agg(F.count("*").alias("n"))

    @dlt.table
    def log():
        return dlt.read_stream("raw_log")

    @dlt.table
    def raw_log():
        return spark.readStream.table(spark.conf.get("test.raw"))
"""


def test_spark_read_table_of_a_dataset_of_the_pipeline_is_a_dependency_edge(spark, settings, store, tmp_path):
    """As on Databricks, spark.read.table / spark.table / spark.readStream.table of a dataset of the same pipeline
    (short or fully qualified name) reads it like dlt.read / dlt.read_stream: after its update; a stream delivers
    only the new rows. A reader with options before .table() is refused rather than read unordered."""
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, 6, "b", "2026-01-01")]), "raw")
    src = f"{settings.catalog}.{settings.schema_name}.src"
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"t.py": SAME_PIPELINE}), **{"test.src": src})
    first = run(spark, settings, pipeline)
    assert first.ok, first.error
    assert [tuple(r) for r in store.read("totals").collect()] == [(30, 3)]
    assert {d: first.datasets[d].kind for d in ("copied", "log", "totals")} == {
        "copied": "streaming_table", "log": "streaming_table", "totals": "materialized_view"}
    assert store.read("copied").count() == 2
    store.append(raw(spark, [(3, 7, "c", "2026-01-02")]), "raw")
    second = run(spark, settings, pipeline)
    assert second.datasets["copied"].rows_written == 1 and store.read("copied").count() == 3
    with_options = SAME_PIPELINE.replace('spark.read.table("src")', 'spark.read.format("delta").table("src")')
    with pytest.raises(PipelineDefinitionError, match=r"reads '[a-z_.0-9]*src', a dataset of its own pipeline, through "
                                                       r"a reader the local runtime cannot order"):
        run(spark, settings, pipeline_of(settings, write_files(tmp_path / "opts", {"t.py": with_options}),
                                         name="q", **{"test.src": src}))
