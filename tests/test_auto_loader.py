"""`spark.readStream.format("cloudFiles")` in a pipeline file: Auto Loader's options on the local file ingestion.

Small landing folders are written into tmp_path; the pipeline is written as Databricks documents Auto Loader
(https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/options).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.local.dlt_runtime.auto_loader import CloudFilesReader, read_cloud_files
from lakehouse.local.dlt_runtime.sources import SourceRequest
from tests.test_dlt_runtime import pipeline_of, run, write_files

PIPELINE = """
    from pyspark import pipelines as dp
    from pyspark.sql import functions as F
    LANDING = spark.conf.get("test.landing")

    @dp.table
    def orders_json():
        return (spark.readStream.format("cloudFiles")
                .option("cloudFiles.format", "json")
                .option("rescuedDataColumn", "_rescued")
                .schema("id INT, amount DOUBLE, ts TIMESTAMP")
                .load(f"{LANDING}/json")
                .select("*", F.col("_metadata.file_name").alias("file"),
                        F.col("_metadata.file_modification_time").alias("mtime")))

    @dp.table
    def orders_csv():
        return (spark.readStream.format("cloudFiles")
                .option("cloudFiles.format", "csv")
                .option("header", True)
                .schema("id INT, amount DOUBLE")
                .load(f"{LANDING}/csv"))

    @dp.table
    def orders_parquet():
        return (spark.readStream.format("cloudFiles")
                .options(**{"cloudFiles.format": "parquet", "rescuedDataColumn": "_rescued_data"})
                .schema("id BIGINT, amount DOUBLE")
                .load(f"{LANDING}/parquet")
                .withColumn("path", F.col("_metadata.file_path")))
"""


# 2026-01-02T03:04:05.678901999Z: `_metadata.file_modification_time` keeps microseconds, truncated
A_JSON_MTIME_NS = 1_767_323_045_678_901_999
A_JSON_MTIME = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def as_utc(value: datetime) -> datetime:
    """A collected TIMESTAMP as an aware UTC datetime (the session's time zone is UTC)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def landing(root: Path) -> Path:
    (root / "json" / "2026-01-01").mkdir(parents=True)
    (root / "json" / "2026-01-01" / "a.json").write_text(
        '{"id": 1, "amount": 2.5, "ts": "2026-01-01T10:00:00Z"}\n'
        '{"id": 2, "amount": "lots", "ts": "2026-01-01T11:00:00Z", "note": "extra"}\n')
    os.utime(root / "json" / "2026-01-01" / "a.json", ns=(A_JSON_MTIME_NS, A_JSON_MTIME_NS))
    (root / "json" / "_checkpoint").mkdir()
    (root / "json" / "_checkpoint" / "ignored.json").write_text('{"id": 99}\n')
    (root / "json" / "2026-01-01" / ".a.json.uploading").write_text('{"id": 98}\n')  # hidden: skipped like `_`
    (root / "csv").mkdir()
    (root / "csv" / "a.csv").write_text("id,amount\n1,3.0\n2,oops\n")
    (root / "parquet").mkdir()
    pq.write_table(pa.table({"id": [1, 2], "amount": [1.0, 2.0], "other": ["x", "y"]}), root / "parquet" / "a.parquet")
    return root


def test_cloud_files_with_a_schema_ingests_each_file_once_with_rescued_data_and_metadata(spark, settings, store, tmp_path):
    root = landing(tmp_path / "landing")
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"p.py": PIPELINE}), **{"test.landing": str(root)})
    first = run(spark, settings, pipeline)
    assert first.ok, first.error
    assert {first.datasets[d].kind for d in ("orders_json", "orders_csv", "orders_parquet")} == {"streaming_table"}

    rows = sorted(store.read("orders_json").collect(), key=lambda r: r.id)
    assert store.read("orders_json").columns == ["id", "amount", "ts", "_rescued", "file", "mtime"]  # no _metadata
    assert [(r.id, r.amount, r.file) for r in rows] == [(1, 2.5, "a.json"), (2, None, "a.json")]
    rescued = json.loads(rows[1]._rescued)
    assert rescued == {"amount": "lots", "note": "extra", "_file_path": str(root / "json" / "2026-01-01" / "a.json")}
    assert rows[0]._rescued is None and as_utc(rows[0].mtime) == A_JSON_MTIME
    # Given a schema and no rescuedDataColumn, a value that does not fit is null and no column is added.
    assert store.read("orders_csv").columns == ["id", "amount"]
    assert sorted(tuple(r) for r in store.read("orders_csv").collect()) == [(1, 3.0), (2, None)]
    parquet = sorted(store.read("orders_parquet").collect(), key=lambda r: r.id)
    assert [(r.id, json.loads(r._rescued_data)["other"], r.path) for r in parquet] == [
        (1, "x", str(root / "parquet" / "a.parquet")), (2, "y", str(root / "parquet" / "a.parquet"))]

    # Nothing new: nothing ingested twice. A new file: only its rows.
    second = run(spark, settings, pipeline)
    assert [second.datasets[d].rows_written for d in ("orders_json", "orders_csv", "orders_parquet")] == [0, 0, 0]
    (root / "json" / "2026-01-01" / "b.json").write_text('{"id": 3, "amount": 1, "ts": "2026-01-02T00:00:00Z"}\n')
    third = run(spark, settings, pipeline)
    assert third.datasets["orders_json"].rows_written == 1 and store.read("orders_json").count() == 3

    # A full refresh reads every file again into a truncated table.
    fresh = run(spark, settings, pipeline, full_refresh=True)
    assert fresh.datasets["orders_json"].rows_written == 3 and store.read("orders_json").count() == 3
    assert store.read("orders_csv").count() == 2


@pytest.mark.parametrize("option, message", [
    ('.option("cloudFiles.format", "avro")', "cloudFiles.format 'avro' is not supported locally"),
])
def test_options_the_local_side_cannot_honour_fail_the_flow_by_name(spark, settings, store, tmp_path, option, message):
    root = landing(tmp_path / "landing")
    body = ("import dlt\n@dlt.table\ndef t():\n    return spark.readStream.format('cloudFiles')" + option +
            ".schema('id INT').load(spark.conf.get('test.landing') + '/json')\n")
    result = run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", {"t.py": body}),
                                              **{"test.landing": str(root)}))
    assert result.state == "FAILED" and not store.exists("t")
    assert message.replace("\\", "") in result.datasets["t"].error


def test_a_unity_catalog_volume_path_reads_the_volumes_local_folder(spark, settings, store, tmp_path):
    """`/Volumes/<catalog>/<schema>/<volume>/...` is the same path under the storage root's `_volumes` folder."""
    volume = settings.storage_root / "_volumes" / settings.catalog / settings.schema_name / "raw"
    landing(volume)
    body = ("import dlt\n@dlt.table\ndef t():\n    return spark.readStream.format('cloudFiles')"
            ".option('cloudFiles.format', 'csv').option('header', 'true').schema('id INT, amount DOUBLE')"
            f".load('/Volumes/{settings.catalog}/{settings.schema_name}/raw/csv')\n")
    result = run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", {"t.py": body})))
    assert result.ok, result.error
    assert sorted(tuple(r) for r in store.read("t").collect()) == [(1, 3.0), (2, None)]


INFERRED = """
    import dlt
    LANDING = spark.conf.get("test.landing")

    @dlt.table
    def strings():
        return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load(f"{LANDING}/json")

    @dlt.table
    def typed():
        return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "csv").option("header", "true")
                .option("cloudFiles.inferColumnTypes", "true").option("cloudFiles.schemaHints", "code STRING")
                .option("cloudFiles.schemaLocation", f"{LANDING}/_schemas/Typed")
                .load(f"{LANDING}/csv"))
"""


def test_without_a_schema_auto_loader_infers_once_stores_and_evolves_with_new_columns(spark, settings, store, tmp_path):
    root = tmp_path / "landing"
    (root / "json").mkdir(parents=True)
    (root / "json" / "a.json").write_text('{"b": 1, "a": "x"}\n{"a": "y", "b": 2.5}\n')
    (root / "csv").mkdir()
    (root / "csv" / "a.csv").write_text("id,amount,code,at\n1,2.5,007,2026-01-01T00:00:00Z\n2,3,010,2026-01-02T00:00:00Z\n")
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"p.py": INFERRED}), **{"test.landing": str(root)})
    first = run(spark, settings, pipeline)
    assert first.ok, first.error
    # JSON without inferColumnTypes: strings, fields in name order, plus _rescued_data.
    assert [(f.name, f.dataType.simpleString()) for f in store.read("strings").schema.fields] == [
        ("a", "string"), ("b", "string"), ("_rescued_data", "string")]
    assert sorted(tuple(r) for r in store.read("strings").collect()) == [("x", "1", None), ("y", "2.5", None)]
    # CSV with inferColumnTypes and a hint: typed columns in header order, the hinted one kept a string.
    assert [(f.name, f.dataType.simpleString()) for f in store.read("typed").schema.fields] == [
        ("id", "int"), ("amount", "double"), ("code", "string"), ("at", "timestamp"), ("_rescued_data", "string")]
    assert sorted(r.code for r in store.read("typed").collect()) == ["007", "010"]
    assert (root / "_schemas" / "Typed" / "_schemas" / "0").is_file()  # option values keep their case

    # Inferred once: a later value of another type is rescued, not re-inferred.
    (root / "csv" / "b.csv").write_text("id,amount,code,at\nthree,4,011,2026-01-03T00:00:00Z\n")
    # A new JSON field: the update fails naming it, the schema is evolved, the rerun reads the file with it.
    (root / "json" / "b.json").write_text('{"a": "z", "b": 3, "c": true}\n')
    second = run(spark, settings, pipeline)
    assert second.datasets["strings"].status == "FAILED" and "new column(s) ['c']" in second.datasets["strings"].error
    assert second.datasets["typed"].rows_written == 1
    assert json.loads(store.read("typed").where("id IS NULL").collect()[0]._rescued_data)["id"] == "three"
    # The rerun reads the new column and the streaming table takes it, without a full refresh (as Databricks
    # evolves it): added at the table's end, null in the rows written before.
    third = run(spark, settings, pipeline)
    assert third.ok and third.datasets["strings"].rows_written == 1, third.error
    assert store.read("strings").columns == ["a", "b", "_rescued_data", "c"]
    assert sorted(tuple(r) for r in store.read("strings").collect()) == [
        ("x", "1", None, None), ("y", "2.5", None, None), ("z", "3", None, "true")]
    fresh = run(spark, settings, pipeline, full_refresh_selection=["strings"])
    assert fresh.ok, fresh.error  # a full refresh rebuilds it in the stream's order: new columns, rescued last
    assert store.read("strings").columns == ["a", "b", "c", "_rescued_data"]


READER_OPTIONS = """
    from pyspark import pipelines as dp
    LANDING = spark.conf.get("test.landing")

    @dp.table
    def tsv_given():
        return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "csv").option("sep", "\\t")
                .schema("id INT, name STRING").load(f"{LANDING}/tsv"))

    @dp.table
    def tsv_inferred():
        return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "csv").option("delimiter", "\\t")
                .option("cloudFiles.inferColumnTypes", "true").load(f"{LANDING}/tsv"))

    @dp.table
    def multi_line():
        return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").option("multiLine", "true")
                .option("rescuedDataColumn", "_rescued_data").schema("id INT, tags STRING").load(f"{LANDING}/json"))
"""


def test_csv_without_header_maps_fields_by_position_and_multiline_json_reads_whole_files(spark, settings, store, tmp_path):
    root = tmp_path / "landing"
    (root / "tsv").mkdir(parents=True)
    (root / "tsv" / "a.tsv").write_text("1\tx\n2\ty\n\nthree\tz\n")  # Spark's default: header false
    (root / "json").mkdir()
    (root / "json" / "array.json").write_text('[\n  {"id": 1,\n   "tags": ["a", "b"]},\n  {"id": 2}\n]\n')
    (root / "json" / "object.json").write_text('{\n  "id": 3,\n  "extra": true\n}\n')
    (root / "json" / "broken.json").write_text('{\n  "id": 4,\n')
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"p.py": READER_OPTIONS}), **{"test.landing": str(root)})
    assert run(spark, settings, pipeline).ok
    assert sorted((r.name, r.id) for r in store.read("tsv_given").collect()) == [("x", 1), ("y", 2), ("z", None)]
    inferred = store.read("tsv_inferred")
    assert [(f.name, f.dataType.simpleString()) for f in inferred.schema.fields] == [
        ("_c0", "string"), ("_c1", "string"), ("_rescued_data", "string")]  # "three" makes _c0 a string column
    rows = sorted(store.read("multi_line").collect(), key=lambda r: (r.id is None, r.id))
    assert [(r.id, r.tags) for r in rows] == [(1, '["a","b"]'), (2, None), (3, None), (None, None)]
    assert json.loads(rows[2]._rescued_data)["extra"] is True
    assert "_corrupt_record" in json.loads(rows[3]._rescued_data)
    assert run(spark, settings, pipeline).datasets["multi_line"].rows_written == 0  # each file once


def test_batch_reads_of_volume_paths_in_a_pipeline_file_read_the_local_folder(spark, settings, store, tmp_path):
    """`spark.read.csv("/Volumes/...")` and `spark.read.option(...).format(...).load("/Volumes/...")` read the
    volume's local folder (https://docs.databricks.com/aws/en/volumes/), like Auto Loader's paths."""
    volume = settings.storage_root / "_volumes" / "main" / "ref" / "files"
    volume.mkdir(parents=True)
    (volume / "zones.csv").write_text("zone,name\n1,north\n2,south\n")
    body = """
        from pyspark import pipelines as dp

        @dp.materialized_view
        def zones():
            return spark.read.csv("/Volumes/main/ref/files/zones.csv", header=True)

        @dp.materialized_view
        def zones_again():
            return spark.read.option("header", True).format("csv").load(["/Volumes/main/ref/files/zones.csv"])
    """
    assert run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", {"p.py": body}))).ok
    for table in ("zones", "zones_again"):
        assert sorted(tuple(r) for r in store.read(table).collect()) == [("1", "north"), ("2", "south")]


def test_an_empty_landing_file_is_counted_at_info_and_only_a_file_with_a_bad_line_warns(spark, settings, store, tmp_path,
                                                                                        caplog):
    """An empty file is a quiet day's normal delivery: no warning naming it, so the one that needs a look stands out."""
    day = tmp_path / "landing" / "json" / "2026-01-01"
    day.mkdir(parents=True)
    (day / "quiet.json").write_bytes(b"")
    (day / "good.json").write_text('{"id": 1}\n')
    (day / "bad.json").write_text('{"id": 2}\n{"id": 3\n')
    body = ("import dlt\n@dlt.table\ndef t():\n    return spark.readStream.format('cloudFiles')"
            ".option('cloudFiles.format', 'json').schema('id INT').load(spark.conf.get('test.landing'))\n")
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"t.py": body}), **{"test.landing": str(day.parent)})
    with caplog.at_level(logging.INFO, logger="lakehouse.local.dlt_runtime.auto_loader"):
        assert run(spark, settings, pipeline).ok
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "lakehouse.local.dlt_runtime.auto_loader" and r.levelno == logging.WARNING]
    assert warnings == [f"landing file {day / 'bad.json'}: 2 row(s), 1 with _rescued_data (1 unparseable line(s)), "
                        "0 blank line(s), 19 bytes"]
    assert f"1 empty landing file(s) under {day.parent}: 0 bytes, no rows" in caplog.text
    assert store.read("t").count() == 3


def test_a_view_over_cloud_files_ingests_each_file_once_into_the_table_reading_it(spark, settings, store, tmp_path):
    """A view has no Delta table for the ingested-files log to ask after a crash: its reads must still work and its
    files be committed once the table reading it committed (a new file: only its rows)."""
    root = tmp_path / "landing"
    (root / "2026-01-01").mkdir(parents=True)
    (root / "2026-01-01" / "a.json").write_text('{"id": 1}\n{"id": 2}\n')
    body = """
        from pyspark import pipelines as dp
        LANDING = spark.conf.get("test.landing")

        @dp.temporary_view
        def landed():
            return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").schema("id INT").load(LANDING)

        @dp.table
        def ids():
            return spark.readStream.table("landed")
    """
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"p.py": body}), **{"test.landing": str(root)})
    first = run(spark, settings, pipeline)
    assert first.ok, first.error
    assert sorted(r.id for r in store.read("ids").collect()) == [1, 2]
    (root / "2026-01-01" / "b.json").write_text('{"id": 3}\n')
    second = run(spark, settings, pipeline)
    assert second.ok, second.error
    assert second.datasets["ids"].rows_written == 1
    assert sorted(r.id for r in store.read("ids").collect()) == [1, 2, 3]


def test_cloud_files_keeps_its_format_and_refuses_another_after_it():
    """`.format("cloudFiles")` again is the same reader; another format after cloudFiles would silently read the
    files with a different parser than the options describe, so it is refused."""
    from lakehouse.local.dlt_runtime.auto_loader import CloudFilesReader

    reader = CloudFilesReader()
    assert reader.format("cloudFiles") is reader
    for other in ("json", "avro"):
        with pytest.raises(NotImplementedError, match=f"readStream.format\\('{other}'\\) after cloudFiles"):
            reader.format(other)


def test_a_cloud_files_reader_needs_a_path():
    with pytest.raises(ValueError, match="cloudFiles needs a path"):
        CloudFilesReader().format("cloudFiles").load()


# -- exactly once across kills: the source as the runtime calls it, the kill being the calls that never happen --------
def request_for(spark, store, root: Path, state: Path, fmt: str = "json", schema: str = "id INT",
                **options: str) -> SourceRequest:
    """What the runtime asks Auto Loader for flow `t` appending to table `t` (reads.py builds the same request)."""
    return SourceRequest(spark=spark, pipeline="p", flow="t", target=store.name("t"), full_refresh=False,
                         state_dir=state, target_dir=store.path("t"),
                         options={"path": str(root), "options": {"cloudFiles.format": fmt, **options}, "schema": schema})


def ids(frame) -> list[int]:
    return sorted(r.id for r in frame.collect())


def append(store, frame) -> None:
    """The flow's write to its target (without the hidden `_metadata`, as the runtime writes it)."""
    store.append(frame.drop("_metadata"), "t")


def day_with(root: Path, name: str, *row_ids: int) -> Path:
    day = root / "2026-01-01"
    day.mkdir(parents=True, exist_ok=True)
    (day / name).write_text("".join(f'{{"id": {i}}}\n' for i in row_ids))
    return day


def test_files_of_an_update_killed_before_its_write_are_read_again(spark, store, tmp_path):
    """Killed after its files were recorded pending (or read and staged) but before the target's write: the next
    update offers them again, whether the target did not exist yet, stood at the version it had when they were
    begun, or was dropped meanwhile (a version below the recorded one is not a write of them)."""
    root = tmp_path / "landing"
    day_with(root, "a.json", 1, 2)
    request = request_for(spark, store, root, tmp_path / "state")
    read_cloud_files(request)  # killed: neither written nor committed
    frame, commit = read_cloud_files(request)
    assert ids(frame) == [1, 2]
    append(store, frame)
    commit()
    day_with(root, "b.json", 3)
    read_cloud_files(request)  # killed again, the target at version 0
    frame, _ = read_cloud_files(request)
    assert ids(frame) == [3]
    store.spark.sql(f"DROP TABLE IF EXISTS {store.name('t')}")
    shutil.rmtree(store.path("t"))  # killed again, then the target dropped: b's rows are nowhere
    frame, _ = read_cloud_files(request)
    assert ids(frame) == [3]


def test_files_whose_rows_reached_the_target_before_the_kill_are_not_ingested_twice(spark, store, tmp_path):
    """Killed after the target's write committed but before the ingested-files log recorded it: the next update
    counts the files as ingested, also when that write created the target."""
    root = tmp_path / "landing"
    day_with(root, "a.json", 1, 2)
    request = request_for(spark, store, root, tmp_path / "state")
    append(store, read_cloud_files(request)[0])  # killed before the commit: the target created at version 0
    day_with(root, "b.json", 3)
    frame, _ = read_cloud_files(request)
    assert ids(frame) == [3]
    append(store, frame)  # killed again, the target at version 1
    frame, commit = read_cloud_files(request)
    assert ids(frame) == [] and ids(store.read("t")) == [1, 2, 3]
    commit()
    assert ids(read_cloud_files(request)[0]) == []


def test_parquet_files_are_conformed_to_the_schema_by_name_and_what_does_not_fit_is_rescued(spark, store, tmp_path):
    """A column missing from a file is null; a value its column's type cannot take (a string for a double, a list
    for a bigint) is null there and kept in the rescued data, as the text formats do."""
    root = tmp_path / "landing"
    root.mkdir()
    pq.write_table(pa.table({"amount": ["lots"]}), root / "a.parquet")
    pq.write_table(pa.table({"id": [[1, 2]], "amount": [5.0]}), root / "b.parquet")
    request = request_for(spark, store, root, tmp_path / "state", fmt="parquet", schema="id BIGINT, amount DOUBLE",
                          rescuedDataColumn="_rescued")
    rows = sorted(read_cloud_files(request)[0].collect(), key=lambda r: r._metadata.file_name)
    assert [(r.id, r.amount, json.loads(r._rescued)) for r in rows] == [
        (None, None, {"amount": "lots", "_file_path": str(root / "a.parquet")}),
        (None, 5.0, {"id": [1, 2], "_file_path": str(root / "b.parquet")}),
    ]


def test_local_runs_ingest_day_folders_only_through_the_run_date(spark, settings, store, tmp_path):
    """`lakehouse.ingest_through` replays history day by day: day folders after it wait for a later run; the day
    itself and folders that are not days are read."""
    root = tmp_path / "landing"
    for i, folder in enumerate(["2026-01-01", "2026-01-02", "2026-01-03", "manual"], start=1):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.json").write_text(f'{{"id": {i}}}\n')
    body = ("import dlt\n@dlt.table\ndef t():\n    return spark.readStream.format('cloudFiles')"
            ".option('cloudFiles.format', 'json').schema('id INT').load(spark.conf.get('test.landing'))\n")
    src = write_files(tmp_path / "src", {"t.py": body})
    for through, expected in (("2026-01-02", [1, 2, 4]), ("2026-01-03", [1, 2, 3, 4])):
        pipeline = pipeline_of(settings, src, **{"test.landing": str(root), "lakehouse.ingest_through": through})
        assert run(spark, settings, pipeline).ok
        assert ids(store.read("t")) == expected


def no_table(store) -> None:
    shutil.rmtree(store.path("t"), ignore_errors=True)


def empty_log(store) -> None:
    """What a first write killed before its commit leaves: a `_delta_log` folder without any commit."""
    (store.path("t") / "_delta_log").mkdir(parents=True, exist_ok=True)


def first_commit(store, frame) -> None:
    frame.drop("_metadata").write.format("delta").mode("append").save(str(store.path("t")))


@pytest.mark.parametrize(("at_begin", "at_rerun", "again"), [
    (no_table, empty_log, [1, 2]),  # the write was killed before its commit: nothing reached the target
    (empty_log, no_table, [1, 2]),  # the half-created target was removed: nothing reached the target
    (empty_log, first_commit, []),  # the target's first commit landed: the rows are in it
], ids=["absent-then-uncommitted", "uncommitted-then-removed", "uncommitted-then-committed"])
def test_a_target_whose_delta_log_holds_no_commit_is_no_table_yet(spark, store, tmp_path, at_begin, at_rerun, again):
    """A `_delta_log` without commits is a target at no version, as a missing one: only a commit between begin
    and the rerun means the pending files reached it."""
    root = tmp_path / "landing"
    day_with(root, "a.json", 1, 2)
    request = request_for(spark, store, root, tmp_path / "state")
    at_begin(store)
    frame, _ = read_cloud_files(request)
    at_rerun(store, frame) if at_rerun is first_commit else at_rerun(store)
    assert ids(read_cloud_files(request)[0]) == again
