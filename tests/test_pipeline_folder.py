"""`lakehouse pipeline run --source FOLDER --conf k=v`: a pipeline folder that is not the bundle's, written the way
Databricks documents pipelines (`pyspark.pipelines`, Auto Loader, `spark.read(Stream).table`, expectations, auto
CDC with deletes), run as a user runs it, twice: the second update is incremental and ingests nothing twice."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import cli
from tests.test_dlt_runtime import write_files

PIPELINE = """
    from pyspark import pipelines as dp
    from pyspark.sql import functions as F

    LANDING = spark.conf.get("landing")

    @dp.table(comment="Raw customer changes, each file once.")
    @dp.expect_or_drop("valid id", "id IS NOT NULL")
    def customer_changes():
        return (spark.readStream.format("cloudFiles")
                .option("cloudFiles.format", "json")
                .option("rescuedDataColumn", "_rescued_data")
                .schema("id INT, name STRING, op STRING, seq INT, score INT")
                .load(LANDING)
                .select("*", F.col("_metadata.file_name").alias("file")))

    dp.create_streaming_table("customers")
    dp.create_auto_cdc_flow(
        target="customers",
        source="customer_changes",
        keys=["id"],
        sequence_by=F.col("seq"),
        apply_as_deletes=F.expr("op = 'DELETE'"),
        except_column_list=["op", "_rescued_data", "file"],
    )

    @dp.materialized_view
    @dp.expect("not empty", "n > 0")
    def customer_count():
        return spark.read.table("customers").agg(F.count("*").alias("n"))
"""


def test_a_databricks_style_folder_runs_twice_incrementally_with_its_event_log(spark, settings, tmp_path: Path):
    landing = tmp_path / "drops"
    (landing / "day1").mkdir(parents=True)
    (landing / "day1" / "a.json").write_text(
        '{"id": 1, "name": "a", "op": "UPSERT", "seq": 1}\n{"id": 2, "name": "b", "op": "UPSERT", "seq": 1}\n'
        '{"id": null, "name": "x", "op": "UPSERT", "seq": 1}\n{"id": 3, "name": "c", "op": "UPSERT", "seq": 1, "score": "high"}\n')
    # (a NULL seq would fail the update, as on Databricks: tests/test_auto_cdc.py)
    folder = write_files(tmp_path / "transformations", {"ingest.py": PIPELINE})
    env = {"LAKEHOUSE_STORAGE_ROOT": str(settings.storage_root), "LAKEHOUSE_SCHEMA_NAME": settings.schema_name,
           "LAKEHOUSE_LANDING_PATH": str(tmp_path / "unused")}
    args = ("pipeline", "run", "--source", str(folder), "--conf", f"landing={landing}")
    first = cli(*args, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "transformations: COMPLETED" in first.stderr

    (landing / "day2").mkdir()
    (landing / "day2" / "b.json").write_text('{"id": 2, "op": "DELETE", "seq": 2}\n{"id": 4, "name": "d", "op": "UPSERT", '
                                             '"seq": 1}\n')
    second = cli(*args, env=env)
    assert second.returncode == 0, second.stderr[-3000:]

    table = f"{settings.catalog}.{settings.schema_name}"
    from lakehouse.core.storage import TableStore

    store = TableStore(spark, settings)
    assert sorted((r.id, r.name) for r in store.read("customers").collect()) == [(1, "a"), (3, "c"), (4, "d")]
    assert store.read("customer_changes").count() == 5  # 4 + 2 rows delivered, 1 dropped, none twice
    assert [r.n for r in store.read("customer_count").collect()] == [3]
    rescued = [r._rescued_data for r in store.read("customer_changes").where("id = 3").collect()]
    assert json.loads(rescued[0])["score"] == "high"
    # The UI's expectation query over the event log: per update, the rules and their counts.
    store.register("event_log_transformations")
    rows = spark.sql(
        f"SELECT origin.update_id AS update_id, timestamp, "
        f"get_json_object(details, '$.flow_progress.data_quality.expectations') AS expectations "
        f"FROM {table}.event_log_transformations WHERE event_type = 'flow_progress' "
        f"AND origin.flow_name = 'customer_changes' AND details LIKE '%data_quality%' ORDER BY timestamp").collect()
    counts = [[(e["name"], e["passed_records"], e["failed_records"]) for e in json.loads(r.expectations)] for r in rows]
    assert counts == [[("valid id", 3, 1)], [("valid id", 2, 0)]]

    bad = cli("pipeline", "run", "--source", str(folder), "--conf", "landing", env=env)
    assert bad.returncode == 2 and "'landing' is not KEY=VALUE" in bad.stderr
