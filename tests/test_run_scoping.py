"""What an update and a job run are scoped by, the same way on Databricks and locally.

- The pipelines publish their event logs under the names the local runtime writes and the gate reads
  (`event_log` in the bundle's pipeline resources; the runtime takes the name from there).
- An update gets no run date: it recomputes the feature dates of the drops it ingested plus the late-arrival
  window (the ARDS partitions it replaces, read from the Delta log), and the MRDS is as of the latest feature date.
- Databricks' documented per-expectation event-log query runs on the local event log in its equivalent form.
"""

from __future__ import annotations

import io
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from landing import customer, txn, write, write_drop
from rich.console import Console

from lakehouse.core.errors import ConfigError
from lakehouse.core.storage import TableStore
from lakehouse.local.bundle import load_bundle, pipeline_spec
from lakehouse.local.dlt_runtime import PipelineSettings, run_update
from lakehouse.local.dlt_runtime.event_log import EXPECTATIONS_QUERY, table_name
from lakehouse.local.jobs import conditions as cond
from lakehouse.local.jobs.spec import bundle_jobs
from lakehouse.local.pipelines import local_pipeline, run_pipeline
from lakehouse.tasks import notebook_call, parse_call, parse_start_time
from ml.feature_store.mrds import AS_OF

README = Path(__file__).resolve().parent.parent / "README.md"
DAYS = [date(2026, 3, 2) + timedelta(days=i) for i in range(8)]


# -- event log names -----------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["local", "dev", "prod"])
def test_the_pipelines_publish_their_event_logs_where_the_runtime_writes_and_the_gate_reads(target, settings):
    pipelines = load_bundle(target)["resources"]["pipelines"]
    assert sorted(pipelines) == ["offline_features", "online_features"]
    for key, body in pipelines.items():
        # Databricks publishes to event_log.{catalog, schema, name}: the pipeline's own schema, the gate's name.
        assert body["event_log"] == {"name": table_name(key), "catalog": body["catalog"], "schema": body["schema"]}
        assert pipeline_spec(key, target).event_log == table_name(key)
        assert local_pipeline(settings, key).event_log == table_name(key)  # what the local runtime is handed


EVENT_LOGGED = """
    import dlt

    @dlt.table
    @dlt.expect("positive", "id > 0")
    def numbers():
        return spark.range(3)
"""


def _bundle(root: Path, event_log: str) -> Path:
    """A bundle with one pipeline `p` whose event_log block is `event_log` (YAML flow mapping)."""
    (root / "src").mkdir(parents=True)
    (root / "src" / "numbers.py").write_text(textwrap.dedent(EVENT_LOGGED))
    (root / "databricks.yml").write_text("bundle: {name: b}\ninclude: [p.yml]\ntargets: {local: {}}\n")
    (root / "p.yml").write_text(textwrap.dedent(f"""\
        resources:
          pipelines:
            p:
              catalog: lakehouse
              schema: churn
              libraries: [{{glob: {{include: src/**}}}}]
              event_log: {event_log}
    """))
    return root


def test_the_runtime_writes_its_event_log_under_the_resources_name_and_refuses_another_schema(spark, settings, tmp_path):
    spec = pipeline_spec("p", "local", root=_bundle(tmp_path / "named", "{name: published_log, schema: churn}"))
    assert spec.event_log == "published_log"
    pipeline = PipelineSettings(name=spec.key, catalog=settings.catalog, target=settings.schema_name,
                                sources=spec.source_dirs, event_log=spec.event_log)
    result = run_update(spark, settings, pipeline, console=Console(file=io.StringIO()))
    store = TableStore(spark, settings)
    assert result.ok and store.exists("published_log") and not store.exists(table_name("p"))
    logged = store.read("published_log").where(f"origin.update_id = '{result.update_id}'").count()
    assert logged > 0

    elsewhere = _bundle(tmp_path / "elsewhere", "{name: published_log, schema: audit}")
    with pytest.raises(ConfigError, match=r"event_log \{'schema': 'audit'\} differs"):
        pipeline_spec("p", "local", root=elsewhere)
    with pytest.raises(ConfigError, match="event_log needs a name"):
        pipeline_spec("p", "local", root=_bundle(tmp_path / "unnamed", "{schema: churn}"))


# -- the job run's start reaches the gate ----------------------------------------------------------
def test_the_data_quality_task_gets_the_job_runs_start_and_only_it_takes_one():
    started = datetime(2026, 3, 9, 5, 0, 1, 234000, tzinfo=timezone.utc)
    task = bundle_jobs("prod")["churn_daily"].task("data_quality")
    widgets = {k: cond.resolve(str(v), {"run_date": "2026-03-08"}, {}, cond.job_references(started))
               for k, v in task.body["base_parameters"].items()}
    call = notebook_call(lambda name: widgets.get(name, ""))
    assert (call.name, call.run_date, call.since) == ("data_quality", date(2026, 3, 8), started)
    # However Databricks renders the ISO date-time (with or without fraction and "Z"), it is read as UTC.
    for text in ("2026-03-09T05:00:01", "2026-03-09T05:00:01Z", "2026-03-09T05:00:01.000+00:00"):
        assert parse_start_time(text) == started.replace(microsecond=0)
    with pytest.raises(ConfigError, match="task 'train' takes no --since"):
        parse_call(["train", "--since", "2026-03-09T05:00:01"])
    with pytest.raises(ConfigError, match="not an ISO date-time"):
        parse_call(["data_quality", "--since", "{{job.start_time.iso_datetime}}"])  # unresolved
    with pytest.raises(ConfigError, match="cannot be resolved locally"):
        cond.resolve("{{job.start_time.iso_weekday}}", {}, {}, cond.job_references(started))


# -- the recompute window comes from the ingested drops -------------------------------------------
def _drop(landing: str, day: date, suffix: str = "") -> None:
    """C1's transactions of `day`, two of them, plus C1 and C2 signing up on the first day."""
    if day == DAYS[0]:
        write_drop(landing, day, customers=[customer("C1", f"{day}T06:00:00Z"), customer("C2", f"{day}T06:00:00Z")])
    write(landing, "transactions", day, [txn(f"T{day:%d}{suffix}a", "C1", f"{day}T10:00:00Z", 1.0),
                                         txn(f"T{day:%d}{suffix}b", "C2", f"{day}T11:00:00Z", 2.0)], suffix=suffix)


def _update(spark, settings, run_date: date | None = None):
    result = run_pipeline(spark, settings, "offline_features", run_date, console=Console(file=io.StringIO()))
    assert result.ok, result.error
    return result


def _files(table_dir: Path, version: int) -> dict[str, str]:
    """The table's data files at `version` and the feature/activity date partition each belongs to."""
    actions = pa.table(DeltaTable(str(table_dir), version=version).get_add_actions(flatten=True))
    column = next(c for c in actions.schema.names if c.startswith("partition."))
    return dict(zip(actions.column("path").to_pylist(), map(str, actions.column(column).to_pylist())))


def replaced(store: TableStore, table: str, before: int) -> set[str]:
    """The partitions the commits after version `before` rewrote: those whose data files changed."""
    old, new = _files(store.path(table), before), _files(store.path(table), store.version(table))
    return {old[f] for f in old.keys() - new.keys()} | {new[f] for f in new.keys() - old.keys()}


def dates(first: date, last: date) -> set[str]:
    return {str(first + timedelta(days=i)) for i in range((last - first).days + 1)}


def test_an_update_recomputes_the_feature_dates_of_the_drops_it_ingested_plus_the_late_window(spark, settings):
    store = TableStore(spark, settings)
    late_days = int(local_pipeline(settings, "offline_features").configuration["lakehouse.late_arrival_days"])
    assert late_days == 2  # bundle/resources/offline_features.pipeline.yml, the same on Databricks
    for day in DAYS[:4]:
        _drop(settings.landing, day)
    _update(spark, settings)  # no run date (as a Databricks pipeline task): every file present is ingested
    assert {str(r[0]) for r in store.read("ards").select("feature_date").distinct().collect()} == dates(DAYS[0], DAYS[3])

    # Two drops at once (a missed day caught up): from the earlier one's date minus the window, through the later one.
    for day in DAYS[4:6]:
        _drop(settings.landing, day)
    versions = {t: store.version(t) for t in ("customer_daily", "ards")}
    _update(spark, settings)
    assert replaced(store, "ards", versions["ards"]) == dates(DAYS[4] - timedelta(days=late_days), DAYS[5])
    assert replaced(store, "customer_daily", versions["customer_daily"]) == dates(DAYS[2], DAYS[5])

    # A file delivered late into an old day's folder (how a past day is reprocessed): from that day minus the window.
    for day in DAYS[6:]:
        _drop(settings.landing, day)
    _update(spark, settings)
    _drop(settings.landing, DAYS[4], suffix="_redelivered")
    versions = {t: store.version(t) for t in ("customer_daily", "ards")}
    _update(spark, settings, DAYS[-1])  # the local runner's --date: it only bounds which folders are ingested
    assert replaced(store, "ards", versions["ards"]) == dates(DAYS[2], DAYS[-1])

    # Nothing new: nothing recomputed, whatever the run date.
    versions = {t: store.version(t) for t in ("customer_daily", "ards")}
    _update(spark, settings, DAYS[-1] + timedelta(days=3))
    assert {t: store.version(t) for t in versions} == versions

    # The content is what a full recompute (the materialized view on Databricks) holds.
    incremental = sorted(map(tuple, store.read("ards").collect()))
    _update_full = run_pipeline(spark, settings, "offline_features", full_refresh=True, console=Console(file=io.StringIO()))
    assert _update_full.ok and sorted(map(tuple, store.read("ards").collect())) == incremental
    assert store.read("ards").where("feature_date = DATE'2026-03-06' AND customer_id = 'C1'").first().txn_count_7d == 6

    # The MRDS is as of the latest feature date, from the data: a local run date does not reach it.
    for run_date in (None, DAYS[1]):
        online = run_pipeline(spark, settings, "online_features", run_date, console=Console(file=io.StringIO()))
        assert online.ok and {r[0] for r in store.read("mrds").select(AS_OF).distinct().collect()} == {DAYS[-1]}


# -- Databricks' documented event-log query ------------------------------------------------------
def test_the_documented_expectations_query_runs_on_the_local_event_log_in_its_equivalent_form(spark, settings, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "numbers.py").write_text(textwrap.dedent("""
        import dlt

        @dlt.table
        @dlt.expect("even", "id % 2 = 0")
        @dlt.expect_or_drop("small", "id < 7")
        def numbers():
            return spark.range(10)
    """))
    pipeline = PipelineSettings(name="q", catalog=settings.catalog, target=settings.schema_name, sources=(source,))
    result = run_update(spark, settings, pipeline, console=Console(file=io.StringIO()))
    store = TableStore(spark, settings)
    log = store.name(table_name("q"))

    # The runtime's own metrics, as the README's query must return them.
    expected = {("numbers", e.name, e.passed_records, e.failed_records) for e in result.datasets["numbers"].expectations}
    assert expected == {("numbers", "even", 5, 5), ("numbers", "small", 7, 3)}
    rows = spark.sql(EXPECTATIONS_QUERY.format(event_log=log, update_id=result.update_id)).collect()
    assert {(r.dataset, r.expectation, r.passing_records, r.failing_records) for r in rows} == expected

    # Verbatim, Databricks' `details:path` operator does not parse locally: hence the documented equivalent form.
    with pytest.raises(Exception):  # noqa: B017 - the engine's parse error, whatever its class
        spark.sql(f"SELECT details:flow_progress.data_quality.expectations FROM {log}").collect()
    documented = EXPECTATIONS_QUERY.format(event_log="<catalog>.<schema>.event_log_<pipeline>",
                                           update_id="<update_id>")
    assert documented in README.read_text()
