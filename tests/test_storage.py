"""Storage round trips on real Delta tables through the Sail engine."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from lakehouse.core.catalogs import UnityCatalog
from lakehouse.core.errors import StorageError
from lakehouse.core.settings import load_settings
from lakehouse.core.storage import TableStore


def _rows(df, order: str = "id"):
    return [tuple(r) for r in df.orderBy(order).collect()]


def _frame(spark, ids, tag="a", day="2026-01-01"):
    return spark.createDataFrame([(i, tag, day) for i in ids], "id bigint, tag string, day string").selectExpr(
        "id", "tag", "to_date(day) AS day"
    )


def test_overwrite_then_read_by_three_part_name(spark, store):
    version = store.overwrite(_frame(spark, [1, 2, 3]), "events", partition_by=["day"])
    assert version == 0
    name = store.name("events")
    assert name.count(".") == 2
    assert spark.table(name).count() == 3
    assert spark.sql(f"SELECT sum(id) AS s FROM {name}").first().s == 6
    assert store.list_tables() == ["events"]


def test_append_adds_rows_and_a_version(spark, store):
    store.overwrite(_frame(spark, [1, 2]), "events")
    assert store.append(_frame(spark, [3]), "events") == 1
    assert [r[0] for r in _rows(store.read("events"))] == [1, 2, 3]
    assert [h["operation"] for h in store.history("events")] == ["WRITE", "CREATE TABLE"]


def test_replace_where_replaces_exactly_one_day(spark, store):
    store.overwrite(_frame(spark, [1, 2], day="2026-01-01").union(_frame(spark, [3, 4], day="2026-01-02")),
                    "events", partition_by=["day"])
    store.replace_where(_frame(spark, [30], tag="b", day="2026-01-02"), "events", "day = DATE'2026-01-02'")
    assert _rows(store.read("events").selectExpr("id", "tag", "cast(day as string)")) == [
        (1, "a", "2026-01-01"), (2, "a", "2026-01-01"), (30, "b", "2026-01-02")]
    # Replacing the same day with the same rows again is idempotent in content.
    store.replace_where(_frame(spark, [30], tag="b", day="2026-01-02"), "events", "day = DATE'2026-01-02'")
    assert store.read("events").count() == 3


def test_merge_updates_and_inserts_by_key(spark, store):
    store.merge(_frame(spark, [1, 2]), "customers", keys=["id"])
    store.merge(_frame(spark, [2, 3], tag="new"), "customers", keys=["id"])
    assert _rows(store.read("customers").select("id", "tag")) == [(1, "a"), (2, "new"), (3, "new")]
    assert store.version("customers") == 1
    assert store.history("customers")[0]["operation"] == "MERGE"


def test_merge_condition_keeps_newer_rows(spark, store):
    store.merge(_frame(spark, [1], tag="b"), "c", keys=["id"])
    store.merge(_frame(spark, [1], tag="a"), "c", keys=["id"], update_condition="s.tag > t.tag")
    assert _rows(store.read("c").select("id", "tag")) == [(1, "b")]


def test_time_travel_reads_an_old_version(spark, store):
    store.overwrite(_frame(spark, [1]), "events")
    store.append(_frame(spark, [2]), "events")
    assert store.read("events", version=0).count() == 1
    assert store.read("events").count() == 2


def test_failed_write_keeps_previous_version(spark, store):
    store.overwrite(_frame(spark, [1, 2]), "events")
    bad = _frame(spark, [3]).selectExpr("id", "CAST(raise_error('source broke') AS STRING) AS tag", "day")
    with pytest.raises(Exception, match="source broke"):
        store.overwrite(bad, "events")
    assert store.version("events") == 0
    assert store.read("events").count() == 2


def test_schema_mismatch_is_refused_before_writing(spark, store):
    store.overwrite(_frame(spark, [1]), "events")
    extra = _frame(spark, [2]).selectExpr("*", "1 AS promo")
    with pytest.raises(StorageError, match=r"unexpected columns \['promo'\]"):
        store.append(extra, "events")
    wrong_type = _frame(spark, [2]).selectExpr("cast(id as string) AS id", "tag", "day")
    with pytest.raises(StorageError, match="id is string not bigint"):
        store.replace_where(wrong_type, "events", "day = DATE'2026-01-01'")
    assert store.version("events") == 0


def test_column_order_does_not_matter_for_append(spark, store):
    store.overwrite(_frame(spark, [1]), "events")
    store.append(_frame(spark, [2]).select("day", "tag", "id"), "events")
    assert [r[0] for r in _rows(store.read("events"))] == [1, 2]


def test_unsafe_identifiers_are_rejected(store):
    with pytest.raises(StorageError, match="not a plain identifier"):
        store.name("events; DROP TABLE x")
    with pytest.raises(StorageError, match="does not exist"):
        store.read("missing_table")


def test_tables_survive_an_engine_restart(spark, store, settings):
    store.overwrite(_frame(spark, [1, 2, 3]), "events")
    script = textwrap.dedent(
        f"""
        from lakehouse.core.engine import spark_session
        from lakehouse.core.settings import load_settings
        from lakehouse.core.storage import TableStore
        s = load_settings("local", storage_root={str(settings.storage_root)!r}, schema_name={settings.schema_name!r})
        with spark_session(s) as spark:
            store = TableStore(spark, s)
            print(store.register_all())
            print(spark.table(store.name("events")).count())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "3"
    assert store.name("events") in lines[-2]


def test_on_databricks_a_store_touches_no_local_folder_and_has_no_table_paths(monkeypatch, tmp_path):
    """On Databricks, Unity Catalog decides where a managed table's files are: building a store creates nothing
    under the (relative, meaningless there) storage root, and asking for a table's path is refused by name instead
    of returning a folder of this machine. No engine call is needed for either, so none is made (spark=None)."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings("dev", storage_root="warehouse")
    store = TableStore(None, settings)
    assert isinstance(store.catalog, UnityCatalog)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StorageError, match=r"^churn_dev\.churn\.events is a Unity Catalog managed table"):
        store.path("events")


def test_a_delta_log_without_a_commit_is_no_table_and_the_next_write_creates_it(spark, store):
    """A process killed during a table's first write can leave `_delta_log/` with no commit in it: that is no table
    (not listed, not registered), and the next append creates the table instead of failing on one with no columns."""
    (store.path("events") / "_delta_log").mkdir(parents=True)
    assert not store.exists("events")
    assert store.list_tables() == [] and store.register_all() == []
    assert store.append(_frame(spark, [1, 2]), "events") == 0
    assert [r[0] for r in _rows(store.read("events"))] == [1, 2]
