"""Point-in-time join: the boundary rule, edge cases, and agreement with pandas merge_asof on random data."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from ml.feature_store.pit import as_of_date, point_in_time_join

D = date.fromisoformat

FEATURES = [
    ("C1", D("2026-01-01"), 1.0),
    ("C1", D("2026-01-03"), 3.0),  # gap on 01-02
    ("C1", D("2026-01-04"), 4.0),
    ("C2", D("2026-01-05"), 5.0),  # C2's history starts on 01-05
]


@pytest.fixture
def table(spark):
    return spark.createDataFrame(FEATURES, "customer_id string, feature_date date, value double")


def _join(spark, table, spine_rows, lookback=None, spine_schema="id int, customer_id string, as_of_date date"):
    spine = spark.createDataFrame(spine_rows, spine_schema)
    out = point_in_time_join(spine, table, keys=["customer_id"], as_of="as_of_date", table_keys=["customer_id"],
                             timeseries_column="feature_date", features={"value": "value"}, lookback=lookback)
    return {r["id"]: r["value"] for r in out.collect()}


def test_latest_row_at_or_before_as_of_never_a_later_one(spark, table):
    got = _join(spark, table, [
        (1, "C1", D("2026-01-01")),  # equal dates match
        (2, "C1", D("2026-01-02")),  # in the gap: the row before it
        (3, "C1", D("2026-01-04")),
        (4, "C1", D("2026-02-01")),  # long after: still the latest
        (5, "C1", D("2025-12-31")),  # before the first row: nothing
        (6, "C2", D("2026-01-04")),  # a later row exists but is never used
        (7, "C9", D("2026-01-04")),  # unknown entity
        (8, None, D("2026-01-04")),  # null key
        (9, "C1", None),  # null as-of
    ])
    assert got == {1: 1.0, 2: 1.0, 3: 4.0, 4: 4.0, 5: None, 6: None, 7: None, 8: None, 9: None}


def test_lookback_window_is_inclusive_and_expires(spark, table):
    rows = [(1, "C1", D("2026-01-06")), (2, "C1", D("2026-01-07")), (3, "C1", D("2026-01-04")), (4, "C1", D("2026-01-02"))]
    assert _join(spark, table, rows, lookback=timedelta(days=2)) == {1: 4.0, 2: None, 3: 4.0, 4: 1.0}
    assert _join(spark, table, rows, lookback=timedelta(0)) == {1: None, 2: None, 3: 4.0, 4: None}


def test_spine_rows_and_columns_are_kept_one_for_one(spark, table):
    spine = spark.createDataFrame([(1, "C1", D("2026-01-03"), True)] * 3 + [(2, "C9", D("2026-01-03"), False)],
                                  "id int, customer_id string, as_of_date date, label boolean")
    out = point_in_time_join(spine, table, keys=["customer_id"], as_of="as_of_date", table_keys=["customer_id"],
                             timeseries_column="feature_date", features={"value": "v"})
    assert out.columns == ["id", "customer_id", "as_of_date", "label", "v"]
    assert sorted((r.id, r.v) for r in out.collect()) == [(1, 3.0), (1, 3.0), (1, 3.0), (2, None)]


def test_timestamp_instants_use_the_last_complete_day(spark, table):
    """The ARDS row for D holds features as of the end of D: usable from D+1 00:00, not during D."""
    spine = spark.createDataFrame(
        [(1, "C1", datetime(2026, 1, 4, 23, 59, 59)), (2, "C1", datetime(2026, 1, 5, 0, 0)), (3, "C1", datetime(2026, 1, 4, 0, 0))],
        "id int, customer_id string, at timestamp",
    ).withColumn("as_of_date", as_of_date("at"))
    out = point_in_time_join(spine, table, keys=["customer_id"], as_of="as_of_date", table_keys=["customer_id"],
                             timeseries_column="feature_date", features={"value": "value"})
    assert {r.id: (r.as_of_date, r.value) for r in out.collect()} == {
        1: (D("2026-01-03"), 3.0), 2: (D("2026-01-04"), 4.0), 3: (D("2026-01-03"), 3.0)}


def test_timestamp_keyed_tables_match_equal_instants(spark):
    table = spark.createDataFrame([("C1", datetime(2026, 1, 1, 12), 1.0), ("C1", datetime(2026, 1, 1, 18), 2.0)],
                                  "customer_id string, ts timestamp, value double")
    spine = spark.createDataFrame([(1, "C1", datetime(2026, 1, 1, 18)), (2, "C1", datetime(2026, 1, 1, 17, 59, 59))],
                                  "id int, customer_id string, at timestamp")
    out = point_in_time_join(spine, table, keys=["customer_id"], as_of="at", table_keys=["customer_id"],
                             timeseries_column="ts", features={"value": "value"}, lookback=timedelta(hours=6))
    assert {r.id: r.value for r in out.collect()} == {1: 2.0, 2: 1.0}


@pytest.mark.parametrize("seed, lookback_days", [(1, None), (2, 3), (3, 0)])
def test_agrees_with_pandas_merge_asof_on_random_data(spark, seed, lookback_days):
    rng = random.Random(seed)
    start = D("2026-01-01")
    rows = [(f"C{c}", start + timedelta(days=d), float(rng.randint(0, 1000)))
            for c in range(40) for d in range(60) if rng.random() < 0.6]
    spine_rows = [(i, f"C{rng.randint(0, 45)}", start + timedelta(days=rng.randint(-5, 70))) for i in range(2000)]
    lookback = None if lookback_days is None else timedelta(days=lookback_days)
    got = _join(spark, spark.createDataFrame(rows, "customer_id string, feature_date date, value double"), spine_rows,
                lookback)

    right = pd.DataFrame(rows, columns=["customer_id", "feature_date", "value"]).astype({"feature_date": "datetime64[ns]"})
    left = pd.DataFrame(spine_rows, columns=["id", "customer_id", "as_of_date"]).astype({"as_of_date": "datetime64[ns]"})
    expected = pd.merge_asof(
        left.sort_values("as_of_date"), right.sort_values("feature_date"), left_on="as_of_date", right_on="feature_date",
        by="customer_id", direction="backward", allow_exact_matches=True,
        tolerance=None if lookback is None else pd.Timedelta(lookback),
    )
    assert got == {int(r.id): (None if pd.isna(r.value) else r.value) for r in expected.itertuples()}
    assert sum(v is not None for v in got.values()) > 500  # the comparison is not vacuous


def test_a_key_with_exact_and_earlier_matches_keeps_each_spine_row_once(spark, table):
    """C1 has spine rows at a table date and between table dates: the exact and the as-of paths must not both
    answer the exact one (a duplicated training row)."""
    spine = spark.createDataFrame([(1, "C1", D("2026-01-03")), (2, "C1", D("2026-01-02")), (3, "C1", D("2026-01-05"))],
                                  "id int, customer_id string, as_of_date date")
    out = point_in_time_join(spine, table, keys=["customer_id"], as_of="as_of_date", table_keys=["customer_id"],
                             timeseries_column="feature_date", features={"value": "value"})
    assert sorted((r.id, r.value) for r in out.collect()) == [(1, 3.0), (2, 1.0), (3, 4.0)]


def test_a_spine_without_a_usable_row_gets_nulls_also_with_a_lookback(spark, table):
    rows = [(1, "C1", None), (2, None, D("2026-01-03"))]
    assert _join(spark, table, rows, lookback=timedelta(days=2)) == {1: None, 2: None}


def test_as_of_date_takes_a_column_expression_as_well_as_a_name(spark):
    from pyspark.sql import functions as F

    frame = spark.createDataFrame([(datetime(2026, 1, 4, 23, 59, 59),)], "at timestamp")
    row = frame.select(as_of_date("at").alias("by_name"), as_of_date(F.col("at") + F.expr("INTERVAL 1 SECOND"))).first()
    assert tuple(row) == (D("2026-01-03"), D("2026-01-04"))
