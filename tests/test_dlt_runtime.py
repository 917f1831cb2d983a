"""The local DLT runtime on tiny pipelines written into tmp_path as Databricks-style `import dlt` files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from lakehouse.core.lock import exclusive
from lakehouse.local.dlt_runtime import (
    PipelineBusy,
    PipelineDefinitionError,
    PipelineSettings,
    UpdateResult,
    event_log_table,
    register_streaming_source,
    run_update,
)


# -- helpers ----------------------------------------------------------------------------------------
def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_text(textwrap.dedent(body))
    return folder


def pipeline_of(settings, folder: Path, name: str = "p", **configuration: str) -> PipelineSettings:
    return PipelineSettings(
        name=name,
        catalog=settings.catalog,
        target=settings.schema_name,
        sources=(folder,),
        configuration={"test.raw": f"{settings.catalog}.{settings.schema_name}.raw", **configuration},
    )


def run(spark, settings, pipeline: PipelineSettings, **kwargs) -> UpdateResult:
    """One update; every completed dataset and flow must satisfy rows in = written + dropped + superseded."""
    result = run_update(spark, settings, pipeline, console=Console(file=io.StringIO(), width=200), **kwargs)
    for item in [*result.datasets.values(), *result.flows.values()]:
        if item.status == "COMPLETED":
            assert item.rows_in == item.rows_written + item.rows_dropped + item.rows_superseded, item
    return result


def raw(spark, rows, schema="id int, amount int, tag string, day string"):
    frame = spark.createDataFrame(rows, schema)
    return frame.withColumn("day", frame.day.cast("date")) if "day string" in schema else frame


ENDED = "('COMPLETED', 'FAILED', 'SKIPPED', 'EXCLUDED')"


def flow_events(spark, store, pipeline: str, update_id: str) -> dict[str, dict]:
    """The end event of each flow of one update, read back with the queries people run on Databricks."""
    rows = spark.sql(
        f"SELECT origin.flow_name AS flow, error, details, "
        f"get_json_object(details, '$.flow_progress.status') AS status, "
        f"get_json_object(details, '$.flow_progress.data_quality.expectations') AS expectations, "
        f"get_json_object(details, '$.flow_progress.data_quality.dropped_records') AS dropped, "
        f"get_json_object(details, '$.flow_progress.metrics.num_output_rows') AS written "
        f"FROM {store.name(event_log_table(pipeline))} "
        f"WHERE event_type = 'flow_progress' AND origin.update_id = '{update_id}' "
        f"AND get_json_object(details, '$.flow_progress.status') IN {ENDED}"
    ).collect()
    return {r.flow: r.asDict() for r in rows}


def update_states(spark, store, pipeline: str, update_id: str) -> list[str]:
    rows = spark.sql(
        f"SELECT get_json_object(details, '$.update_progress.state') AS state FROM "
        f"{store.name(event_log_table(pipeline))} WHERE event_type = 'update_progress' "
        f"AND origin.update_id = '{update_id}' ORDER BY sequence"
    ).collect()
    return [r.state for r in rows]


# -- graph misuse ---------------------------------------------------------------------------------
MISUSE = {
    "duplicate": ({
        "a.py": "import dlt\n@dlt.table(name='t')\ndef one():\n    return spark.range(1)\n",
        "b.py": "import dlt\n@dlt.table(name='T')\ndef two():\n    return spark.range(1)\n",
    }, r"dataset 'T' is defined more than once"),
    "unknown": ({
        "a.py": "import dlt\n@dlt.table\ndef t():\n    return dlt.read('nope')\n",
    }, r"flow 't': dlt.read\('nope'\) names no dataset of this pipeline"),
    "cycle": ({
        "a.py": """
            import dlt
            @dlt.table
            def a():
                return dlt.read('b')
            @dlt.table
            def b():
                return dlt.read('a')
        """,
    }, r"cycle: a -> b -> a"),
    "rule": ({
        "a.py": """
            import dlt
            @dlt.table
            @dlt.expect('positive', 'id > 0')
            @dlt.expect_or_drop('positive', 'id < 10')
            def t():
                return spark.range(3)
        """,
    }, r"dataset 't': expectation name 'positive' is used more than once"),
    "eager": ({
        "a.py": """
            import dlt
            @dlt.table
            def src():
                return spark.range(3)
            @dlt.table
            def t():
                first_id = dlt.read('src').collect()[0][0]
                return dlt.read('src').filter(f"id > {first_id}")
        """,
    }, r"flow 't' failed while the pipeline graph was resolved: IndexError.*must only build a DataFrame"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MISUSE))
def test_graph_misuse_is_refused_with_a_clear_message(spark, settings, store, tmp_path, case):
    files, message = MISUSE[case]
    pipeline = pipeline_of(settings, write_files(tmp_path / case, files))
    with pytest.raises(PipelineDefinitionError, match=message):
        run(spark, settings, pipeline)
    assert not store.exists("t") and not store.exists("a")
    logged = spark.table(store.name(event_log_table("p"))).filter("event_type = 'update_progress'")
    assert logged.filter("get_json_object(details, '$.update_progress.state') = 'FAILED'").count() == 1
    assert "dlt" not in sys.modules


# -- expectations ---------------------------------------------------------------------------------
EXPECTATIONS = """
    import dlt
    RAW = spark.conf.get("test.raw")

    @dlt.table(comment="every action at once")
    @dlt.expect("has_tag", "tag IS NOT NULL")
    @dlt.expect_or_drop("positive", "amount > 0")
    @dlt.expect_all_or_drop({"small": "amount < 100"})
    def clean():
        return spark.read.table(RAW)
"""


def test_expect_keeps_expect_or_drop_drops_and_null_passes(spark, settings, store, tmp_path):
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, -1, "b", "2026-01-01"), (3, None, None, "2026-01-01"),
                                (4, 500, "c", "2026-01-01"), (5, 0, None, "2026-01-01")]), "raw")  # fmt: skip
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"clean.py": EXPECTATIONS}))
    result = run(spark, settings, pipeline)

    clean = result.datasets["clean"]
    assert result.ok and clean.kind == "materialized_view"
    assert (clean.rows_in, clean.rows_written, clean.rows_dropped) == (5, 2, 3)
    counts = {e.name: (e.action, e.passed_records, e.failed_records) for e in clean.expectations}
    # Row 3 has amount NULL: `amount > 0` is NULL, which Databricks does not count as a failure.
    assert counts == {"has_tag": ("warn", 3, 2), "positive": ("drop", 3, 2), "small": ("drop", 4, 1)}
    assert sorted(r.id for r in store.read("clean").collect()) == [1, 3]

    event = flow_events(spark, store, "p", result.update_id)["clean"]
    assert (event["status"], event["dropped"], event["written"], event["error"]) == ("COMPLETED", "3", "2", None)
    assert json.loads(event["expectations"]) == [
        {"name": "has_tag", "dataset": "clean", "passed_records": 3, "failed_records": 2},
        {"name": "positive", "dataset": "clean", "passed_records": 3, "failed_records": 2},
        {"name": "small", "dataset": "clean", "passed_records": 4, "failed_records": 1},
    ]
    exploded = spark.sql(
        f"SELECT e.name, e.failed_records FROM (SELECT explode(from_json(get_json_object(details, "
        f"'$.flow_progress.data_quality.expectations'), 'array<struct<name:string, dataset:string, "
        f"passed_records:bigint, failed_records:bigint>>')) AS e FROM {store.name(event_log_table('p'))} "
        f"WHERE event_type = 'flow_progress') ORDER BY e.name"
    ).collect()
    assert [(r.name, r.failed_records) for r in exploded] == [("has_tag", 2), ("positive", 2), ("small", 1)]
    assert update_states(spark, store, "p", result.update_id) == ["INITIALIZING", "RUNNING", "COMPLETED"]


FAIL_PIPELINE = """
    import dlt
    from pyspark.sql import functions as F
    RAW = spark.conf.get("test.raw")

    @dlt.table
    @dlt.expect_or_fail("non_negative", "amount >= 0")
    def checked():
        return spark.read.table(RAW)

    @dlt.table
    def totals():
        return dlt.read("checked").groupBy("tag").agg(F.sum("amount").alias("amount"))

    @dlt.table
    def independent():
        return spark.range(2)
"""


def flow_statuses(spark, store, pipeline: str, update_id: str) -> dict[str, list[tuple]]:
    """Each flow's flow_progress events of one update in log order: (status, timestamp, has metrics)."""
    rows = spark.sql(
        f"SELECT origin.flow_name AS flow, timestamp, get_json_object(details, '$.flow_progress.status') AS status, "
        f"get_json_object(details, '$.flow_progress.metrics') IS NOT NULL AS measured "
        f"FROM {store.name(event_log_table(pipeline))} "
        f"WHERE event_type = 'flow_progress' AND origin.update_id = '{update_id}' ORDER BY sequence"
    ).collect()
    flows: dict[str, list[tuple]] = {}
    for r in rows:
        flows.setdefault(r.flow, []).append((r.status, r.timestamp, r.measured))
    return flows


def test_each_flow_is_logged_queued_then_running_then_its_end_state_as_on_databricks(spark, settings, store, tmp_path):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"f.py": FAIL_PIPELINE}))
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, -7, "a", "2026-01-01")]), "raw")
    failed = run(spark, settings, pipeline)
    assert failed.state == "FAILED"
    flows = flow_statuses(spark, store, "p", failed.update_id)
    ran = ["QUEUED", "STARTING", "RUNNING"]
    assert {flow: [status for status, _, _ in events] for flow, events in flows.items()} == {
        "checked": [*ran, "FAILED"], "totals": ["QUEUED", "SKIPPED"], "independent": [*ran, "COMPLETED"]}
    for events in flows.values():
        stamps = [at for _, at, _ in events]
        assert stamps == sorted(stamps)
        # metrics ride on the end event only: summing them over flow_progress counts each flow once
        assert [measured for status, _, measured in events] == [status in ("COMPLETED", "FAILED") for status, _, _ in
                                                                 events]
    queued = [at for events in flows.values() for status, at, _ in events if status == "QUEUED"]
    assert max(queued) <= min(at for events in flows.values() for status, at, _ in events if status == "STARTING")

    selected = run(spark, settings, pipeline, refresh=["independent"])
    flows = flow_statuses(spark, store, "p", selected.update_id)
    assert {flow: [status for status, _, _ in events] for flow, events in flows.items()} == {
        "checked": ["EXCLUDED"], "totals": ["EXCLUDED"], "independent": [*ran, "COMPLETED"]}


def test_expect_or_fail_keeps_table_skips_downstream_and_rerun_completes(spark, settings, store, tmp_path):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"f.py": FAIL_PIPELINE}))
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, 7, "a", "2026-01-01")]), "raw")
    assert run(spark, settings, pipeline).ok
    checked_version, totals_version = store.version("checked"), store.version("totals")

    store.append(raw(spark, [(3, -4, "b", "2026-01-02"), (4, -9, "b", "2026-01-02"), (5, 1, "b", "2026-01-02")]), "raw")
    failed = run(spark, settings, pipeline)
    assert failed.state == "FAILED"
    checked = failed.datasets["checked"]
    assert checked.status == "FAILED" and checked.expectations[0].failed_records == 2
    assert "'non_negative' (2 of 5 records)" in failed.error and '"id": 3' in failed.error
    assert failed.datasets["totals"].status == "SKIPPED"
    assert failed.datasets["independent"].status == "COMPLETED"
    assert (store.version("checked"), store.version("totals")) == (checked_version, totals_version)
    assert store.read("checked").count() == 2  # readers keep the previous version

    events = flow_events(spark, store, "p", failed.update_id)
    assert events["checked"]["status"] == "FAILED" and "non_negative" in events["checked"]["error"]
    definitions = {r.output: json.loads(r.inputs) for r in spark.sql(  # the update's graph, as Databricks logs it
        f"SELECT get_json_object(details, '$.flow_definition.output_dataset') AS output, "
        f"get_json_object(details, '$.flow_definition.input_datasets') AS inputs FROM {store.name(event_log_table('p'))} "
        f"WHERE event_type = 'flow_definition' AND origin.update_id = '{failed.update_id}'").collect()}
    assert definitions == {"checked": [store.name("raw")], "totals": ["checked"], "independent": []}
    assert events["totals"]["status"] == "SKIPPED"
    assert update_states(spark, store, "p", failed.update_id)[-1] == "FAILED"

    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, 7, "a", "2026-01-01"), (5, 1, "b", "2026-01-02")]), "raw")
    rerun = run(spark, settings, pipeline)
    assert rerun.ok and rerun.datasets["checked"].rows_written == 3
    assert sorted(tuple(r) for r in store.read("totals").collect()) == [("a", 12), ("b", 1)]


# -- materialized views, streaming tables, refresh modes ------------------------------------------
STREAMING = """
    import dlt
    from pyspark.sql import functions as F
    RAW = spark.conf.get("test.raw")

    @dlt.table(partition_cols=["day"])
    def bronze():
        return spark.readStream.table(RAW)

    @dlt.table
    @dlt.expect_or_drop("positive", "amount > 0")
    def silver():
        return dlt.read_stream("LIVE.bronze").withColumn("double", F.col("amount") * 2)

    @dlt.table
    def gold():
        return dlt.read("silver").groupBy("day").agg(F.sum("amount").alias("amount"), F.count("*").alias("n"))
"""


def test_streaming_tables_process_only_new_rows_and_refresh_modes(spark, settings, store, tmp_path):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"s.py": STREAMING}))
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, -1, "a", "2026-01-01"), (3, 2, "b", "2026-01-02")]), "raw")
    first = run(spark, settings, pipeline)
    assert [first.datasets[d].kind for d in ("bronze", "silver", "gold")] == [
        "streaming_table", "streaming_table", "materialized_view"]
    assert [first.datasets[d].rows_written for d in ("bronze", "silver", "gold")] == [3, 2, 2]

    store.append(raw(spark, [(4, 10, "a", "2026-01-02"), (5, -3, "c", "2026-01-03")]), "raw")
    second = run(spark, settings, pipeline)
    assert (second.datasets["bronze"].rows_in, second.datasets["bronze"].rows_written) == (2, 2)
    assert (second.datasets["silver"].rows_written, second.datasets["silver"].rows_dropped) == (1, 1)
    assert sorted(r.id for r in store.read("silver").collect()) == [1, 3, 4]
    assert sorted(tuple(r) for r in store.read("gold").collect()) == [
        (__import__("datetime").date(2026, 1, 1), 5, 1), (__import__("datetime").date(2026, 1, 2), 12, 2)]

    # No new input: streaming tables write nothing and keep their version (no empty commit); the
    # materialized view is recomputed.
    versions = {t: store.version(t) for t in ("bronze", "silver", "gold")}
    third = run(spark, settings, pipeline)
    assert [third.datasets[d].rows_written for d in ("bronze", "silver")] == [0, 0]
    assert (store.version("bronze"), store.version("silver")) == (versions["bronze"], versions["silver"])
    assert store.version("gold") == versions["gold"] + 1

    # Refresh of a selection: only gold runs, the others are excluded and untouched.
    selected = run(spark, settings, pipeline, refresh=["gold"])
    assert {n: d.status for n, d in selected.datasets.items()} == {
        "bronze": "EXCLUDED", "silver": "EXCLUDED", "gold": "COMPLETED"}
    assert store.version("bronze") == versions["bronze"]

    # A non-append change upstream stops the stream with a hint; a full refresh rebuilds from scratch.
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (9, 9, "z", "2026-01-05")]), "raw")
    broken = run(spark, settings, pipeline)
    assert broken.datasets["bronze"].status == "FAILED" and "full refresh of 'bronze'" in broken.error
    assert broken.datasets["silver"].status == "SKIPPED"
    full = run(spark, settings, pipeline, full_refresh=True)
    assert full.ok and [full.datasets[d].rows_written for d in ("bronze", "silver")] == [2, 2]
    assert sorted(r.id for r in store.read("bronze").collect()) == [1, 9]
    again = run(spark, settings, pipeline)
    assert [again.datasets[d].rows_written for d in ("bronze", "silver")] == [0, 0]

    # Full refresh of a selection: bronze is rebuilt; silver, not selected, then sees a rewritten upstream.
    store.append(raw(spark, [(10, 1, "y", "2026-01-06")]), "raw")
    partial = run(spark, settings, pipeline, full_refresh_selection=["bronze"])
    assert partial.datasets["bronze"].rows_written == 3 and partial.datasets["silver"].status == "EXCLUDED"
    assert sorted(r.id for r in store.read("bronze").collect()) == [1, 9, 10]


def test_a_changed_definition_fails_its_streaming_table_with_a_hint_until_a_full_refresh(spark, settings, store, tmp_path):
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01")]), "raw")
    assert run(spark, settings, pipeline_of(settings, write_files(tmp_path / "v1", {"s.py": STREAMING}))).ok
    store.append(raw(spark, [(2, 7, "a", "2026-01-02")]), "raw")
    changed = STREAMING.replace('.withColumn("double", F.col("amount") * 2)', '.withColumn("triple", F.col("amount") * 3)')
    pipeline = pipeline_of(settings, write_files(tmp_path / "v2", {"s.py": changed}))
    version = store.version("silver")
    failed = run(spark, settings, pipeline)
    assert failed.datasets["silver"].status == "FAILED" and store.version("silver") == version
    assert "unexpected columns ['triple']" in failed.error and "run a full refresh of 'silver'" in failed.error
    rebuilt = run(spark, settings, pipeline, full_refresh_selection=["silver"])
    assert rebuilt.ok and sorted(tuple(r) for r in store.read("silver").select("id", "triple").collect()) == [(1, 15), (2, 21)]


# -- apply_changes ----------------------------------------------------------------------------------
CDC = """
    import dlt
    from pyspark.sql.functions import col, expr
    RAW = spark.conf.get("test.raw")

    dlt.create_streaming_table("customers", partition_cols=["region"])

    dlt.apply_changes(
        target="customers",
        source=RAW,
        keys=["id"],
        sequence_by=col("seq"),
        apply_as_deletes=expr("op = 'DELETE'"),
        except_column_list=["op"],
        ignore_null_updates=True,
    )
"""
CHANGES = "id int, name string, region string, seq int, op string"


def test_apply_changes_scd1_out_of_order_and_deletes(spark, settings, store, tmp_path):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": CDC}))
    store.overwrite(raw(spark, [(1, "a", "eu", 1, "UPSERT"), (1, "b", "eu", 3, "UPSERT"), (1, "c", "eu", 2, "UPSERT"),
                                (2, "x", "us", 1, "UPSERT"), (3, "y", "eu", 1, "UPSERT")], CHANGES), "raw")  # fmt: skip
    first = run(spark, settings, pipeline)
    customers = first.datasets["customers"]
    assert (customers.rows_in, customers.rows_written, customers.rows_superseded) == (5, 3, 2)
    assert sorted(tuple(r) for r in store.read("customers").select("id", "name", "seq").collect()) == [
        (1, "b", 3), (2, "x", 1), (3, "y", 1)]

    store.append(raw(spark, [(1, "late", "eu", 2, "UPSERT"), (2, None, "us", 5, "DELETE"), (3, None, "eu", 4, "UPSERT"),
                             (4, "z", "eu", 1, "UPSERT")], CHANGES), "raw")  # fmt: skip
    second = run(spark, settings, pipeline)
    flow = second.flows["customers"]
    assert (flow.rows_in, flow.rows_written, flow.rows_upserted, flow.rows_deleted) == (4, 4, 2, 1)
    # 1: the late change (seq 2 < 3) loses; 2: deleted; 3: NULL name ignored, sequence advanced; 4: inserted.
    assert sorted(tuple(r) for r in store.read("customers").select("id", "name", "seq").collect()) == [
        (1, "b", 3), (3, "y", 4), (4, "z", 1)]
    assert store.read("customers").columns == ["id", "name", "seq", "region"]
    merge = store.history("customers", limit=1)[0]
    assert merge["operation"] == "MERGE" and "region" in merge["operationParameters"]["mergePredicate"]
    written = flow_events(spark, store, "p", second.update_id)["customers"]
    assert json.loads(written["details"])["flow_progress"]["metrics"]["num_deleted_rows"] == 1

    # Re-deliveries and changes older than the stored rows change nothing: no commit, nothing upserted.
    version = store.version("customers")
    store.append(raw(spark, [(3, "y", "eu", 4, "UPSERT"), (1, "old", "eu", 1, "UPSERT"), (4, None, "eu", 1, "DELETE"),
                             (7, None, "us", 9, "DELETE")], CHANGES), "raw")  # fmt: skip
    third = run(spark, settings, pipeline).flows["customers"]
    assert (third.rows_in, third.rows_written, third.rows_upserted, third.rows_deleted) == (4, 4, 0, 0)
    assert store.version("customers") == version
    assert sorted(tuple(r) for r in store.read("customers").select("id", "name", "seq").collect()) == [
        (1, "b", 3), (3, "y", 4), (4, "z", 1)]


# -- replace_partitions extension and configuration ----------------------------------------------
DAILY = """
    import dlt
    from pyspark.sql import functions as F
    RAW = spark.conf.get("test.raw")
    DAY = spark.conf.get("test.day")

    @dlt.table(partition_cols=["day"], table_properties={"lakehouse.write": "replace_partitions"})
    def daily():
        return (spark.read.table(RAW).filter(F.col("day") == F.lit(DAY).cast("date"))
                .groupBy("day").agg(F.sum("amount").alias("amount")))
"""


def test_replace_partitions_replaces_exactly_the_dates_produced(spark, settings, store, tmp_path):
    folder = write_files(tmp_path / "src", {"daily.py": DAILY})
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, 7, "a", "2026-01-02"), (3, 1, "a", "2026-01-03")]), "raw")
    for day in ("2026-01-01", "2026-01-02"):
        assert run(spark, settings, pipeline_of(settings, folder, **{"test.day": day})).ok
    assert sorted((str(r.day), r.amount) for r in store.read("daily").collect()) == [("2026-01-01", 5), ("2026-01-02", 7)]

    store.overwrite(raw(spark, [(1, 50, "a", "2026-01-01"), (2, 70, "a", "2026-01-02")]), "raw")
    result = run(spark, settings, pipeline_of(settings, folder, **{"test.day": "2026-01-02"}))
    assert result.datasets["daily"].rows_written == 1
    assert sorted((str(r.day), r.amount) for r in store.read("daily").collect()) == [("2026-01-01", 5), ("2026-01-02", 70)]
    last = store.history("daily", limit=1)[0]
    assert last["operationParameters"]["predicate"] == "`day` IN (DATE'2026-01-02')"

    # A day with no rows replaces nothing and leaves the table's version as it was.
    version = store.version("daily")
    assert run(spark, settings, pipeline_of(settings, folder, **{"test.day": "2026-02-01"})).ok
    assert store.version("daily") == version


def test_configuration_is_visible_to_spark_conf_only_during_the_update(spark, settings, store, tmp_path):
    files = {"c.py": """
        import dlt
        VALUE = spark.conf.get("test.flag")

        @dlt.table
        def conf_value():
            return spark.range(1).selectExpr(f"'{VALUE}' AS loaded", f"'{spark.conf.get('test.flag')}' AS at_run")
    """}  # fmt: skip
    assert run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", files), **{"test.flag": "on"})).ok
    row = store.read("conf_value").first()
    assert (row.loaded, row.at_run) == ("on", "on")
    assert spark.conf.get("test.flag", None) is None


# -- views, append flows, streaming sources, lock -------------------------------------------------
FLOWS = """
    import dlt
    from lakehouse.local.dlt_runtime import read_streaming_source
    RAW = spark.conf.get("test.raw")

    @dlt.view
    @dlt.expect_or_drop("positive", "amount > 0")
    def positive_raw():
        return spark.read.table(RAW)

    dlt.create_streaming_table("events", expect_all={"has_tag": "tag IS NOT NULL"})

    @dlt.append_flow(target="events")
    def from_source():
        return read_streaming_source("test_feed")

    @dlt.append_flow(target="events", once=True)
    def backfill():
        return spark.read.table(RAW).filter("id = 1")

    @dlt.table
    def summary():
        return dlt.read("positive_raw").join(dlt.read("events").select("id"), "id", "left_semi")
"""


def test_views_append_flows_and_the_streaming_source_hook(spark, settings, store, tmp_path):
    batches = [[(10, 3, "a", "2026-01-01"), (11, 4, None, "2026-01-01")], []]
    committed: list[int] = []

    def feed(request):
        rows = batches[len(committed)] if len(committed) < len(batches) else []
        return raw(spark, rows or [(0, 0, "", "2026-01-01")]).filter("id > 0" if rows else "false"), (
            lambda: committed.append(len(rows)))

    register_streaming_source("test_feed", feed)
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (10, -1, "a", "2026-01-01"), (11, 2, "b", "2026-01-01")]), "raw")
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"flows.py": FLOWS}))
    first = run(spark, settings, pipeline)
    assert first.ok and committed == [2]
    assert first.datasets["positive_raw"].kind == "view"
    assert (first.flows["from_source"].rows_written, first.flows["backfill"].rows_written) == (2, 1)
    events = first.datasets["events"]
    assert events.kind == "streaming_table" and events.expectations[0].failed_records == 1
    assert sorted(r.id for r in store.read("summary").collect()) == [1, 11]
    assert first.datasets["positive_raw"].rows_dropped == 1

    second = run(spark, settings, pipeline)
    assert committed == [2, 0] and second.flows["backfill"].rows_written == 0
    assert store.read("events").count() == 3


def test_a_source_is_not_committed_when_its_flow_fails(spark, settings, store, tmp_path):
    committed: list[str] = []
    register_streaming_source("failing_feed", lambda request: (
        raw(spark, [(1, -5, "a", "2026-01-01")]), lambda: committed.append("done")))
    files = {"f.py": """
        import dlt
        from lakehouse.local.dlt_runtime import read_streaming_source

        @dlt.table
        @dlt.expect_or_fail("positive", "amount > 0")
        def landed():
            return read_streaming_source("failing_feed")
    """}  # fmt: skip
    result = run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", files)))
    assert result.state == "FAILED" and committed == [] and not store.exists("landed")


def test_a_concurrent_update_is_refused(spark, settings, store, tmp_path):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"c.py": EXPECTATIONS}))
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01")]), "raw")
    lock = settings.storage_root / "_pipelines" / "p" / "lock"
    with exclusive(lock, "pipeline 'p' is already being updated", "update other-update", PipelineBusy):
        with pytest.raises(PipelineBusy, match=r"pipeline 'p' is already being updated \(update other-update"):
            run(spark, settings, pipeline)
    assert not store.exists("clean")
    # A lock left by a process that is gone is taken over.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(json.dumps({"pid": int(dead.stdout), "host": __import__("socket").gethostname()}))
    assert run(spark, settings, pipeline).ok and not lock.exists()


def test_an_update_whose_process_died_is_recorded_as_failed_by_the_next(spark, settings, store, tmp_path):
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"c.py": EXPECTATIONS}))
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01")]), "raw")
    assert run(spark, settings, pipeline).ok
    marker = settings.storage_root / "_pipelines" / "p" / "update_running.json"
    assert not marker.exists()  # a finished update leaves none

    def interrupted() -> list[tuple[str, str]]:
        log = store.read(event_log_table("p")).where("event_type = 'update_progress' AND error LIKE '%was interrupted%'")
        return [(r.update_id, r.level) for r in log.select("origin.update_id", "level").collect()]

    marker.write_text(json.dumps({"update_id": "dead-update", "started": "2026-01-02T05:00:00+00:00"}))
    later = run(spark, settings, pipeline)
    assert later.ok and interrupted() == [("dead-update", "ERROR")] and not marker.exists()
    marker.write_text('{"update_id": "cut sho')  # the crash cut the marker itself short
    assert run(spark, settings, pipeline).ok
    assert sorted(interrupted()) == [("dead-update", "ERROR"), ("unknown", "ERROR")]
    assert run(spark, settings, pipeline).ok and len(interrupted()) == 2  # recorded once

STREAMING_VIEW = """
    import dlt
    RAW = spark.conf.get("test.raw")
    MINIMUM = spark.conf.get("test.min")

    @dlt.view
    def new_raw():
        return spark.readStream.table(RAW)

    @dlt.table
    def copy_a():
        return dlt.read_stream("new_raw")

    @dlt.table
    @dlt.expect_or_fail("above_minimum", f"amount > {MINIMUM}")
    def copy_b():
        return dlt.read_stream("new_raw")
"""


def test_a_streaming_view_advances_only_after_all_its_readers_committed(spark, settings, store, tmp_path):
    folder = write_files(tmp_path / "src", {"v.py": STREAMING_VIEW})
    store.overwrite(raw(spark, [(1, 5, "a", "2026-01-01"), (2, 6, "a", "2026-01-01")]), "raw")
    assert run(spark, settings, pipeline_of(settings, folder, **{"test.min": "0"})).ok
    store.append(raw(spark, [(3, -1, "a", "2026-01-02")]), "raw")
    failed = run(spark, settings, pipeline_of(settings, folder, **{"test.min": "0"}))
    assert failed.datasets["copy_b"].status == "FAILED" and failed.datasets["copy_a"].rows_written == 1
    # copy_b failed, so the view's input is delivered again: copy_b gets it once, and copy_a, whose append
    # of that increment is labelled with the view's input positions, does not append it a second time.
    rerun = run(spark, settings, pipeline_of(settings, folder, **{"test.min": "-10"}))
    assert rerun.ok and rerun.datasets["copy_b"].rows_written == 1
    assert (store.read("copy_a").count(), store.read("copy_b").count()) == (3, 3)
    assert run(spark, settings, pipeline_of(settings, folder, **{"test.min": "-10"})).datasets["copy_a"].rows_written == 0


def test_the_dlt_module_is_installed_only_while_loading(spark, settings, store, tmp_path):
    sentinel = type(sys)("dlt")
    sys.modules["dlt"] = sentinel
    try:
        files = {"a.py": "import dlt\n@dlt.table\ndef t():\n    return spark.range(2)\n"}
        assert run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", files))).ok
        assert sys.modules["dlt"] is sentinel
    finally:
        del sys.modules["dlt"]
    assert store.read("t").count() == 2


def test_a_bad_expectation_fails_its_flow_naming_rule_and_dataset(spark, settings, store, tmp_path):
    files = {"a.py": """
        import dlt

        @dlt.table
        @dlt.expect("fine", "id >= 0")
        @dlt.expect_or_drop("typo", "idd > 0")
        def t():
            return spark.range(3)
    """}  # fmt: skip
    result = run(spark, settings, pipeline_of(settings, write_files(tmp_path / "src", files)))
    assert result.state == "FAILED" and not store.exists("t")
    assert "RuleError: dataset 't': rule 'typo' ('idd > 0') is not a valid expression" in result.error


# -- staging: a materialized view's plan runs once ------------------------------------------------
def test_a_materialized_view_writes_exactly_the_rows_its_expectations_counted(spark, settings, store, tmp_path):
    """uuid() differs per evaluation: counts and written rows agree only when the plan is computed once."""
    folder = write_files(tmp_path / "src", {"mv.py": """
        import dlt
        @dlt.table(name="mv")
        @dlt.expect("low", "substring(u, 1, 1) < '8'")
        @dlt.expect_or_drop("not_f", "substring(u, 1, 1) != 'f'")
        def mv():
            return spark.range(4000).selectExpr("id", "uuid() AS u")
    """})
    state = settings.storage_root / "_pipelines" / "p" / "staging"
    (state / "crashed").mkdir(parents=True)  # a crashed update's scratch rows: cleared by the next update
    result = run(spark, settings, pipeline_of(settings, folder))
    low = result.datasets["mv"].expectations[0]
    written = store.read("mv")
    assert written.count() == 4000 - result.datasets["mv"].rows_dropped
    assert written.where("substring(u, 1, 1) < '8'").count() == low.passed_records
    assert not (state / "crashed").exists() and not [p for p in state.rglob("*") if p.is_file()]


def test_apply_changes_without_ignore_null_updates_stores_nulls_and_a_wholly_dropped_batch_writes_nothing(
        spark, settings, store, tmp_path):
    """Without `ignore_null_updates` a change's NULL replaces the stored value (Databricks: "ignore_null_updates ...
    default False": https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-apply-changes); a batch whose
    every change row `expect_all_or_drop` drops writes, upserts and deletes nothing."""
    body = CDC.replace("ignore_null_updates=True", "ignore_null_updates=False").replace(
        'dlt.create_streaming_table("customers", partition_cols=["region"])',
        'dlt.create_streaming_table("customers", partition_cols=["region"], expect_all_or_drop={"sane": "seq < 100"})')
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": body}))
    store.overwrite(raw(spark, [(1, "a", "eu", 1, "UPSERT"), (2, "b", "eu", 1, "UPSERT")], CHANGES), "raw")
    assert run(spark, settings, pipeline).ok
    store.append(raw(spark, [(1, None, "eu", 2, "UPSERT")], CHANGES), "raw")
    second = run(spark, settings, pipeline)
    assert second.ok, second.error
    assert (second.flows["customers"].rows_upserted, second.flows["customers"].rows_deleted) == (1, 0)
    assert sorted(tuple(r) for r in store.read("customers").select("id", "name", "seq").collect()) == [
        (1, None, 2), (2, "b", 1)]

    version = store.version("customers")
    store.append(raw(spark, [(2, "late", "eu", 200, "UPSERT"), (1, None, "eu", 300, "DELETE")], CHANGES), "raw")
    third = run(spark, settings, pipeline)
    flow = third.flows["customers"]
    assert (flow.rows_in, flow.rows_dropped, flow.rows_written, flow.rows_upserted, flow.rows_deleted) == (2, 2, 0, 0, 0)
    assert store.version("customers") == version


def test_apply_changes_with_a_sequence_column_the_feed_lacks_fails_naming_it(spark, settings, store, tmp_path):
    """A missing `sequence_by` column is a definition error naming it, not a report of NULL sequences."""
    body = CDC.replace('sequence_by=col("seq")', 'sequence_by=col("version")')
    pipeline = pipeline_of(settings, write_files(tmp_path / "src", {"cdc.py": body}))
    store.overwrite(raw(spark, [(1, "a", "eu", 1, "UPSERT")], CHANGES), "raw")
    result = run(spark, settings, pipeline)
    assert not result.ok
    assert "sequence_by column 'version' not found" in result.error and "NULL_SEQUENCE" not in result.error
