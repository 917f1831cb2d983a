"""SQLite online store: publish and read back with the offline types, daily upserts, idempotent re-publish; and
what the publish_features task reports when it publishes to a Databricks online store."""

from __future__ import annotations

import sqlite3
from datetime import date
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest

from lakehouse import tasks
from lakehouse.core.settings import Settings
from lakehouse.local.feature_store import LocalFeatureStore, online_store_path
from ml.feature_store import FeatureStoreError, FeatureTableNotFound
from ml.feature_store.online import OnlineStore

D = date.fromisoformat
SCHEMA = "customer_id string, as_of_date date, plan string, tenure int, txns bigint, spend double, vip boolean"
ROWS = [("C1", D("2026-01-10"), "basic", 10, 3, 12.5, True), ("C2", D("2026-01-10"), None, 20, 0, None, False)]


@pytest.fixture
def fs(spark, settings):
    store = LocalFeatureStore(spark, settings)
    store.create_table(name="mrds", primary_keys="customer_id", df=spark.createDataFrame(ROWS, SCHEMA))
    return store


def _dump(settings) -> list:
    """The online store's content, without the publish time (a re-publish is meant to update it)."""
    with sqlite3.connect(online_store_path(settings)) as connection:
        published = connection.execute("SELECT name, keys, timeseries, schema FROM _online_tables ORDER BY name").fetchall()
        data = [line for line in connection.iterdump() if not line.startswith('INSERT INTO "_online_tables"')]
    return [published, data]


def test_round_trip_keeps_values_and_types(fs):
    assert fs.publish_table(name="mrds") == 2
    got = fs.read_online(name="mrds", keys=pd.DataFrame({"customer_id": ["C2", "C9", "C1"]}))
    assert list(got.customer_id) == ["C2", "C9", "C1"]
    assert got.iloc[2].to_dict() == {"customer_id": "C1", "as_of_date": D("2026-01-10"), "plan": "basic", "tenure": 10,
                                     "txns": 3, "spend": 12.5, "vip": True}
    assert got.iloc[0].plan is None and pd.isna(got.iloc[0].spend) and got.iloc[0].vip == False  # noqa: E712
    assert got.iloc[1][1:].isna().all()  # unknown key: a row of nulls


def test_republish_is_idempotent_and_daily_upserts_merge(spark, fs, settings):
    fs.publish_table(name="mrds")
    before = _dump(settings)
    fs.publish_table(name="mrds")
    assert _dump(settings) == before
    fs.write_table(name="mrds", df=spark.createDataFrame(
        [("C2", D("2026-01-11"), "premium", 21, 4, 9.0, False), ("C3", D("2026-01-11"), "basic", 1, 1, 1.0, False)], SCHEMA))
    fs.publish_table(name="mrds")
    got = fs.read_online(name="mrds", keys=pd.DataFrame({"customer_id": ["C1", "C2", "C3"]})).set_index("customer_id")
    assert got.plan.to_dict() == {"C1": "basic", "C2": "premium", "C3": "basic"}
    assert got.as_of_date.to_dict() == {"C1": D("2026-01-10"), "C2": D("2026-01-11"), "C3": D("2026-01-11")}


def test_time_series_tables_publish_the_latest_row_and_never_go_back(spark, fs, settings):
    rows = [("C1", D("2026-01-01"), 1.0), ("C1", D("2026-01-02"), 2.0), ("C2", D("2026-01-01"), 5.0)]
    fs.create_table(name="daily", primary_keys=["customer_id", "feature_date"], timeseries_column="feature_date",
                    df=spark.createDataFrame(rows, "customer_id string, feature_date date, spend double"))
    assert fs.publish_table(name="daily") == 2
    keys = pd.DataFrame({"customer_id": ["C1", "C2"]})
    assert fs.read_online(name="daily", keys=keys).spend.tolist() == [2.0, 5.0]
    online = OnlineStore(online_store_path(settings))
    old = pa.table({"customer_id": ["C1", "C2"], "feature_date": pa.array([D("2026-01-01"), D("2026-01-03")]),
                    "spend": [1.0, 6.0]})
    online.publish(settings.table("daily"), old, ["customer_id"], "feature_date")
    assert fs.read_online(name="daily", keys=keys).spend.tolist() == [2.0, 6.0]


def test_a_new_schema_replaces_the_online_table(tmp_path):
    online = OnlineStore(tmp_path / "online.sqlite")
    online.publish("t", pa.table({"k": ["a"], "x": [1]}), ["k"])
    online.publish("t", pa.table({"k": ["b"], "x": [2], "y": ["new"]}), ["k"])
    got = online.read("t", pd.DataFrame({"k": ["a", "b"]}))
    assert got.x.isna().tolist() == [True, False] and got.y[1] == "new"  # "a" went with the old table


def test_unpublished_or_unknown_tables_are_refused(fs):
    with pytest.raises(FeatureTableNotFound, match="has not been published"):
        fs.read_online(name="mrds", keys=pd.DataFrame({"customer_id": ["C1"]}))
    with pytest.raises(FeatureTableNotFound):
        fs.publish_table(name="nope")


class OnlineStoreService:
    """Stands in for databricks-feature-engineering's FeatureEngineeringClient, as there is no workspace here:
    records the calls and answers publish_table as the 0.18.2 client does, with a PublishedTable."""

    stores = {"churn-online-store"}

    def __init__(self) -> None:
        self.published: list[dict] = []
        OnlineStoreService.last = self

    def get_online_store(self, *, name: str):
        return SimpleNamespace(name=name) if name in self.stores else None

    def publish_table(self, **kwargs):
        from databricks.ml_features.entities.published_table import PublishedTable

        self.published.append(kwargs)
        return PublishedTable(online_table_name=kwargs["online_table_name"], pipeline_id="0123-sync-pipeline")


def test_on_databricks_the_task_reports_the_online_table_and_its_sync_pipeline(spark, monkeypatch):
    import databricks.feature_engineering

    monkeypatch.setattr(databricks.feature_engineering, "FeatureEngineeringClient", OnlineStoreService)
    databricks_settings = Settings(engine="databricks", catalog="churn_prod", schema_name="churn")
    values = tasks.publish_features(spark, databricks_settings, D("2026-01-10"))
    assert values == {"online_table": "churn_prod.churn.mrds_online", "sync_pipeline_id": "0123-sync-pipeline"}
    [call] = OnlineStoreService.last.published
    assert call["source_table_name"] == "churn_prod.churn.mrds" and call["online_store"].name == "churn-online-store"
    assert call["publish_mode"] == "TRIGGERED"  # explicit: the mode the MRDS's Change Data Feed is declared for

    monkeypatch.setattr(OnlineStoreService, "stores", set())
    with pytest.raises(FeatureStoreError, match="online store 'churn-online-store' does not exist"):
        tasks.publish_features(spark, databricks_settings, D("2026-01-10"))
