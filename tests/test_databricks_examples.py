"""Pipelines from Databricks' documentation, run unchanged (tests/databricks_examples/, each file naming the page it
is copied from) on small generated inputs, twice: the second update reads only what arrived since the first. The
tables and the expectation metrics Databricks' documented event-log query returns
(https://docs.databricks.com/aws/en/ldp/monitor-event-logs, "Query data quality from the event log"; locally in its
equivalent form, EXPECTATIONS_QUERY) are computed by hand from the inputs. The runs go through `folder_pipeline`,
what `lakehouse pipeline run --source` runs."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from lakehouse.local.dlt_runtime import UpdateResult, run_update
from lakehouse.local.dlt_runtime.event_log import EXPECTATIONS_QUERY, table_name
from lakehouse.local.pipelines import folder_pipeline

EXAMPLES = Path(__file__).parent / "databricks_examples"


def update(spark, settings, example: str, **configuration: str) -> UpdateResult:
    pipeline = folder_pipeline(settings, [EXAMPLES / example], configuration)
    return run_update(spark, settings, pipeline, console=Console(file=io.StringIO(), width=200))


def expectations(spark, store, example: str, result: UpdateResult) -> set[tuple]:
    query = EXPECTATIONS_QUERY.format(event_log=store.name(table_name(example)), update_id=result.update_id)
    return {(r.dataset, r.expectation, r.passing_records, r.failing_records) for r in spark.sql(query).collect()}


def rows(store, table: str, *columns: str) -> list[tuple]:
    frame = store.read(table)
    return sorted((tuple(r) for r in (frame.select(*columns) if columns else frame).collect()), key=repr)


# -- Auto Loader with expectations: the pipeline tutorial --------------------------------------------------------
def _songs(*songs: tuple) -> str:
    """Tab-separated lines of the tutorial's 20 columns, without a header (as /databricks-datasets/songs has)."""
    lines = []
    for artist_id, name, duration, title, year in songs:
        fields = [artist_id, "", "", "", name, duration, "0.1", "1", "0.5", "-7.5", "r", "", "s", "1.0", "120.0",
                  "4", "1.0", title, year, "1"]
        lines.append("\t".join(str(f) for f in fields))
    return "\n".join(lines) + "\n"


def test_the_pipeline_tutorial_ingests_each_file_once_and_counts_its_expectations(spark, settings, store):
    data = settings.storage_root / "_databricks_datasets" / "songs" / "data-001"
    data.mkdir(parents=True)
    (data / "part-00000").write_text(_songs(("A1", "Alpha", 200.0, "One", 2001), ("A1", "Alpha", 180.0, "Two", 2001),
                                            ("A2", "", 150.0, "Three", 2002), ("A3", "Gamma", 0, "Four", 0)))
    first = update(spark, settings, "songs")
    assert first.ok, first.error
    assert expectations(spark, store, "songs", first) == {
        ("songs_prepared", "valid_artist_name", 3, 1), ("songs_prepared", "valid_title", 4, 0),
        ("songs_prepared", "valid_duration", 3, 1)}  # fmt: skip
    assert rows(store, "top_artists_by_year") == [("Alpha", 2001, 2), (None, 2002, 1)]  # year 0 filtered out

    (data / "part-00001").write_text(_songs(("A2", "Beta", 210.0, "", 2002), ("A1", "Alpha", 190.0, "Five", 2002)))
    second = update(spark, settings, "songs")
    assert second.ok and second.datasets["songs_raw"].rows_written == 2  # only the new file
    assert store.read("songs_raw").count() == 6
    assert expectations(spark, store, "songs", second) == {
        ("songs_prepared", "valid_artist_name", 5, 1), ("songs_prepared", "valid_title", 5, 1),
        ("songs_prepared", "valid_duration", 5, 1)}  # fmt: skip
    assert rows(store, "top_artists_by_year") == [
        ("Alpha", 2001, 2), ("Alpha", 2002, 1), ("Beta", 2002, 1), (None, 2002, 1)]


# -- Auto CDC: the docs' users example, SCD type 1 (with its TRUNCATE row) and SCD type 2 ---------------------------
USERS = "userId int, name string, city string, operation string, sequenceNum int"
INITIAL = [(124, "Raul", "Oaxaca", "INSERT", 1), (123, "Isabel", "Monterrey", "INSERT", 1),
           (125, "Mercedes", "Tijuana", "INSERT", 2), (126, "Lily", "Cancun", "INSERT", 2),
           (123, None, None, "DELETE", 6), (125, "Mercedes", "Guadalajara", "UPDATE", 6)]  # fmt: skip
OUT_OF_ORDER = [(125, "Mercedes", "Mexicali", "UPDATE", 5), (123, "Isabel", "Chihuahua", "UPDATE", 5)]
CDF = "main.cdc_tutorial.users_cdf"


def _cdc_twice(spark, settings, store, example: str, target: str, later: list) -> list[tuple]:
    store.overwrite(spark.createDataFrame(INITIAL, USERS), CDF)
    assert update(spark, settings, example).ok
    store.append(spark.createDataFrame(later, USERS), CDF)
    second = update(spark, settings, example)
    assert second.ok and second.flows[target].rows_in == len(later)  # the change feed's new rows only
    return rows(store, target)


def test_the_cdc_example_as_scd_type_1_with_its_truncate(spark, settings, store):
    later = [*OUT_OF_ORDER, (None, None, None, "TRUNCATE", 3)]
    assert _cdc_twice(spark, settings, store, "cdc_scd1", "users_current", later) == [(125, "Mercedes", "Guadalajara")]


def test_the_cdc_example_as_scd_type_2(spark, settings, store):
    assert _cdc_twice(spark, settings, store, "cdc_scd2", "users_history", OUT_OF_ORDER) == [
        (123, "Isabel", "Chihuahua", 5, 6), (123, "Isabel", "Monterrey", 1, 5), (124, "Raul", "Oaxaca", 1, None),
        (125, "Mercedes", "Guadalajara", 6, None), (125, "Mercedes", "Mexicali", 5, 6),
        (125, "Mercedes", "Tijuana", 2, 5), (126, "Lily", "Cancun", 2, None)]  # fmt: skip


# -- Quarantine with is_quarantined into a temporary (private) table ------------------------------------------------
TRIPS = "trip_distance double, fare_amount double, pickup_zip int, dropoff_zip int"


def test_the_quarantine_pattern_flags_every_row_and_counts_both_rules(spark, settings, store):
    store.overwrite(spark.createDataFrame([(1.0, 5.0, 10001, 10002), (2.0, 7.0, None, 10002),
                                           (3.0, 9.0, 10001, None), (4.0, 11.0, 10003, 10004)], TRIPS),
                    "samples.nyctaxi.trips")  # fmt: skip
    first = update(spark, settings, "quarantine")
    assert first.ok, first.error
    assert expectations(spark, store, "quarantine", first) == {
        ("trips_data_quarantine", "valid_pickup_zip", 3, 1), ("trips_data_quarantine", "valid_dropoff_zip", 3, 1)}
    assert rows(store, "trips_data_quarantine", "trip_distance", "is_quarantined") == [
        (1.0, False), (2.0, True), (3.0, True), (4.0, False)]
    partitions = sorted(p.name for p in store.path("trips_data_quarantine").glob("is_quarantined=*"))
    assert partitions == ["is_quarantined=false", "is_quarantined=true"]  # partitioned by the flag

    store.append(spark.createDataFrame([(5.0, 1.0, None, None), (6.0, 2.0, 10005, 10006)], TRIPS), "samples.nyctaxi.trips")
    second = update(spark, settings, "quarantine")
    assert second.ok and second.datasets["trips_data_quarantine"].rows_written == 2
    assert expectations(spark, store, "quarantine", second) == {
        ("trips_data_quarantine", "valid_pickup_zip", 1, 1), ("trips_data_quarantine", "valid_dropoff_zip", 1, 1)}
    assert store.read("trips_data_quarantine").where("is_quarantined").count() == 3


# -- A validation table with expect_or_fail over a private table ---------------------------------------------------
def test_a_validation_table_fails_the_update_on_a_duplicate_key_and_keeps_its_last_good_rows(spark, settings, store):
    conf = {"examples.orders": store.name("orders")}
    store.overwrite(spark.createDataFrame([(1, 10, 5.0), (2, 20, 6.0), (3, 30, 7.0)], "key int, pk int, amount double"),
                    "orders")
    first = update(spark, settings, "validation", **conf)
    assert first.ok, first.error
    assert expectations(spark, store, "validation", first) == {("report_pk_tests", "unique_pk", 3, 0)}

    store.append(spark.createDataFrame([(4, 30, 8.0)], "key int, pk int, amount double"), "orders")
    second = update(spark, settings, "validation", **conf)
    assert second.state == "FAILED" and second.datasets["report_pk_tests"].status == "FAILED"
    assert "unique_pk" in second.datasets["report_pk_tests"].error
    assert store.read("report").count() == 4  # upstream of the failed check: written
    assert rows(store, "report_pk_tests") == [(10, 1), (20, 1), (30, 1)]  # the failed update left it unchanged
