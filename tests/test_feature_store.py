"""Local feature store: tables with metadata, merge writes, training sets, refusals that write nothing, scoring."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from lakehouse.app.feature_store_cli import describe_table
from lakehouse.local.feature_store import LocalFeatureStore
from ml.feature_store import (
    DuplicateKeyError,
    FeatureLookup,
    FeatureNotFound,
    FeatureStoreError,
    FeatureTableNotFound,
    LookupKeyError,
)

D = date.fromisoformat
DAILY = [("C1", D("2026-01-01"), 1.0, 10), ("C1", D("2026-01-02"), 2.0, 20), ("C2", D("2026-01-01"), 5.0, 50)]
WEEKLY = [("C1", D("2025-12-29"), 100.0), ("C1", D("2026-01-05"), 200.0)]


@pytest.fixture
def fs(spark, settings):
    store = LocalFeatureStore(spark, settings)
    store.create_table(
        name="daily", primary_keys=["customer_id", "feature_date"], timeseries_column="feature_date",
        df=spark.createDataFrame(DAILY, "customer_id string, feature_date date, spend double, txns bigint"),
        description="daily activity", features={"spend": "amount spent that day", "txns": "transactions that day"},
    )
    store.create_table(
        name="weekly", primary_keys=["customer_id", "week"], timeseries_column="week",
        df=spark.createDataFrame(WEEKLY, "customer_id string, week date, score double"),
    )
    store.create_table(name="profile", primary_keys="customer_id",
                       df=spark.createDataFrame([("C1", "gold"), ("C2", "basic")], "customer_id string, tier string"))
    return store


def _spine(spark, rows, schema="customer_id string, as_of_date date, label int"):
    return spark.createDataFrame(rows, schema)


def test_metadata_is_kept_and_described(fs, settings):
    table = fs.get_table(name="daily")
    assert (table.name, table.primary_keys, table.timeseries_column) == (
        settings.table("daily"), ("customer_id", "feature_date"), "feature_date")
    assert table.entity_keys == ("customer_id",)
    assert table.features["spend"] == "amount spent that day"
    version = fs.store.version("daily")
    assert fs.register_table(table) == table  # checks what the table declares, writes nothing
    assert fs.store.version("daily") == version
    rendered = describe_table(fs, "daily")
    assert rendered.title == settings.table("daily") and rendered.caption == "daily activity"
    assert rendered.row_count == 4


def test_training_set_joins_tables_on_different_cadences(spark, fs):
    spine = _spine(spark, [("C1", D("2026-01-01"), 0), ("C1", D("2026-01-04"), 1), ("C1", D("2026-01-05"), 1),
                           ("C2", D("2025-12-30"), 0), ("C3", D("2026-01-02"), 1)])
    training_set = fs.create_training_set(
        df=spine, label="label", exclude_columns=["label"],
        feature_lookups=[
            FeatureLookup(table_name="daily", lookup_key="customer_id", timestamp_lookup_key="as_of_date",
                          feature_names=["spend"], rename_outputs={"spend": "daily_spend"}, default_values={"daily_spend": 0.0}),
            FeatureLookup(table_name="weekly", lookup_key="customer_id", timestamp_lookup_key="as_of_date",
                          lookback_window=timedelta(days=7)),
            FeatureLookup(table_name="profile", lookup_key="customer_id"),
        ],
    )
    df = training_set.load_df()
    assert df.columns == ["customer_id", "as_of_date", "daily_spend", "score", "tier"]
    got = {(r.customer_id, r.as_of_date.isoformat()): (r.daily_spend, r.score, r.tier) for r in df.collect()}
    assert got == {
        ("C1", "2026-01-01"): (1.0, 100.0, "gold"),
        ("C1", "2026-01-04"): (2.0, 100.0, "gold"),  # weekly row of 12-29 is 6 days old
        ("C1", "2026-01-05"): (2.0, 200.0, "gold"),
        ("C2", "2025-12-30"): (0.0, None, "basic"),  # before C2's first daily row: the default
        ("C3", "2026-01-02"): (0.0, None, None),
    }
    assert training_set.feature_columns == ["daily_spend", "score", "tier"]
    assert [lk["table"].split(".")[-1] for lk in training_set.feature_spec["lookups"]] == ["daily", "weekly", "profile"]


def test_training_set_honours_the_lookback_window(spark, fs):
    """A feature row older than the lookback window is not served: null (or the lookup's default)."""
    spine = _spine(spark, [("C1", D("2026-01-12"), 0), ("C1", D("2026-01-13"), 1), ("C1", D("2026-01-02"), 1),
                           ("C1", D("2026-01-03"), 0)])
    training_set = fs.create_training_set(df=spine, label="label", feature_lookups=[
        FeatureLookup(table_name="weekly", lookup_key="customer_id", timestamp_lookup_key="as_of_date",
                      lookback_window=timedelta(days=7)),
        FeatureLookup(table_name="daily", lookup_key="customer_id", timestamp_lookup_key="as_of_date",
                      feature_names=["spend"], lookback_window=timedelta(0), default_values={"spend": -1.0}),
    ])
    got = {r.as_of_date.isoformat(): (r.score, r.spend) for r in training_set.load_df().collect()}
    assert got == {
        "2026-01-12": (200.0, -1.0),  # weekly row of 01-05 exactly 7 days old: inside (inclusive)
        "2026-01-13": (None, -1.0),  # 8 days old: expired, null
        "2026-01-02": (100.0, 2.0),  # daily row of that very day: a zero window keeps exact matches
        "2026-01-03": (100.0, -1.0),  # daily row of the day before: expired, the default
    }
    spec = [lookup["lookback_seconds"] for lookup in training_set.feature_spec["lookups"]]
    assert spec == [7 * 86400, 0]  # what a logged model carries to score_batch


def test_features_the_frame_already_has_are_not_looked_up_and_later_lookups_still_are(spark, fs):
    spine = spark.createDataFrame([("C1", D("2026-01-05"), 7.0)], "customer_id string, as_of_date date, score double")
    training_set = fs.create_training_set(df=spine, label=None, feature_lookups=[
        FeatureLookup(table_name="weekly", lookup_key="customer_id", timestamp_lookup_key="as_of_date"),
        FeatureLookup(table_name="profile", lookup_key="customer_id"),
    ])
    assert [tuple(r) for r in training_set.load_df().collect()] == [("C1", D("2026-01-05"), 7.0, "gold")]


def test_training_set_reads_the_versions_it_was_created_at(spark, fs):
    lookup = FeatureLookup(table_name="daily", lookup_key="customer_id", timestamp_lookup_key="as_of_date")
    training_set = fs.create_training_set(df=_spine(spark, [("C1", D("2026-01-02"), 1)]), feature_lookups=[lookup], label="label")
    fs.write_table(name="daily", df=spark.createDataFrame([("C1", D("2026-01-02"), 9.0, 90)],
                                                          "customer_id string, feature_date date, spend double, txns bigint"))
    assert training_set.load_df().first().spend == 2.0
    assert fs.read_table(name="daily").where("customer_id = 'C1' AND feature_date = '2026-01-02'").first().spend == 9.0


SPINE = ("C1", D("2026-01-02"), 1)
INT_KEYS = ((1, D("2026-01-02"), 1), "customer_id int, as_of_date date, label int")
TIMESTAMPS = (("C1", datetime(2026, 1, 2, 12), 1), "customer_id string, as_of_date timestamp, label int")


@pytest.mark.parametrize("lookup, spine, error, message", [
    (dict(table_name="nope", lookup_key="customer_id"), None, FeatureTableNotFound, "is not a feature table"),
    (dict(table_name="daily", lookup_key="customer_id", timestamp_lookup_key="as_of_date", feature_names=["spend", "tenure"]),
     None, FeatureNotFound, "no feature(s) ['tenure']"),
    (dict(table_name="daily", lookup_key="customer_id", timestamp_lookup_key="as_of_date"), INT_KEYS, LookupKeyError,
     "is int, the table's is string"),
    (dict(table_name="daily", lookup_key="customer_id", timestamp_lookup_key="event_date"), None, LookupKeyError,
     "no column 'event_date'"),
    (dict(table_name="daily", lookup_key="customer_id", timestamp_lookup_key="as_of_date"), TIMESTAMPS, LookupKeyError,
     "as_of_date()"),
    (dict(table_name="daily", lookup_key="customer_id"), None, LookupKeyError, "needs timestamp_lookup_key"),
    (dict(table_name="profile", lookup_key="customer_id", timestamp_lookup_key="as_of_date"), None, LookupKeyError,
     "has no timeseries column"),
])  # fmt: skip
def test_bad_lookups_are_refused_with_a_clear_error(spark, fs, lookup, spine, error, message):
    row, schema = spine or (SPINE, "customer_id string, as_of_date date, label int")
    with pytest.raises(error) as caught:
        fs.create_training_set(df=_spine(spark, [row], schema), feature_lookups=[FeatureLookup(**lookup)], label="label")
    assert message in str(caught.value)


@pytest.mark.parametrize("rows, schema, error, message", [
    ([("C1", D("2026-01-03"), 1.0, 1), ("C1", D("2026-01-03"), 2.0, 2)], None, DuplicateKeyError, "not unique"),
    ([(None, D("2026-01-03"), 1.0, 1)], None, FeatureStoreError, "null primary key"),
    ([(1, D("2026-01-03"), 1.0, 1)], "customer_id int, feature_date date, spend double, txns bigint", LookupKeyError,
     "customer_id is int not string"),
    ([("C1", 1.0, 1)], "customer_id string, spend double, txns bigint", LookupKeyError, "lacks primary key"),
])  # fmt: skip
def test_bad_writes_are_refused_and_write_nothing(spark, fs, rows, schema, error, message):
    version = fs.store.version("daily")
    df = spark.createDataFrame(rows, schema or "customer_id string, feature_date date, spend double, txns bigint")
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        fs.write_table(name="daily", df=df)
    assert fs.store.version("daily") == version and fs.read_table(name="daily").count() == len(DAILY)


def test_merge_write_upserts_and_create_refuses_duplicates(spark, fs):
    fs.write_table(name="profile", df=spark.createDataFrame([("C2", "gold"), ("C3", "basic")], "customer_id string, tier string"))
    assert sorted(tuple(r) for r in fs.read_table(name="profile").collect()) == [("C1", "gold"), ("C2", "gold"), ("C3", "basic")]
    with pytest.raises(FeatureStoreError, match="only 'merge'"):
        fs.write_table(name="profile", df=fs.read_table(name="profile"), mode="overwrite")
    with pytest.raises(DuplicateKeyError):
        fs.create_table(name="dups", primary_keys="k", df=spark.createDataFrame([(1,), (1,)], "k int"))
    assert not fs.store.exists("dups")
