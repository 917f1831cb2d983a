"""Engine parity: transformations agree on Sail and classic Spark; differences are reported precisely."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil

import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.core.errors import EngineError
from lakehouse.local.parity import ParityCase, ParityResult, assert_parity, compare_tables, run_parity

TRANSACTIONS = pd.DataFrame(
    {
        "customer_id": [1, 1, 1, 1, 2, 2, 3, 3, 3],
        "ts": pd.to_datetime(
            ["2026-01-01 10:00", "2026-01-01 18:30", "2026-01-03 09:00", "2026-01-09 12:00", "2026-01-02 08:00",
             "2026-01-02 23:59", "2026-01-05 00:00", "2026-01-06 00:01", "2026-01-20 15:00"]
        ),
        "amount": [10.5, 2.25, None, 7.0, 100.0, 0.1, 3.3, 3.3, 1e6],
        "channel": ["web", "app", "web", None, "app", "app", "web", "web", "store"],
    }
)
TRANSACTIONS_DDL = "customer_id bigint, ts timestamp, amount double, channel string"
CUSTOMERS = pa.table(
    {"customer_id": pa.array([1, 2, 4], pa.int64()), "segment": ["gold", None, "silver"],
     "signup": pa.array([dt.date(2025, 12, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)])}
)


def daily_spend_features(transactions: DataFrame, horizon_days: int) -> DataFrame:
    """Daily aggregate, then a trailing 7-day window, a running rank and date arithmetic."""
    daily = (
        transactions.withColumn("day", F.to_date("ts"))
        .groupBy("customer_id", "day")
        .agg(F.sum("amount").alias("spend"), F.count("*").alias("n"), F.count_distinct("channel").alias("channels"))
    )
    by_day = Window.partitionBy("customer_id").orderBy("day")
    trailing = Window.partitionBy("customer_id").orderBy(F.unix_date("day")).rangeBetween(-6, 0)
    return daily.select(
        "customer_id", "day", "spend", "n", "channels",
        F.sum("spend").over(trailing).alias("spend_7d"),
        F.row_number().over(by_day).alias("day_rank"),
        F.datediff("day", F.lag("day").over(by_day)).cast("int").alias("gap_days"),  # see days_since_signup
        F.date_add("day", horizon_days).alias("label_day"),
        F.round(F.avg("n").over(by_day), 3).alias("avg_n_to_date"),
    )


def customer_activity(transactions: DataFrame, customers: DataFrame) -> DataFrame:
    """A left join with a null-safe default and days since signup."""
    return (
        customers.join(transactions, "customer_id", "left")
        .groupBy("customer_id", "segment", "signup")
        .agg(F.max("ts").alias("last_ts"), F.coalesce(F.sum("amount"), F.lit(0.0)).alias("total"))
        .select(
            "customer_id", F.coalesce("segment", F.lit("unknown")).alias("segment"), "total",
            F.datediff(F.to_date("last_ts"), "signup").cast("int").alias("days_active"),
        )
    )


def days_since_signup(customers: DataFrame) -> DataFrame:
    """Known difference (Sail 0.7.2): datediff is bigint on Sail, int on Spark; pipelines cast it."""
    return customers.select("customer_id", F.datediff(F.lit(dt.date(2026, 2, 1)), "signup").alias("days"))


def with_unseeded_noise(transactions: DataFrame) -> DataFrame:
    """Deliberately nondeterministic: rand() without a seed differs from run to run."""
    return transactions.select("customer_id", "ts", F.rand().alias("noise"))


def fails_everywhere(transactions: DataFrame) -> DataFrame:
    """Refers to a column that does not exist: both engines must reject it."""
    return transactions.select("no_such_column")


CASES = [
    ParityCase(daily_spend_features, {"transactions": TRANSACTIONS}, {"transactions": TRANSACTIONS_DDL},
               kwargs={"horizon_days": 30}, sort_by=["customer_id", "day"]),
    ParityCase(customer_activity, {"transactions": TRANSACTIONS, "customers": CUSTOMERS},
               {"transactions": TRANSACTIONS_DDL}, sort_by=["customer_id"]),
    ParityCase(days_since_signup, {"customers": CUSTOMERS}, sort_by=["customer_id"]),
    ParityCase(with_unseeded_noise, {"transactions": TRANSACTIONS}, {"transactions": TRANSACTIONS_DDL},
               sort_by=["customer_id", "ts"]),
    ParityCase(fails_everywhere, {"transactions": TRANSACTIONS}),
]


@pytest.fixture(scope="module")
def results() -> dict[str, ParityResult]:
    """All cases in one run: one Sail and one classic subprocess for the whole module."""
    return {r.name.rsplit(".", 1)[-1]: r for r in run_parity(CASES, timeout=300)}


@pytest.mark.classic
def test_window_and_date_arithmetic_agree(results):
    result = results["daily_spend_features"]
    assert result.ok, str(result)
    assert result.rows == {"sail": 7, "classic": 7}


@pytest.mark.classic
def test_join_agrees(results):
    result = results["customer_activity"]
    assert result.ok, str(result)
    assert result.rows == {"sail": 3, "classic": 3}


@pytest.mark.classic
def test_an_engine_type_difference_is_reported(results):
    result = results["days_since_signup"]
    assert result.differences == ("column 'days' type differs: int64 on sail, int32 on classic",), str(result)


@pytest.mark.classic
def test_nondeterministic_function_is_reported_with_rows(results):
    result = results["with_unseeded_noise"]
    assert not result.ok
    report = str(result)
    assert "9 of 9 sorted rows differ" in report
    assert "row 0 {'customer_id': 1, 'ts': datetime.datetime(2026, 1, 1, 10, 0, tzinfo=" in report
    assert "'noise' is 0." in report


@pytest.mark.classic
def test_failure_on_an_engine_is_reported(results):
    report = str(results["fails_everywhere"])
    assert "failed on sail:" in report and "failed on classic:" in report
    assert "no_such_column" in report


@pytest.mark.classic
def test_assert_parity_raises_with_the_differences(results, monkeypatch):
    # Reuse the module's run: classic Spark starts once per test file.
    monkeypatch.setattr("lakehouse.local.parity.run_parity", lambda cases, engines, timeout: list(results.values()))
    expected = r"(?s)engine parity failed for 3 of 5 cases:.*days.*noise.*no_such_column"
    with pytest.raises(AssertionError, match=expected):
        assert_parity(CASES)


def test_type_difference_is_reported():
    a = pa.table({"id": pa.array([1, 2], pa.int64()), "x": [1.0, 2.0]})
    b = pa.table({"id": pa.array([1, 2], pa.int32()), "x": [1.0, 2.0 + 1e-12]})
    assert compare_tables({"sail": a, "classic": b}) == ["column 'id' type differs: int64 on sail, int32 on classic"]


def test_value_column_and_row_count_differences_are_reported():
    a = pa.table({"id": [1, 2, 3], "x": [1.0, 2.0, None], "y": ["a", "b", "c"]})
    b = pa.table({"y": ["b", "a"], "id": [2, 1], "x": [2.5, 1.0]})
    diffs = compare_tables({"sail": a, "classic": b}, sort_by=["id"], tolerance=0.1)
    assert diffs[0] == "column order differs: sail ['id', 'x', 'y'], classic ['y', 'id', 'x']"
    assert "row count differs: 3 on sail, 2 on classic" in diffs
    assert "row 1 {'id': 2}: 'x' is 2.0 on sail, 2.5 on classic" in diffs


def test_nullability_and_list_item_names_are_not_differences():
    a = pa.table({"l": pa.array([[1]], pa.list_(pa.field("element", pa.int64(), nullable=False)))})
    b = pa.table({"l": pa.array([[1]], pa.list_(pa.int64()))})
    assert compare_tables({"sail": a, "classic": b}) == []


def _closure():
    def inner(df):
        return df

    return inner


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (lambda df: df, "is a lambda"),
        (_closure(), "defined inside a function"),
        (functools.partial(customer_activity), "not a plain function"),
    ],
)
def test_function_must_be_importable_by_reference(func, message):
    with pytest.raises(ValueError, match=message):
        ParityCase(func, {"df": TRANSACTIONS})


def test_missing_java_is_an_engine_error(monkeypatch, tmp_path):
    (tmp_path / "bin").mkdir()
    for tool in ("bash", "sh", "env"):  # a PATH with no java on it
        os.symlink(shutil.which(tool), tmp_path / "bin" / tool)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(EngineError, match="parity engine classic could not start: .*needs Java 17"):
        run_parity([CASES[-1]], timeout=120)
