"""Running one flow (lakehouse/local/dlt_runtime/execution.py): what each flow reports, the hidden columns of a
streaming source, new source columns, views over sources, and the one-line failure message."""

from __future__ import annotations

from datetime import datetime

import pytest

from lakehouse.local.dlt_runtime import event_log_table, register_streaming_source
from lakehouse.local.dlt_runtime.execution import failure_message
from tests.test_dlt_runtime import pipeline_of, run, write_files

END = ("COMPLETED", "FAILED")


def flow_windows(spark, store, pipeline: str, update_id: str) -> dict[str, tuple[datetime, datetime]]:
    """Each flow that ran: the timestamps of its RUNNING event and of its end event in the event log."""
    rows = spark.sql(
        f"SELECT origin.flow_name AS flow, timestamp, get_json_object(details, '$.flow_progress.status') AS status "
        f"FROM {store.name(event_log_table(pipeline))} "
        f"WHERE event_type = 'flow_progress' AND origin.update_id = '{update_id}'"
    ).collect()
    running = {r.flow: r.timestamp for r in rows if r.status == "RUNNING"}
    return {r.flow: (running[r.flow], r.timestamp) for r in rows if r.status in END}


EVERY_ROUTE = """
    from pyspark import pipelines as dp

    @dp.view(name="source")
    def source():
        return spark.read.table(spark.conf.get("test.raw"))

    dp.create_streaming_table("snapshotted")
    dp.create_auto_cdc_from_snapshot_flow(target="snapshotted", source="source", keys=["id"], stored_as_scd_type=1)

    @dp.materialized_view
    def recomputed():
        return spark.read.table("source")

    @dp.table
    def appended():
        return spark.readStream.table(spark.conf.get("test.raw"))
"""


def test_each_flows_duration_lies_within_its_running_and_end_events(spark, settings, store, tmp_path):
    """A flow's duration_s is the time it ran: not negative, and (being measured between the flow's RUNNING event
    and its end event) never more than the time between those two events in the event log. Checked on every route:
    a snapshot flow, a view, a materialized view and a streaming table."""
    store.overwrite(spark.createDataFrame([(1, "a"), (2, "b")], "id int, city string"), "raw")
    result = run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", {"p.py": EVERY_ROUTE})))
    assert result.ok, result.error
    windows = flow_windows(spark, store, "p", result.update_id)
    assert sorted(windows) == sorted(result.flows) == ["appended", "recomputed", "snapshotted", "source"]
    for name, (running, ended) in windows.items():
        # Slack: 1 ms (the event timestamps have microseconds, the monotonic clock is finer) plus 0.1% of the interval,
        # as the events' wall clock may be slewed by NTP (at most 500 ppm) while the monotonic clock is not.
        interval = (ended - running).total_seconds()
        assert 0 <= result.flows[name].duration_s <= interval * 1.001 + 0.001, name


def test_a_streaming_sources_hidden_columns_never_reach_the_table_unless_selected(spark, settings, store, tmp_path):
    """Like Auto Loader's `_metadata`: `select("*")` leaves a hidden column out, a field selected from it stays."""
    register_streaming_source("tagged_feed", lambda request: (
        spark.createDataFrame([(1, ("north",))], "id int, _meta struct<origin: string>"), lambda: None),
        hidden_columns=("_meta",))
    files = {"p.py": """
        from pyspark import pipelines as dp
        from pyspark.sql import functions as F
        from lakehouse.local.dlt_runtime import read_streaming_source

        @dp.table
        def everything():
            return read_streaming_source("tagged_feed").select("*")

        @dp.table
        def with_origin():
            return read_streaming_source("tagged_feed").select("id", F.col("_meta.origin").alias("origin"))
    """}  # fmt: skip
    assert run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", files))).ok
    assert store.read("everything").columns == ["id"]
    assert [tuple(r) for r in store.read("with_origin").collect()] == [(1, "north")]


def feed_of(spark, batches: list[tuple[str, list[tuple]]]):
    """A streaming source delivering `batches` (schema, rows) one per update, each committed once written."""
    committed: list[int] = []

    def source(request):
        schema, rows = batches[len(committed)]
        return spark.createDataFrame(rows, schema), lambda: committed.append(len(rows))

    return source, committed


def test_a_streaming_sources_new_column_is_added_to_its_table(spark, settings, store, tmp_path):
    """As Databricks evolves a streaming table when Auto Loader brings a new column (addNewColumns): the column is
    added at the table's end, null in the rows written before."""
    source, committed = feed_of(spark, [("id int", [(1,)]), ("id int, note string", [(2, "new")])])
    register_streaming_source("growing_feed", source)
    files = {"p.py": """
        import dlt
        from lakehouse.local.dlt_runtime import read_streaming_source

        @dlt.table
        def landed():
            return read_streaming_source("growing_feed")
    """}  # fmt: skip
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", files))
    assert run(spark, settings, pipeline).ok
    second = run(spark, settings, pipeline)
    assert second.ok, second.error
    assert committed == [1, 1]
    assert sorted(tuple(r) for r in store.read("landed").collect()) == [(1, None), (2, "new")]


def test_a_streaming_table_reading_a_table_that_gained_a_column_fails_until_a_full_refresh(spark, settings, store,
                                                                                            tmp_path):
    """Only a source's new columns evolve a streaming table: a streaming table reading a pipeline input whose rows
    gained a column is a changed definition, refused with the full-refresh hint (nothing is added behind the
    user's back)."""
    store.overwrite(spark.createDataFrame([(1,)], "id int"), "raw")
    files = {"p.py": """
        import dlt

        @dlt.table
        def copied():
            return spark.readStream.table(spark.conf.get("test.raw"))
    """}  # fmt: skip
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", files))
    assert run(spark, settings, pipeline).ok
    store.append(spark.createDataFrame([(2, "y")], "id int, note string"), "raw", add_columns=True)
    failed = run(spark, settings, pipeline)
    assert failed.datasets["copied"].status == "FAILED"
    assert "unexpected columns ['note']" in failed.error and "run a full refresh of 'copied'" in failed.error
    assert store.read("copied").columns == ["id"]


def test_a_view_over_a_streaming_source_delivers_each_batch_once_to_the_table_reading_it(spark, settings, store,
                                                                                         tmp_path):
    """The view's source is committed once the table reading the view committed; the next update reads only the
    next batch."""
    source, committed = feed_of(spark, [("id int", [(1,), (2,)]), ("id int", [(3,)])])
    register_streaming_source("viewed_feed", source)
    files = {"p.py": """
        from pyspark import pipelines as dp
        from lakehouse.local.dlt_runtime import read_streaming_source

        @dp.temporary_view
        def landed():
            return read_streaming_source("viewed_feed")

        @dp.table
        def ids():
            return spark.readStream.table("landed")
    """}  # fmt: skip
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", files))
    for update, expected in enumerate(([1, 2], [1, 2, 3]), start=1):
        result = run(spark, settings, pipeline)
        assert result.ok, result.error
        assert committed == [2, 1][:update]
        assert sorted(r.id for r in store.read("ids").collect()) == expected


def test_a_view_over_a_source_and_a_table_stream_delivers_the_sources_rows_when_the_table_has_none(
        spark, settings, store, tmp_path):
    """A streaming table's append is labelled with what it read (for a retry after a crash to be skipped) only when
    everything it read has positions: through a view that also reads a source, it is not, or an update whose table
    stream brought nothing new would look like the previous one and the source's new rows would be skipped."""
    source, committed = feed_of(spark, [("id int", [(1,)]), ("id int", [(2,)])])
    register_streaming_source("mixed_feed", source)
    store.overwrite(spark.createDataFrame([(10,)], "id int"), "raw")
    files = {"p.py": """
        from pyspark import pipelines as dp
        from lakehouse.local.dlt_runtime import read_streaming_source

        @dp.temporary_view
        def merged():
            return read_streaming_source("mixed_feed").unionByName(spark.readStream.table(spark.conf.get("test.raw")))

        @dp.table
        def all_ids():
            return spark.readStream.table("merged")
    """}  # fmt: skip
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", files))
    for expected in ([1, 10], [1, 2, 10]):
        result = run(spark, settings, pipeline)
        assert result.ok, result.error
        assert sorted(r.id for r in store.read("all_ids").collect()) == expected
    assert committed == [1, 1]


def test_a_snapshot_flow_reads_a_table_source_whole_each_update(spark, settings, store, tmp_path):
    """A snapshot source is read as a batch (the whole table as it is now), never as a stream of its appends: a
    source table replaced between updates is diffed against the target."""
    files = {"p.py": """
        from pyspark import pipelines as dp

        dp.create_streaming_table("cities")
        dp.create_auto_cdc_from_snapshot_flow(target="cities", source=spark.conf.get("test.raw"), keys=["id"],
                                              stored_as_scd_type=1)
    """}  # fmt: skip
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", files))
    for snapshot in ([(1, "a"), (2, "b")], [(2, "c"), (3, "d")]):
        store.overwrite(spark.createDataFrame(snapshot, "id int, city string"), "raw")
        result = run(spark, settings, pipeline)
        assert result.ok, result.error
        assert sorted(tuple(r) for r in store.read("cities").collect()) == snapshot


@pytest.mark.parametrize(("exc", "message"), [
    (ValueError("bad input\n  at line 2\n  at line 3"), "ValueError: bad input"),  # the first line only
    (RuntimeError("\n  padded  \n"), "RuntimeError: padded"),
    (KeyError(), "KeyError: "),
    (ValueError("x" * 1500), "ValueError: " + "x" * 1000),  # at most 1000 characters of it
])
def test_a_failure_is_one_readable_line_for_results_and_the_event_log(exc, message):
    assert failure_message(exc) == message
