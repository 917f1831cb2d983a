"""Auto CDC beyond the incremental SCD type 1: SCD type 2 with deletes, tracked columns and out-of-order events,
truncates, and a target that does not store the sequence. Expected tables are the ones Databricks' CDC page prints
for its `users` example (https://docs.databricks.com/aws/en/ldp/cdc), delivered here over two updates so that the
out-of-order events arrive in a later update than the ones they precede."""

from __future__ import annotations

import pytest

from lakehouse.local.dlt_runtime import PipelineDefinitionError, change_log
from tests.test_dlt_runtime import pipeline_of, raw, run, write_files

USERS = "userId int, name string, city string, operation string, sequenceNum int"
FIRST = [(124, "Raul", "Oaxaca", "INSERT", 1), (123, "Isabel", "Monterrey", "INSERT", 1),
         (125, "Mercedes", "Tijuana", "INSERT", 2), (126, "Lily", "Cancun", "INSERT", 2),
         (123, None, None, "DELETE", 6), (125, "Mercedes", "Guadalajara", "UPDATE", 6)]  # fmt: skip
LATE = [(125, "Mercedes", "Mexicali", "UPDATE", 5), (123, "Isabel", "Chihuahua", "UPDATE", 5)]
TRUNCATE = [(None, None, None, "TRUNCATE", 3)]

FLOW = """
    from pyspark import pipelines as dp
    from pyspark.sql.functions import col, expr

    @dp.view
    def users():
      return spark.readStream.table(spark.conf.get("test.raw"))

    dp.create_streaming_table("target")

    dp.create_auto_cdc_flow(
      target = "target",
      source = "users",
      keys = ["userId"],
      sequence_by = col("sequenceNum"),
      apply_as_deletes = expr("operation = 'DELETE'"),
      except_column_list = ["operation", "sequenceNum"],
      {options}
    )
"""


def _run_twice(spark, settings, store, tmp_path, options: str, late: list,
               counts: tuple[int, int] | None = None) -> list[tuple]:
    """The target's rows after FIRST, then `late` in a second update (whose upserted and deleted `counts` are
    checked when given)."""
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": FLOW.format(options=options)}))
    store.overwrite(raw(spark, FIRST, USERS), "raw")
    assert run(spark, settings, pipeline).ok
    store.append(raw(spark, late, USERS), "raw")
    second = run(spark, settings, pipeline)
    flow = second.flows["target"]
    assert second.ok and flow.rows_in == len(late)
    assert counts is None or (flow.rows_upserted, flow.rows_deleted) == counts
    return sorted(tuple(r) for r in store.read("target").collect())


def test_scd_type_2_keeps_every_version_closes_deletes_and_places_late_events_by_sequence(spark, settings, store, tmp_path):
    rows = _run_twice(spark, settings, store, tmp_path, 'stored_as_scd_type = "2"', LATE)
    assert rows == [
        (123, "Isabel", "Chihuahua", 5, 6), (123, "Isabel", "Monterrey", 1, 5), (124, "Raul", "Oaxaca", 1, None),
        (125, "Mercedes", "Guadalajara", 6, None), (125, "Mercedes", "Mexicali", 5, 6),
        (125, "Mercedes", "Tijuana", 2, 5), (126, "Lily", "Cancun", 2, None)]  # fmt: skip
    schema = {f.name: f.dataType.simpleString() for f in store.read("target").schema.fields}
    assert schema == {"userId": "int", "name": "string", "city": "string", "__START_AT": "int", "__END_AT": "int"}


def test_a_full_refresh_rebuilds_the_history_from_the_whole_feed(spark, settings, store, tmp_path):
    before = _run_twice(spark, settings, store, tmp_path, 'stored_as_scd_type = "2"', LATE)
    pipeline = pipeline_of(settings, tmp_path / "src")
    fresh = run(spark, settings, pipeline, full_refresh=True)
    assert fresh.ok and fresh.flows["target"].rows_in == len(FIRST) + len(LATE)
    assert sorted(tuple(r) for r in store.read("target").collect()) == before
    assert run(spark, settings, pipeline).flows["target"].rows_in == 0  # and nothing is read again after it


def test_scd_type_2_untracked_columns_update_the_current_version_in_place(spark, settings, store, tmp_path):
    options = 'stored_as_scd_type = "2", track_history_except_column_list = ["city"]'
    rows = _run_twice(spark, settings, store, tmp_path, options, LATE)
    assert rows == [(123, "Isabel", "Chihuahua", 1, 6), (124, "Raul", "Oaxaca", 1, None),
                    (125, "Mercedes", "Guadalajara", 2, None), (126, "Lily", "Cancun", 2, None)]  # fmt: skip


def test_scd_type_2_tracks_only_the_listed_columns(spark, settings, store, tmp_path):
    options = 'stored_as_scd_type = 2, track_history_column_list = ["city"]'
    late = [*LATE, (124, "Raúl", "Oaxaca", "UPDATE", 3), (126, "Lily", "Cancun", "UPDATE", 7)]
    rows = _run_twice(spark, settings, store, tmp_path, options, late)
    # 124's new name is untracked (updated in place); 126's repeated values open nothing.
    assert rows == [
        (123, "Isabel", "Chihuahua", 5, 6), (123, "Isabel", "Monterrey", 1, 5), (124, "Raúl", "Oaxaca", 1, None),
        (125, "Mercedes", "Guadalajara", 6, None), (125, "Mercedes", "Mexicali", 5, 6),
        (125, "Mercedes", "Tijuana", 2, 5), (126, "Lily", "Cancun", 2, None)]  # fmt: skip


def test_scd_type_1_without_the_sequence_stored_keeps_tombstones_and_truncates(spark, settings, store, tmp_path):
    options = 'apply_as_truncates = expr("operation = \'TRUNCATE\'"), stored_as_scd_type = 1'
    rows = _run_twice(spark, settings, store, tmp_path, options, [*LATE, *TRUNCATE], counts=(2, 0))  # a truncate: neither
    assert rows == [(125, "Mercedes", "Guadalajara")]  # the docs' result with the TRUNCATE row
    assert store.read("target").columns == ["userId", "name", "city"]


def test_scd_type_1_without_the_sequence_stored_applies_out_of_order_events(spark, settings, store, tmp_path):
    rows = _run_twice(spark, settings, store, tmp_path, "stored_as_scd_type = 1", LATE)
    assert rows == [(124, "Raul", "Oaxaca"), (125, "Mercedes", "Guadalajara"), (126, "Lily", "Cancun")]


SEQUENCE_STORED = FLOW.replace('except_column_list = ["operation", "sequenceNum"]', 'except_column_list = ["operation"]')


def test_scd_type_1_with_the_sequence_stored_and_no_truncate_is_applied_incrementally(spark, settings, store, tmp_path):
    """The fast path (cdc.py): a change of a stored key is one MERGE into the target, not a rebuild of the whole
    table from a change log."""
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": SEQUENCE_STORED.format(options="")}))
    store.overwrite(raw(spark, [(1, "Ana", "Lima", "INSERT", 1)], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    store.append(raw(spark, [(1, "Ana", "Cusco", "UPDATE", 2)], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    assert [tuple(r) for r in store.read("target").collect()] == [(1, "Ana", "Cusco", 2)]
    assert store.history("target", limit=1)[0]["operation"] == "MERGE"


def test_a_first_update_of_an_empty_feed_creates_the_empty_scd_type_2_target(spark, settings, store, tmp_path):
    """The target exists after the first update even when the feed has no change yet, with its SCD type 2
    columns."""
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": FLOW.format(
        options='stored_as_scd_type = "2"')}))
    store.overwrite(raw(spark, [], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    target = store.read("target")
    assert target.collect() == [] and target.columns == ["userId", "name", "city", "__START_AT", "__END_AT"]


def test_scd_type_1_truncates_with_the_sequence_stored_too(spark, settings, store, tmp_path):
    """`apply_as_truncates` runs from the change log even when the target stores the sequence (the incremental
    MERGE has no truncate): the docs' example in one update keeps only the key changed after the truncate."""
    options = 'apply_as_truncates = expr("operation = \'TRUNCATE\'"), stored_as_scd_type = 1'
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": SEQUENCE_STORED.format(options=options)}))
    store.overwrite(raw(spark, [*FIRST, *LATE, *TRUNCATE], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    assert [tuple(r) for r in store.read("target").collect()] == [(125, "Mercedes", "Guadalajara", 6)]


def test_scd_type_1_a_truncate_also_removes_a_change_at_its_own_sequence(spark, settings, store, tmp_path):
    """A truncate wins a tie at its sequence value as a delete does (cdc.py): key 2, changed at the truncate's
    sequence 3, is gone with key 1; only key 3, changed after it, stays. A later truncate row carrying key 3 and
    its sequence is a new event, not a re-delivery of that change: it empties the table."""
    options = 'apply_as_truncates = expr("operation = \'TRUNCATE\'"), stored_as_scd_type = 1'
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": FLOW.format(options=options)}))
    feed = [(1, "Ana", "Lima", "INSERT", 1), (2, "Bo", "Rio", "INSERT", 3), *TRUNCATE, (3, "Cy", "Quito", "INSERT", 4)]
    store.overwrite(raw(spark, feed, USERS), "raw")
    assert run(spark, settings, pipeline).ok
    assert [tuple(r) for r in store.read("target").collect()] == [(3, "Cy", "Quito")]
    store.append(raw(spark, [(3, None, None, "TRUNCATE", 4)], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    assert store.read("target").collect() == []


def test_scd_type_1_with_a_composite_key_inserts_a_key_sharing_one_column_with_a_stored_key(
        spark, settings, store, tmp_path):
    """A key of several columns matches a stored row only on all of them: (1, "Bo") is a new key, inserted even
    though its sequence is below the stored (1, "Ana")'s, which a change of its own still updates."""
    body = SEQUENCE_STORED.format(options="").replace('keys = ["userId"]', 'keys = ["userId", "name"]')
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": body}))
    store.overwrite(raw(spark, [(1, "Ana", "Lima", "INSERT", 3)], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    store.append(raw(spark, [(1, "Bo", "Rio", "INSERT", 1), (1, "Ana", "Cusco", "UPDATE", 4)], USERS), "raw")
    second = run(spark, settings, pipeline).flows["target"]
    assert (second.rows_in, second.rows_upserted, second.rows_deleted) == (2, 2, 0)
    assert sorted(tuple(r) for r in store.read("target").collect()) == [(1, "Ana", "Cusco", 4), (1, "Bo", "Rio", 1)]


@pytest.mark.parametrize("flow", [SEQUENCE_STORED, FLOW], ids=["incremental", "change_log"])
@pytest.mark.parametrize(("deletes", "operation"), [
    ("", "DELETE"),  # no apply_as_deletes: nothing is a delete
    ("apply_as_deletes = expr(\"operation = 'DELETE'\"),", None),  # the condition is NULL: not a delete
])  # fmt: skip
def test_scd_type_1_deletes_only_where_apply_as_deletes_is_true(spark, settings, store, tmp_path, flow, deletes,
                                                                 operation):
    """A change row is a delete only when `apply_as_deletes` is given and evaluates to true for it."""
    body = flow.format(options="").replace("apply_as_deletes = expr(\"operation = 'DELETE'\"),", deletes)
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": body}))
    store.overwrite(raw(spark, [(1, "Ana", "Lima", operation, 1)], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    assert [tuple(r)[:3] for r in store.read("target").collect()] == [(1, "Ana", "Lima")]


@pytest.mark.parametrize(("flow", "options"), [
    (SEQUENCE_STORED, "stored_as_scd_type = 1"),  # incremental SCD type 1 (cdc.py)
    (FLOW, "stored_as_scd_type = 1"),  # SCD type 1 from the change log
    (FLOW, 'stored_as_scd_type = "2"'),
])  # fmt: skip
def test_a_null_sequence_fails_the_update_naming_the_column_and_applies_nothing(spark, settings, store, tmp_path, flow,
                                                                                 options):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": flow.format(options=options)}))
    store.overwrite(raw(spark, FIRST, USERS), "raw")
    assert run(spark, settings, pipeline).ok
    before = sorted(tuple(r) for r in store.read("target").collect())
    store.append(raw(spark, [*LATE, (126, "Lily", "Tulum", "UPDATE", None)], USERS), "raw")
    for _ in range(2):  # the batch stays unconsumed: the next update reads it again and fails again
        failed = run(spark, settings, pipeline)
        assert failed.state == "FAILED" and failed.flows["target"].status == "FAILED"
        assert "NULL_SEQUENCE" in failed.error and "1 change row(s)" in failed.error and "'sequenceNum'" in failed.error
        assert sorted(tuple(r) for r in store.read("target").collect()) == before


@pytest.mark.parametrize(("options", "message"), [
    ('stored_as_scd_type = 2, apply_as_truncates = expr("operation = \'TRUNCATE\'")',
     "apply_as_truncates is supported only for SCD type 1"),
    ('track_history_except_column_list = ["city"]', "are for SCD type 2"),
    ('stored_as_scd_type = 3', "stored_as_scd_type must be 1 or 2"),
    ('stored_as_scd_type = 2, track_history_column_list = ["name"], track_history_except_column_list = ["city"]',
     "not both"),
])  # fmt: skip
def test_combinations_databricks_documents_as_invalid_are_refused(spark, settings, tmp_path, options, message):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": FLOW.format(options=options)}))
    with pytest.raises(PipelineDefinitionError, match=message):
        run(spark, settings, pipeline)


TYPED = FLOW.replace('spark.readStream.table(spark.conf.get("test.raw"))', (
    'spark.readStream.table(spark.conf.get("test.raw")).selectExpr("userId", "map(\'len\', length(city)) AS tags", '
    '"parse_json(cast(length(city) AS string)) AS doc", "city AS zone", "name", "operation", "sequenceNum")'))


@pytest.mark.parametrize("excluded", [["operation"], ["operation", "sequenceNum"]], ids=["incremental", "change_log"])
def test_changes_sharing_a_sequence_value_are_ordered_by_the_orderable_columns_in_table_order(
        spark, settings, store, tmp_path, excluded):
    """The tie-break between a key's changes sharing a sequence value (`tie_order`) leaves out map and variant
    columns, which Spark cannot order, and takes the others in table order whatever their names: `zone` first
    (a name sorting after the sequence column's) picks (Bo, Cusco); the map or the variant, placed first, would
    pick (Ana, Lima), as would `name` alone. On both routes."""
    body = TYPED.format(options="").replace('["operation", "sequenceNum"]', repr(excluded))
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": body}))
    store.overwrite(raw(spark, [(1, "Ana", "Lima", "UPDATE", 5), (1, "Bo", "Cusco", "UPDATE", 5)], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    rows = store.read("target").selectExpr("userId", "name", "zone", "tags['len']", "to_json(doc)").collect()
    assert [tuple(r) for r in rows] == [(1, "Bo", "Cusco", 5, "5")]


# -- AUTO CDC FROM SNAPSHOT: the docs' two examples (https://docs.databricks.com/aws/en/ldp/cdc) ---------------
SNAPSHOT_TABLE = """
    from pyspark import pipelines as dp

    @dp.view(name="source")
    def source():
      return spark.read.table(spark.conf.get("test.raw"))

    dp.create_streaming_table("target")

    dp.create_auto_cdc_from_snapshot_flow(
      target = "target",
      source = "source",
      keys = ["userId"],
      stored_as_scd_type = {scd}
    )
"""
SNAPSHOT_1 = [(1, "Oaxaca"), (2, "Monterrey"), (3, "Tijuana")]
SNAPSHOT_2 = [(2, "Carmel"), (3, "Los Angeles"), (4, "Death Valley"), (6, "Kings Canyon")]


@pytest.mark.parametrize(("scd", "expected"), [
    (2, [(1, "Oaxaca", 0, 1), (2, "Carmel", 1, None), (2, "Monterrey", 0, 1), (3, "Los Angeles", 1, None),
         (3, "Tijuana", 0, 1), (4, "Death Valley", 1, None), (6, "Kings Canyon", 1, None)]),
    (1, [(2, "Carmel"), (3, "Los Angeles"), (4, "Death Valley"), (6, "Kings Canyon")]),
])  # fmt: skip
def test_snapshots_of_a_table_are_diffed_into_changes_one_per_update(spark, settings, store, tmp_path, scd, expected):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": SNAPSHOT_TABLE.format(scd=scd)}))
    store.overwrite(spark.createDataFrame(SNAPSHOT_1, "userId int, city string"), "raw")
    assert run(spark, settings, pipeline).ok
    store.overwrite(spark.createDataFrame(SNAPSHOT_2, "userId int, city string"), "raw")
    second = run(spark, settings, pipeline).flows["target"]
    assert (second.rows_upserted, second.rows_deleted) == (4, 1)  # 2, 3 changed, 4, 6 new; 1 gone
    assert sorted(tuple(r) for r in store.read("target").collect()) == expected
    version = store.version("target")
    assert run(spark, settings, pipeline).flows["target"].rows_in == 0  # the same snapshot again: no change
    assert sorted(tuple(r) for r in store.read("target").collect()) == expected and store.version("target") >= version


def _table_snapshot(spark, store, rows: list[tuple]) -> None:
    store.overwrite(spark.createDataFrame(rows, "userId int, city string"), "raw")


def test_a_snapshot_reprocessed_after_a_crash_before_the_target_was_written_still_rebuilds_the_target(
        spark, settings, store, tmp_path):
    """The processed version is saved after the target is written, so a crash between logging a snapshot's changes
    and overwriting the target re-processes that snapshot: it now differs from the log in nothing, and the target
    must still be rebuilt from the log, or it would keep the previous snapshot's rows until the source changes."""
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": SNAPSHOT_TABLE.format(scd=1)}))
    _table_snapshot(spark, store, SNAPSHOT_1)
    assert run(spark, settings, pipeline).ok
    previous = store.read("target")
    previous = spark.createDataFrame(previous.collect(), previous.schema)
    _table_snapshot(spark, store, SNAPSHOT_2)
    assert run(spark, settings, pipeline).ok
    marker = settings.storage_root / "_pipelines" / "p" / change_log.LOGS / "target.version"
    assert marker.read_text() == "1"  # a name source's second update is version 1
    store.overwrite(previous, "target")  # what the crash left: the target and the version of the first snapshot
    marker.write_text("0")
    again = run(spark, settings, pipeline).flows["target"]
    assert (again.rows_in, again.rows_upserted, again.rows_deleted) == (0, 0, 0)
    assert sorted(tuple(r) for r in store.read("target").collect()) == sorted(SNAPSHOT_2)
    assert marker.read_text() == "1"


SNAPSHOT_FUNCTION = '''
    from pyspark import pipelines as dp
    from typing import Optional, Tuple
    from pyspark.sql import DataFrame

    def next_snapshot_and_version(latest_snapshot_version: Optional[int]) -> Optional[Tuple[DataFrame, int]]:
      snapshot_dir = "/Volumes/main/cdc_tutorial/snapshots/" # or the location you created the sample data

      files = dbutils.fs.ls(snapshot_dir)
      snapshot_files = [f.name for f in files if f.name.startswith("snapshot_") and f.name.endswith(".csv")]

      snapshot_versions = []
      for filename in snapshot_files:
        try:
          version = int(filename.replace("snapshot_", "").replace(".csv", ""))
          snapshot_versions.append(version)
        except ValueError:
          continue

      snapshot_versions.sort()

      if latest_snapshot_version is None:
        if snapshot_versions:
          next_version = snapshot_versions[0]
        else:
          return None
      else:
        next_versions = [v for v in snapshot_versions if v > latest_snapshot_version]
        if next_versions:
          next_version = next_versions[0]
        else:
          return None

      snapshot_path = f"{snapshot_dir}snapshot_{next_version}.csv"
      df = spark.read.format("csv").option("header", True).load(snapshot_path)
      return (df, next_version)

    dp.create_streaming_table("target_versioned")

    dp.create_auto_cdc_from_snapshot_flow(
      target = "target_versioned",
      source = next_snapshot_and_version,
      keys = ["userId"],
      stored_as_scd_type = 2
    )
'''


def _csv(rows: list[tuple]) -> str:
    return "userId,city\n" + "".join(f"{k},{c}\n" for k, c in rows)


def test_a_snapshot_function_on_a_volume_is_called_until_it_has_no_newer_version(spark, settings, store, tmp_path):
    folder = settings.storage_root / "_volumes" / "main" / "cdc_tutorial" / "snapshots"
    folder.mkdir(parents=True)
    (folder / "snapshot_1.csv").write_text(_csv(SNAPSHOT_1))
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": SNAPSHOT_FUNCTION}))
    assert run(spark, settings, pipeline).ok
    assert sorted(tuple(r) for r in store.read("target_versioned").collect()) == [
        ("1", "Oaxaca", 1, None), ("2", "Monterrey", 1, None), ("3", "Tijuana", 1, None)]
    (folder / "snapshot_2.csv").write_text(_csv(SNAPSHOT_2[:3]))  # the docs' second snapshot for this example
    (folder / "snapshot_3.csv").write_text(_csv(SNAPSHOT_2[:3]))  # unchanged: processed, changes nothing
    assert run(spark, settings, pipeline).ok
    assert sorted(tuple(r) for r in store.read("target_versioned").collect()) == [
        ("1", "Oaxaca", 1, 2), ("2", "Carmel", 2, None), ("2", "Monterrey", 1, 2), ("3", "Los Angeles", 2, None),
        ("3", "Tijuana", 1, 2), ("4", "Death Valley", 2, None)]  # fmt: skip


@pytest.mark.parametrize(("options", "message"), [
    ("stored_as_scd_type = 2, ignore_null_updates = True",
     "ignore_null_updates with stored_as_scd_type=2 not supported by the local runtime"),
    ('stored_as_scd_type = 1, ignore_null_updates_column_list = ["city"]',
     "ignore_null_updates_column_list not supported by the local runtime"),
])  # fmt: skip
def test_what_the_local_runtime_cannot_honour_is_refused_when_the_pipeline_loads(spark, settings, tmp_path, options,
                                                                                 message):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": FLOW.format(options=options)}))
    with pytest.raises(NotImplementedError, match=message):
        run(spark, settings, pipeline)


def test_ignore_null_updates_on_the_change_log_a_declared_target_schema_and_sinks_are_refused(spark, settings, store, tmp_path):
    store.overwrite(raw(spark, FIRST, USERS), "raw")
    folder = write_files(tmp_path / "src", {"cdc.py": FLOW.format(options="ignore_null_updates = True")})
    failed = run(spark, settings, pipeline_of(settings, folder))  # SCD type 1 without the sequence: the change log
    assert failed.state == "FAILED" and "ignore_null_updates is not supported" in failed.flows["target"].error
    declared = FLOW.format(options="").replace('create_streaming_table("target")',
                                               'create_streaming_table("target", schema="userId INT")')
    with pytest.raises(NotImplementedError, match="a declared schema on an apply_changes target"):
        run(spark, settings, pipeline_of(settings, write_files(tmp_path / "declared", {"cdc.py": declared})))
    sink = "from pyspark import pipelines as dp\n@dp.foreach_batch_sink(name='s')\ndef s(df, batch_id):\n    pass\n"
    with pytest.raises(PipelineDefinitionError, match="has no attribute 'foreach_batch_sink'"):
        run(spark, settings, pipeline_of(settings, write_files(tmp_path / "sink", {"s.py": sink})))


def test_scd_type_2_reopens_a_key_after_its_delete_ignores_a_lone_delete_and_a_redelivered_sequence(
        spark, settings, store, tmp_path):
    """A change after a key's delete opens a new version even with the same values; a delete of a key never seen
    leaves no row; a change re-delivered at a logged sequence (other values) is applied once, the first logged
    ("each sequence value per key" once: https://docs.databricks.com/aws/en/ldp/cdc). The first update is a full
    refresh, so it starts from no change log at all."""
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": FLOW.format(
        options='stored_as_scd_type = "2"')}))
    store.overwrite(raw(spark, [(200, "Ana", "Lima", "INSERT", 1), (200, "Ana", "Lima", "DELETE", 2),
                                (200, "Ana", "Lima", "INSERT", 3), (201, None, None, "DELETE", 1)], USERS), "raw")
    assert run(spark, settings, pipeline, full_refresh=True).ok
    store.append(raw(spark, [(200, "Ana", "Cusco", "UPDATE", 3)], USERS), "raw")
    second = run(spark, settings, pipeline)
    assert second.ok and second.flows["target"].rows_in == 1
    assert sorted(tuple(r) for r in store.read("target").collect()) == [
        (200, "Ana", "Lima", 1, 2), (200, "Ana", "Lima", 3, None)]


def test_scd_type_2_with_the_sequence_column_stored_still_keeps_every_version(spark, settings, store, tmp_path):
    """Storing `sequence_by` (not excluded) must not turn SCD type 2 into type 1's latest-row-per-key; an update
    with no new change rows writes nothing."""
    body = FLOW.format(options='stored_as_scd_type = "2"').replace(
        'except_column_list = ["operation", "sequenceNum"]', 'except_column_list = ["operation"]')
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": body}))
    store.overwrite(raw(spark, [(1, "Ana", "Lima", "INSERT", 1), (1, "Ana", "Cusco", "UPDATE", 2)], USERS), "raw")
    assert run(spark, settings, pipeline).ok
    assert sorted(tuple(r) for r in store.read("target").collect()) == [
        (1, "Ana", "Cusco", 2, 2, None), (1, "Ana", "Lima", 1, 1, 2)]
    version = store.version("target")
    again = run(spark, settings, pipeline).flows["target"]  # nothing new: nothing written
    assert (again.rows_in, again.rows_written, again.rows_superseded, again.rows_upserted, again.rows_deleted) == (
        0, 0, 0, 0, 0)
    assert store.version("target") == version and len(store.read("target").collect()) == 2


COMPOSITE_SNAPSHOTS = '''
    from pyspark import pipelines as dp

    SNAPSHOTS = {1: [(1, 1, "a"), (1, 2, "b")], 2: [(1, 1, "a")]}
    AFTER = {int(v): int(n) for v, n in (p.split(":") for p in spark.conf.get("test.next").split(","))}

    def next_snapshot(latest):
      version = AFTER.get(-1 if latest is None else latest)
      return None if version is None else (spark.createDataFrame(SNAPSHOTS[version], "a int, b int, v string"), version)

    dp.create_streaming_table("pairs")
    dp.create_auto_cdc_from_snapshot_flow(target="pairs", source=next_snapshot, keys=["a", "b"], stored_as_scd_type=1)
'''


def test_a_snapshot_drops_only_the_composite_keys_it_lacks_and_versions_must_increase(spark, settings, store, tmp_path):
    """A key of several columns is gone only when the whole key is missing from the snapshot; a source function
    returning a version not above the last processed one fails the update (the docs' contract: "the next
    snapshot and its version", ascending: https://docs.databricks.com/aws/en/ldp/cdc). The first update is a
    full refresh: it starts from no log and no processed version; it processes two snapshots, and the flow
    reports their changes added up."""
    src = write_files(tmp_path / "src", {"cdc.py": COMPOSITE_SNAPSHOTS})
    first = run(spark, settings, pipeline_of(settings, src, **{"test.next": "-1:1,1:2"}), full_refresh=True)
    assert first.ok, first.error
    assert sorted(tuple(r) for r in store.read("pairs").collect()) == [(1, 1, "a")]
    pairs = first.flows["pairs"]  # one update, two snapshots: their changes add up (2 inserts, then 1 delete)
    assert (pairs.rows_in, pairs.rows_upserted, pairs.rows_deleted) == (3, 2, 1)
    for repeated in ("2:2", "2:1"):  # the same version again, an older one
        result = run(spark, settings, pipeline_of(settings, src, **{"test.next": repeated}))
        assert not result.ok and "versions must increase" in result.error


TIED = [(1, "Ana", "Lima", "UPDATE", 5), (1, "Ana", "Cusco", "UPDATE", 5),
        (2, "Bo", "Rio", "INSERT", 1), (2, "Bo", "Natal", "UPDATE", 4), (2, None, None, "DELETE", 4)]  # fmt: skip


@pytest.mark.parametrize(("excluded", "options", "expected"), [
    (["operation"], "", [(1, "Ana", "Cusco", 5)]),
    (["operation", "sequenceNum"], "", [(1, "Ana", "Cusco")]),
    (["operation", "sequenceNum"], 'stored_as_scd_type = "2"', [(1, "Ana", "Cusco", 5, None), (2, "Bo", "Rio", 1, 4)]),
], ids=["incremental", "change_log", "scd_type_2"])  # fmt: skip
def test_changes_of_a_key_sharing_a_sequence_value_give_one_table_whatever_their_order(
        spark, settings, store, tmp_path, excluded, options, expected):
    """Databricks requires "one distinct update per key at each sequencing value" but neither checks it nor says
    which change wins (https://docs.databricks.com/aws/en/ldp/cdc); here a delete wins a tie, else the row whose
    stored values sort first, so the same feed in any order or partitioning gives the same table. SCD type 2 keeps
    only the winner: one version per sequence value, and key 2's delete closes Rio instead of opening Natal."""
    body = FLOW.format(options=options).replace('["operation", "sequenceNum"]', repr(excluded))
    tables = set()
    for order, rows in enumerate([TIED, TIED[::-1], TIED[2:] + TIED[:2]]):
        pipeline = pipeline_of(settings, write_files(tmp_path / f"src{order}", {"cdc.py": body}))
        store.overwrite(raw(spark, rows, USERS).repartition(len(rows) - order), "raw")
        assert run(spark, settings, pipeline, full_refresh=True).ok
        tables.add(tuple(sorted((tuple(r) for r in store.read("target").collect()), key=repr)))
    assert tables == {tuple(sorted(expected, key=repr))}
