"""The online pipeline (ARDS -> MRDS): expectations with exact counts, the Change Data Feed the online store's
sync needs, and end to end on a generated world up to the publish_features task's values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from deltalake import DeltaTable

from lakehouse import tasks
from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.dlt_runtime import event_log_table
from lakehouse.local.dlt_runtime.execution import session_conf
from lakehouse.local.dlt_runtime.runner import load_graph
from lakehouse.local.feature_store import LocalFeatureStore
from lakehouse.local.pipelines import local_pipeline, run_pipeline
from ml.feature_store import FeatureLookup, register_project_tables
from ml.feature_store.mrds import AS_OF, REQUIRED
from ml.features.definitions import COMPLETENESS_NAMES, FEATURE_NAMES, FEATURES

D = date.fromisoformat
RUN = D("2026-01-10")
ARDS_SCHEMA = ("customer_id string, feature_date date, " + ", ".join(f"{f.name} {f.dtype}" for f in FEATURES) + ", "
               + ", ".join(f"{name} boolean" for name in COMPLETENESS_NAMES))
UPDATES_SCHEMA = ("customer_id string, signup_date date, plan string, monthly_fee double, region string, "
                  "acquisition_channel string, birth_year int, status string, updated_at timestamp")
VALID = {**{f.name: {"string": {"plan": "basic", "region": "north"}.get(f.name, "web"), "double": 1.0}.get(f.dtype, 1)
            for f in FEATURES}, **dict.fromkeys(COMPLETENESS_NAMES, True)}


def _ards_row(customer: str, day: date, **changes) -> tuple:
    values = {**VALID, **changes}
    return (customer, day, *[values[name] for name in (*FEATURE_NAMES, *COMPLETENESS_NAMES)])


def _customer(customer: str, signup: date) -> tuple:
    return customer, signup, "basic", 9.99, "north", "web", 1980, "active", datetime(2025, 12, 1)


def test_mrds_keeps_fresh_complete_rows_and_counts_what_it_drops(spark, settings, store):
    customers = [_customer(f"C{i}", D("2025-06-01")) for i in range(1, 8)] + [_customer("C8", RUN + timedelta(days=1))]
    ards = [
        _ards_row("C1", RUN - timedelta(days=1)), _ards_row("C1", RUN),  # fresh: kept, the latest row
        _ards_row("C2", RUN - timedelta(days=1)),  # stale
        # C3 has no ARDS row at all
        _ards_row("C4", RUN, plan=None),  # a required feature missing
        _ards_row("C5", RUN, days_since_last_txn=None, avg_amount_30d=None),  # nullable by contract: kept
        _ards_row("C6", RUN, active_days_7d=9, window_complete_90d=False),  # implausible: counted; incomplete: kept
        _ards_row("C7", RUN),  # churned on 01-05: not in the population
        _ards_row("C8", RUN),  # signed up after the run date: not in the population
    ]
    store.overwrite(spark.createDataFrame(customers, UPDATES_SCHEMA), "silver_customer_updates")
    store.overwrite(spark.createDataFrame([("C7", D("2026-01-05"))], "customer_id string, churn_date date"), "silver_churn")
    store.overwrite(spark.createDataFrame(ards, ARDS_SCHEMA), "ards", partition_by=["feature_date"])

    result = run_pipeline(spark, settings, "online_features", RUN)

    mrds = result.datasets["mrds"]
    assert (result.ok, mrds.rows_in, mrds.rows_dropped, mrds.rows_written) == (True, 6, 3, 3)
    failed = {e.name: e.failed_records for e in mrds.expectations if e.failed_records}
    assert failed == {"features_found": 1, "features_fresh": 1, "required_features_present": 2, "active_days_7d_in_range": 1}
    rows = {r.customer_id: r for r in store.read("mrds").collect()}
    assert sorted(rows) == ["C1", "C5", "C6"]
    assert {(r[AS_OF], r.feature_date) for r in rows.values()} == {(RUN, RUN)}
    assert rows["C5"].days_since_last_txn is None and rows["C5"].tenure_days == 1
    assert store.read("mrds").columns == ["customer_id", AS_OF, "feature_date", *FEATURE_NAMES, *COMPLETENESS_NAMES]
    assert (rows["C6"].window_complete_90d, rows["C6"].window_complete_30d, rows["C1"].window_complete_90d) == (
        False, True, True)  # carried from the ARDS row, never a reason to drop
    events = store.read(event_log_table("online_features")).where("event_type = 'flow_progress' AND details LIKE '%data_quality%'")
    quality = json.loads(events.first().details)["flow_progress"]["data_quality"]
    assert quality["dropped_records"] == 3
    assert {e["name"]: e["failed_records"] for e in quality["expectations"] if e["failed_records"]} == failed

    # The Databricks online store's TRIGGERED sync reads the MRDS's Change Data Feed: the pipeline declares it.
    pipeline = local_pipeline(settings, "online_features", RUN)
    with session_conf(spark, pipeline.configuration):
        graph = load_graph(spark, store, pipeline)
    assert graph.datasets["mrds"].table_properties["delta.enableChangeDataFeed"] == "true"


@pytest.fixture
def world(spark, settings):
    """A 10-day generated world run through the offline pipeline."""
    config = GeneratorConfig(customers=150, seed=11, world_start=D("2026-01-01"), transactions_per_customer_day=2.0)
    generate_range(config, settings.landing, config.world_start, config.world_start + timedelta(days=9))
    assert run_pipeline(spark, settings, "offline_features", full_refresh=True).ok
    return config.world_start + timedelta(days=9)


def test_online_pipeline_end_to_end(spark, settings, store, world):
    result = run_pipeline(spark, settings, "online_features", world)
    ards_today = store.read("ards").where(f"feature_date = DATE'{world}'")
    assert result.ok and result.datasets["mrds"].rows_dropped == 0
    assert result.datasets["mrds"].rows_written == ards_today.count() > 100

    fs = LocalFeatureStore(spark, settings)
    assert [t.name for t in register_project_tables(fs, settings)] == [settings.table("ards"), settings.table("mrds")]
    mrds = fs.read_table(name="mrds").toPandas().set_index("customer_id").sort_index()

    # Training inputs equal scoring inputs: the point-in-time lookup on the ARDS gives the MRDS rows.
    spine = fs.read_table(name="mrds").select("customer_id", AS_OF)
    lookup = FeatureLookup(table_name=settings.table("ards"), lookup_key="customer_id", timestamp_lookup_key=AS_OF)
    offline = fs.create_training_set(df=spine, feature_lookups=[lookup], label=None).load_df().toPandas()
    pd.testing.assert_frame_equal(offline.set_index("customer_id").sort_index()[list(FEATURE_NAMES)],
                                  mrds[list(FEATURE_NAMES)], check_dtype=False)

    assert fs.publish_table(name="mrds") == len(mrds)
    assert tasks.publish_features(spark, settings, world) == {"published_rows": str(len(mrds))}  # the job's value
    online = fs.read_online(name="mrds", keys=pd.DataFrame({"customer_id": list(mrds.index)})).set_index("customer_id")
    pd.testing.assert_frame_equal(online[list(REQUIRED)], mrds[list(REQUIRED)], check_dtype=False)


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    """The `features` command group in its own process, as the main CLI runs it."""
    code = ("import sys; from lakehouse.app.feature_store_cli import features; from lakehouse.core.settings import load_settings; "
            "features(sys.argv[1:], obj=load_settings())")
    env = {**os.environ, "LAKEHOUSE_STORAGE_ROOT": str(settings.storage_root), "LAKEHOUSE_SCHEMA_NAME": settings.schema_name,
           "LAKEHOUSE_LANDING_PATH": settings.landing_path, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)


def test_features_cli_describes_registers_and_refuses(spark, settings, world):
    assert run_pipeline(spark, settings, "online_features", world).ok
    registered = _cli(settings, "register")
    assert registered.returncode == 0 and settings.table("mrds") in registered.stdout + registered.stderr
    described = _cli(settings, "describe", "ards")
    assert described.returncode == 0, described.stderr
    shown = described.stdout + described.stderr  # the project's console writes to stderr
    assert "timeseries" in shown and "days since the last transaction day" in shown
    published = _cli(settings, "publish")
    rows = LocalFeatureStore(spark, settings).read_table(name="mrds").count()
    assert published.returncode == 0 and f"published mrds: published_rows={rows}" in published.stdout + published.stderr
    unknown = _cli(settings, "describe", "nope")
    assert unknown.returncode == 2 and "error: " in unknown.stderr and "is not a feature table" in unknown.stderr


def test_ards_and_mrds_declare_their_keys_where_the_feature_store_reads_them(spark, settings, store, world):
    """The keys come from each pipeline's declared schema, stored with the table (as Unity Catalog keeps a
    dataset's constraints), not from table properties or a registration step."""
    assert run_pipeline(spark, settings, "online_features", world).ok
    fs = LocalFeatureStore(spark, settings)
    ards, mrds = fs.get_table(name="ards"), fs.get_table(name="mrds")
    assert (ards.primary_keys, ards.timeseries_column) == (("customer_id", "feature_date"), "feature_date")
    assert (mrds.primary_keys, mrds.timeseries_column) == (("customer_id",), None)
    assert all(ards.features[f.name] == mrds.features[f.name] == f.description for f in FEATURES)
    assert ards.description.startswith("Analytics Ready Data Set") and mrds.description.startswith("Model Ready Data Set")
    for name in ("ards", "mrds"):
        properties = DeltaTable(str(store.path(name))).metadata().configuration
        assert not {"primary_key", "timeseries_key"} & set(properties), properties
    comments = {f.name: f.metadata.get("comment") for f in store.read("ards").schema.fields}
    assert comments["spend_30d"] == "total amount spent over the 30 days ending at feature_date"

    pipeline = local_pipeline(settings, "online_features", world)
    with session_conf(spark, pipeline.configuration):  # the offline tables are read by full name, outside the graph
        graph = load_graph(spark, store, pipeline)
    assert sorted(graph.flows["mrds"].external_reads) == sorted(
        store.name(t) for t in ("ards", "silver_customer_updates", "silver_churn"))
    assert graph.flows["mrds"].reads == {}
