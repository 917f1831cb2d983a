"""The served UI in headless Chromium, over real pipeline updates on generated data with defects.

One module-scoped lakehouse: two offline_features updates (a full refresh, then a daily one) and an
online_features update on three days of generated landing data, plus job runs, data-quality, drift, predictions and a model registry
written as their jobs would. Every page must load without a console message, draw its graph and
charts (screenshots kept under test-artifacts/ui/) and show the numbers the event log holds, as this
module computes them from the event log table itself (DataFrame API and json, not the UI's SQL).
"""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, Page
from pydantic import SecretStr
from pyspark.sql import functions as F
from rich.console import Console

from lakehouse.app.ui.server import create_app
from lakehouse.core.job_settings import GateSettings
from lakehouse.core.storage import TableStore
from lakehouse.local.azurite import Azurite
from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.dlt_runtime import event_log_table
from lakehouse.local.pipelines import run_pipeline
from ml import uc_tags
from ml.evaluation.paired import HeldOut, Interval
from ml.registry import decide, decision_tags
from quality.publish import Publisher

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "ui"
CONFIG = GeneratorConfig(seed=3, customers=60, defect_rate=0.05, file_defect_rate=0.3, transactions_per_customer_day=2.0)
DAYS = [CONFIG.world_start + timedelta(days=i) for i in range(3)]
OFFLINE, ONLINE = "offline_features", "online_features"
JOB_RUNS_SCHEMA = ("run_id string, job string, task string, run_date date, attempt int, status string, "
                   "started_at timestamp, ended_at timestamp, duration_s double, error string")
DRIFT_SCHEMA = ("month date, column_name string, method string, score double, threshold double, drifted boolean, "
                "dataset_drift boolean, drifted_share double, retrain_recommended boolean")  # what the UI reads of it
PREDICTIONS_SCHEMA = ("customer_id string, score_date date, probability double, decision boolean, model_name string, "
                      "model_version string, run_id string, scored_at timestamp")
CHARTS_DRAWN = "document.body.dataset.charts"


# -- the lakehouse ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ui_settings(base_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "landing_path": str(root / "landing"),
        "schema_name": f"ui_{uuid.uuid4().hex[:8]}", "mlflow_tracking_uri": uri, "mlflow_registry_uri": uri,
        "experiment_name": "ui-tests", "model_name": "ui_model"})
    settings.blob = settings.blob.model_copy(update={"local_dir": root / "blob"})
    return settings


@pytest.fixture(scope="module")
def registry_job(ui_settings):
    """The registry is built in a thread while the pipelines run (MLflow's import and schema take seconds)."""
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(make_registry, ui_settings)


@pytest.fixture(scope="module")
def lake(spark, ui_settings, registry_job):
    settings = ui_settings
    generate_range(CONFIG, settings.landing, DAYS[0], DAYS[-1])
    console = Console(file=io.StringIO())
    for day in DAYS[1:]:
        assert run_pipeline(spark, settings, OFFLINE, day, full_refresh=day == DAYS[1], console=console).ok
    for day in DAYS[2:]:
        assert run_pipeline(spark, settings, ONLINE, day, console=console).ok
    assert run_incident(spark, settings, console).state == "FAILED"
    store = TableStore(spark, settings)
    store.overwrite(spark.createDataFrame(job_runs(), JOB_RUNS_SCHEMA), "job_runs")
    store.overwrite(spark.createDataFrame(drift_rows(), DRIFT_SCHEMA), "drift_history")
    store.overwrite(spark.createDataFrame(predictions(), PREDICTIONS_SCHEMA), "predictions")
    write_quality_results(store, settings)
    return settings


# A delivery that breaks a fail rule: `checked` fails the update, `scored` downstream of it is skipped.
INCIDENT = "incident"
INCIDENT_PIPELINE = """
import dlt
from pyspark.sql import functions as F


@dlt.table
def delivery():
    return spark.range(10).withColumn("amount", F.col("id") - 2)


@dlt.table
@dlt.expect_or_fail("amount_not_negative", "amount >= 0")
def checked():
    return dlt.read("delivery")


@dlt.table
def scored():
    return dlt.read("checked")
"""


def run_incident(spark: Any, settings: Any, console: Console) -> Any:
    from lakehouse.local.dlt_runtime.runner import run_update
    from lakehouse.local.pipelines import folder_pipeline

    folder = Path(settings.storage_root).parent / INCIDENT
    folder.mkdir()
    (folder / "pipeline.py").write_text(INCIDENT_PIPELINE)
    return run_update(spark, settings, folder_pipeline(settings, [folder], {}, name=INCIDENT), console=console)


def job_runs() -> list[tuple]:
    """Daily runs of five tasks; on the second day training failed and scoring was skipped."""
    rows = []
    for d, day in enumerate(DAYS[1:]):
        for i, task in enumerate(("offline_features", "online_features", "data_quality", "train", "score")):
            status = {"train": "FAILED", "score": "SKIPPED"}.get(task, "SUCCESS") if d == 1 else "SUCCESS"
            start = datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(hours=1, minutes=5 * i)
            seconds = 20.0 + 5 * i + d
            rows.append((f"run-{d}", "daily", task, day, 1 + (status == "FAILED"), status, start,
                         start + timedelta(seconds=seconds), seconds,
                         "ValueError: not enough rows to train" if status == "FAILED" else None))
    return rows


def drift_rows() -> list[tuple]:
    month = date(2026, 1, 1)
    return [(month, column, "wasserstein", score, 0.1, score > 0.1, False, 2 / 3, False)
            for column, score in (("txn_count_30d", 0.02), ("spend_30d", 0.15), ("tenure_days", 0.31))]


def predictions() -> list[tuple]:
    scored = datetime(2026, 1, 5, 2, 30)
    return [(f"C{i:04d}", day, i / 40, i % 4 == 0, "ui_model", "2", "run", scored + timedelta(days=n))
            for n, day in enumerate(DAYS[1:]) for i in range(40 - n)]


def write_quality_results(store: TableStore, settings: Any) -> None:
    """Two data-quality runs in `data_quality_results` and the HTML report of the later one in the blob folder."""
    from quality.history import RESULTS_TABLE, SCHEMA

    rows = [("q1", DAYS[1], "local", "bronze_transactions", "volume", "volume", "error", "passed", "ok", 1.0, "", "",
             "{}", datetime(2026, 1, 4, 3)),
            ("q2", DAYS[2], "local", "bronze_transactions", "volume", "volume", "error", "failed", "error", 9.0, "", "",
             "{}", datetime(2026, 1, 5, 3))]
    store.overwrite(store.spark.createDataFrame(rows, SCHEMA), RESULTS_TABLE, partition_by=["run_date"])
    report = settings.blob.local_dir / settings.blob.container / f"data-quality/{DAYS[-1]:%Y/%m/%d}/report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<!doctype html><title>dq</title><h1 id='dq'>data quality report</h1>")


# The gate's decisions on versions 2 (first model) and 3 (a noisy gain, held), tagged by the gate's own writer.
GATE = GateSettings(min_improvement=0.002)
FIRST = HeldOut(rows=2000, positives=130, customers=412, positive_customers=60)
NOISY = Interval("roc_auc", 0.004, -0.008, 0.016, 0.95, 2000)


def gate_tags(version: int) -> dict[str, str]:
    """What the gate writes on a version: the first model promoted, then a gain of +0.004 whose interval spans 0."""
    challenger, champion = {"roc_auc": 0.73, "lift_at_k": 3.0, "brier": 0.05}, {"roc_auc": 0.726}
    decision = (decide(challenger, None, GATE, FIRST) if version == 2
                else decide(challenger, champion, GATE, FIRST, NOISY))
    outcome = "promoted" if decision.promote else "held"
    return decision_tags(replace(decision, outcome=outcome, champion_version=None if version == 2 else "2"), GATE)


def make_registry(settings: Any) -> dict[str, dict[str, float]]:
    """Three registered versions with test metrics: 2 is @champion, 3 is @challenger (held by the gate)."""
    from mlflow import MlflowClient

    (Path(settings.storage_root).parent / "mlflow").mkdir(exist_ok=True)
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri)
    experiment = client.create_experiment(settings.experiment_name)
    client.create_registered_model(settings.model_name)
    metrics = {}
    for i in range(3):
        run = client.create_run(experiment, run_name=f"train {i}")
        metrics[str(i + 1)] = {"roc_auc": 0.70 + 0.03 * i, "pr_auc": 0.30 + 0.02 * i, "brier": 0.08 - 0.01 * i,
                               "lift_at_k": 2.5 + 0.4 * i, "rows": 10_000.0 + 500 * i}  # as ml/evaluation/metrics.py logs
        for name, value in metrics[str(i + 1)].items():
            client.log_metric(run.info.run_id, f"test_{name}", value)
        client.set_terminated(run.info.run_id)
        tags = {uc_tags.GATE_OUTCOME: "promoted", uc_tags.GATE_REASON: f"reason {i}"} if i == 0 else gate_tags(i + 1)
        client.create_model_version(settings.model_name, f"runs:/{run.info.run_id}/model", run.info.run_id,
                                    tags={uc_tags.RUN_DATE: f"2026-01-0{i + 2}", **tags})
    client.set_registered_model_alias(settings.model_name, "champion", "2")
    client.set_registered_model_alias(settings.model_name, "challenger", "3")
    return metrics


@pytest.fixture(scope="module")
def registry(registry_job):
    return registry_job.result()


@contextmanager
def serving(spark: Any, settings: Any) -> Iterator[str]:
    """The UI of `settings` served from a thread; yields its base URL."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, create_app(spark, settings), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join()


@pytest.fixture(scope="module")
def server(spark, lake, registry):
    with serving(spark, lake) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("chromium"))
    yield chromium
    chromium.close()


def visit(browser: Browser, url: str, shot: str) -> Page:
    """Open a page, wait until its charts are drawn, keep a screenshot, and refuse any console message."""
    page = browser.open(url, ready=CHARTS_DRAWN)
    page.screenshot(ARTIFACTS / f"{shot}.png")
    assert page.evaluate(CHARTS_DRAWN) == "ready"
    assert page.problems == [], page.problems
    return page


def number(text: str) -> int | None:
    return None if text == "—" else int(text.replace(",", ""))


# -- what the event log holds, computed here ---------------------------------------------------------
def flow_events(spark: Any, settings: Any, pipeline: str) -> list[dict[str, Any]]:
    log = TableStore(spark, settings).read(event_log_table(pipeline)).where(F.col("event_type") == "flow_progress")
    rows = log.select(F.col("origin.update_id").alias("update"), F.col("origin.dataset_name").alias("dataset"),
                      "details").collect()
    return [{"update": r["update"], "dataset": r["dataset"], **json.loads(r["details"])["flow_progress"]} for r in rows]


def update_ids(spark: Any, settings: Any, pipeline: str) -> list[str]:
    """Update ids, newest first."""
    log = TableStore(spark, settings).read(event_log_table(pipeline))
    rows = log.groupBy(F.col("origin.update_id").alias("u")).agg(F.min("timestamp").alias("t")).orderBy(F.desc("t"))
    return [r["u"] for r in rows.collect()]


def per_dataset(events: list[dict[str, Any]], update: str) -> dict[str, tuple[int, int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in events:
        if e["update"] == update:
            totals[e["dataset"]][0] += e.get("metrics", {}).get("num_output_rows", 0)
            totals[e["dataset"]][1] += e.get("data_quality", {}).get("dropped_records", 0)
    return {k: (v[0], v[1]) for k, v in totals.items()}


def per_rule(events: list[dict[str, Any]], updates: set[str]) -> dict[tuple[str, str], tuple[int, int]]:
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for e in events:
        if e["update"] in updates:
            for x in e.get("data_quality", {}).get("expectations", []):
                totals[(x["dataset"], x["name"])][0] += x["passed_records"]
                totals[(x["dataset"], x["name"])][1] += x["failed_records"]
    return {k: (v[0], v[1]) for k, v in totals.items()}


# -- pages -------------------------------------------------------------------------------------------
PAGES = {
    "index": "/", "pipeline-offline": f"/pipelines/{OFFLINE}", "pipeline-online": f"/pipelines/{ONLINE}",
    "expectations-offline": f"/expectations/{OFFLINE}", "expectations-online": f"/expectations/{ONLINE}",
    "jobs": "/jobs", "models": "/models", "reports": "/reports",
}


CHARTS = {"expectations-offline": 3, "jobs": 1, "models": 4, "pipeline-offline": 1, "pipeline-online": 1}


@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_without_console_messages_and_draws_its_graph_and_charts(spark, lake, browser, server, name):
    page = visit(browser, server + PAGES[name], name)
    specs = page.evaluate("document.querySelectorAll('script[data-chart]').length")
    drawn = page.evaluate("document.querySelectorAll('.chart.js-plotly-plot .main-svg .cartesianlayer .subplot').length")
    assert drawn == specs
    if name == "expectations-online":  # failures per update when any, and pass rates and top rules when a rule failed
        events = flow_events(spark, lake, ONLINE)
        failed = any(f for _, f in per_rule(events, {e["update"] for e in events}).values())
        dropped = any(e.get("data_quality", {}).get("dropped_records") for e in events)
        assert specs == (failed or dropped) + 2 * failed
        if not (failed or dropped):
            assert "No record failed a rule or was dropped" in page.evaluate("document.getElementById('failures').textContent")
    else:
        assert specs == CHARTS.get(name, 0)
    if name.startswith("pipeline"):
        nodes = page.evaluate("document.querySelectorAll('#dataset-graph g.node').length")
        edges = page.evaluate("document.querySelectorAll('#dataset-graph path.edge').length")
        assert nodes >= 1 and edges >= 1


def test_pipeline_graph_shows_each_datasets_numbers_from_the_event_log(spark, lake, browser, server):
    events = flow_events(spark, lake, OFFLINE)
    newest, *older = update_ids(spark, lake, OFFLINE)
    page = visit(browser, f"{server}/pipelines/{OFFLINE}", "pipeline-latest")
    assert page.evaluate("document.getElementById('update-id').textContent") == newest
    chosen = page.evaluate(f"document.querySelector('.chooser a[href$=\"{older[-1]}\"]').getAttribute('href')")
    page = visit(browser, server + chosen, "pipeline-chosen")  # the first update, a full refresh
    assert page.evaluate("document.getElementById('update-id').textContent") == older[-1]

    expected = per_dataset(events, older[-1])
    shown = {r["dataset"]: r for r in page.table("#dataset-table")}
    assert set(shown) == set(expected)
    for dataset, (written, dropped) in expected.items():
        assert (number(shown[dataset]["rows written"]), number(shown[dataset]["dropped"])) == (written, dropped), dataset
        assert shown[dataset]["status"] == "COMPLETED"
    for source in ("customers", "transactions"):  # quarantined = what the quarantine sibling wrote
        checked = "silver_customer_updates" if source == "customers" else f"{source}_checked"
        assert number(shown[checked]["quarantined"]) == expected[f"quarantine_{source}"][0] == expected[checked][1] > 0

    rules = per_rule(events, {older[-1]})
    rows = {(r["dataset"], r["rule"]): r for r in page.table("#rule-table")}
    assert set(rows) == set(rules)
    for key, (passed, failed) in rules.items():
        rate = "—" if passed + failed == 0 else f"{100 * passed / (passed + failed):.2f}%"
        assert (number(rows[key]["passed"]), number(rows[key]["failed"]), rows[key]["pass rate"]) == (passed, failed, rate)
        assert (key[1] in shown[key[0]]["failing rules"]) == (failed > 0)
    # the SVG: one node per dataset, with its rows written and its failing rules
    nodes = page.evaluate("Object.fromEntries([...document.querySelectorAll('#dataset-graph g.node')].map("
                          "g => [g.dataset.dataset, [...g.querySelectorAll('text')].map(t => t.textContent)]))")
    assert set(nodes) == set(expected)
    for dataset, (written, _) in expected.items():
        assert nodes[dataset][1].startswith(f"{written:,} written"), nodes[dataset]
    failing = [n for n, text in nodes.items() if "failing:" in text[2]]
    assert failing and all(any(rules[k][1] for k in rules if k[0] == n) for n in failing)


def test_expectation_dashboard_numbers_equal_the_event_log(spark, lake, browser, server):
    events = flow_events(spark, lake, OFFLINE)
    updates = update_ids(spark, lake, OFFLINE)
    page = visit(browser, f"{server}/expectations/{OFFLINE}", "expectations-numbers")

    rules = per_rule(events, set(updates))
    failing = sorted(((k, v) for k, v in rules.items() if v[1]), key=lambda kv: (-kv[1][1], kv[0]))[:10]
    top = page.table("#top-rule-table")
    assert [((r["dataset"], r["rule"]), (number(r["passed records"]), number(r["failed records"]))) for r in top] == failing
    legend = page.evaluate("[...document.querySelectorAll('#chart-pass-rates .legendtext')].map(t => t.textContent)")
    assert sorted(legend) == sorted(f"{d}.{r}" for (d, r), v in rules.items() if v[1])

    per_update = {r["update"]: r for r in page.table("#update-table")}
    assert list(per_update) == [u[:8] for u in updates]
    for update in updates:
        failed = sum(v[1] for v in per_rule(events, {update}).values())
        dropped = sum(v[1] for v in per_dataset(events, update).values())
        assert (number(per_update[update[:8]]["failed records"]), number(per_update[update[:8]]["dropped records"])) == (failed, dropped)

    samples = page.table("#sample-table")
    store = TableStore(spark, lake)
    broken = {", ".join(r["_failed_rules"]) for source in ("customers", "transactions", "support", "churn")
              for r in store.read(f"quarantine_{source}").select("_failed_rules").collect()}
    assert samples and {s["failed rules"] for s in samples} <= broken


def test_job_runs_page_shows_every_run_with_duration_and_error(browser, server):
    page = visit(browser, f"{server}/jobs", "jobs-runs")
    runs = page.table("#run-table")
    assert sorted((r["task"], r["run date"], r["status"], r["duration"]) for r in runs) == sorted(
        (row[2], row[3].isoformat(), row[5], f"{row[8]:.1f} s") for row in job_runs())
    failed = [r for r in runs if r["status"] == "FAILED"]
    assert len(failed) == 1 and failed[0]["error"] == "ValueError: not enough rows to train" and failed[0]["attempt"] == "2"
    reports = page.evaluate("[...document.querySelectorAll('#run-table a')].map(a => a.getAttribute('href'))")
    assert reports == [f"/blob/data-quality/{DAYS[-1]:%Y/%m/%d}/report.html"]  # the one report file published
    unpublished = page.evaluate("[...document.querySelectorAll('#run-table .missing')].map(m => m.textContent)")
    assert unpublished == ["not published"]  # the first day's data_quality run
    bars = page.evaluate("document.querySelectorAll('#chart-timeline .bars .point').length")
    assert bars == len(job_runs())


def test_models_page_shows_champion_challenger_metrics_and_last_scoring_run(browser, server, registry):
    page = visit(browser, f"{server}/models", "models-registry")
    champion = page.evaluate("document.getElementById('champion').textContent")
    challenger = page.evaluate("document.getElementById('challenger').textContent")
    assert "version 2" in champion and f"roc_auc {registry['2']['roc_auc']:.4f}" in " ".join(champion.split())
    assert "version 3" in challenger and "gate: held" in challenger
    # what a person checks before trusting a decision: the interval next to it, and the sample it rests on
    held = page.evaluate("[...document.querySelectorAll('#challenger p')].map(p => p.textContent.split(/\\s+/).join(' ').trim())")
    decision = next(i for i, line in enumerate(held) if line.startswith("gate: held"))
    assert "does not beat champion 0.7260" in held[decision] and "the gain may be noise" in held[decision]
    assert held[decision + 1] == ("roc_auc gain +0.0040, 95% CI [-0.0080, +0.0160], margin 0.002 "
                                  "2,000 held-out rows, 130 positives, 412 customers (60 churners)")
    method = page.evaluate("document.querySelector('#challenger .gate-interval').title")
    assert method == "paired customer bootstrap, percentile; 2000 resamples; seed 0"
    promoted = " ".join(page.evaluate("document.querySelector('#champion .gate-evidence').textContent").split())
    assert promoted == "2,000 held-out rows, 130 positives, 412 customers (60 churners)"  # a first model: no interval
    assert "95% CI [-0.0080, +0.0160]" in page.table("#version-table")[0]["gate"]  # newest first
    versions = {r["version"]: r for r in page.table("#version-table")}
    assert versions["1"]["pr_auc"] == f"{registry['1']['pr_auc']:.4f}" and versions["2"]["aliases"] == "champion"
    last = [row for row in predictions() if row[1] == DAYS[-1]]
    text = " ".join(page.evaluate("document.getElementById('last-scoring').textContent").split())
    assert f"score date {DAYS[-1]}, {len(last)} rows with model version 2, {sum(r[3] for r in last)} positive" in text


def test_report_links_open_the_published_reports_and_only_those(browser, server):
    page = visit(browser, f"{server}/reports", "reports-links")
    links = page.evaluate("[...document.querySelectorAll('#quality-table a, #drift-table a')].map(a => a.href)")
    assert links == [f"{server}/blob/data-quality/{DAYS[-1]:%Y/%m/%d}/report.html"]
    drift = page.table("#drift-table")
    assert drift[0]["month"] == "2026-01" and drift[0]["report"] == "not published"
    assert page.evaluate("document.getElementById('report-problem')") is None  # the folder store answered
    report = browser.open(links[0])
    assert report.evaluate("document.getElementById('dq').textContent") == "data quality report"
    with pytest.raises(urllib.error.HTTPError, match="404") as missing:  # not published: a clear 404 saying so
        urllib.request.urlopen(f"{server}/blob/drift/2026/01/report.html")
    assert "is not published" in missing.value.read().decode()
    with pytest.raises(urllib.error.HTTPError, match="404"):  # only report files are served
        urllib.request.urlopen(f"{server}/blob/..%2F..%2Fetc/passwd")


def test_unknown_pipeline_or_update_is_404(server):
    for path in ("/pipelines/nope", f"/pipelines/{OFFLINE}/updates/nope", "/expectations/nope", "/static/x.js",
                 f"/pipelines/{OFFLINE}/datasets/nope", "/pipelines/nope/datasets/ards"):
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(server + path)


# -- charts that read at a glance, dataset pages, flow timelines, report links --------------------------
def chart_axes(page: Page, chart: str) -> dict[str, Any]:
    """What a person reads off a drawn chart: its y axis range, its series and the values they hold."""
    return page.evaluate(f"""(() => {{ const c = document.getElementById('chart-{chart}');
        const values = c.data.flatMap(t => t.y.filter(v => v !== null));
        return {{y: c._fullLayout.yaxis.range, series: c.data.map(t => t.name), low: Math.min(...values),
                 high: Math.max(...values), points: c.data.map(t => t.y.filter(v => v !== null).length)}}; }})()""")


def test_models_page_draws_scores_on_a_unit_axis_and_other_metrics_apart(browser, server, registry):
    page = visit(browser, f"{server}/models", "models-charts")
    scores = chart_axes(page, "scores")
    assert scores["y"] == [0, 1] and scores["series"] == ["brier", "pr_auc", "roc_auc"] and scores["points"] == [3, 3, 3]
    for metric in ("lift_at_k", "rows"):  # each on an axis of its own, which holds all its values
        own = chart_axes(page, f"metric-{metric}")
        values = [m[metric] for m in registry.values()]
        assert own["series"] == [metric] and own["y"][0] <= min(values) and max(values) <= own["y"][1], own
    assert page.evaluate("document.querySelectorAll('#metrics .chart').length") == 3


def test_pass_rate_axes_stop_at_100_percent_and_show_the_lowest_rate(browser, server):
    page = visit(browser, f"{server}/expectations/{OFFLINE}", "expectations-axes")
    rates = chart_axes(page, "pass-rates")
    assert rates["y"][1] == 100 and 0 <= rates["y"][0] < rates["low"] and rates["high"] <= 100


def test_dataset_page_shows_schema_history_expectations_and_quarantined_rows(spark, lake, browser, server):
    dataset, quarantine = "silver_customer_updates", "quarantine_customers"
    page = visit(browser, f"{server}/pipelines/{OFFLINE}/datasets/{dataset}", "dataset-silver")
    store = TableStore(spark, lake)
    assert [(r["column"], r["type"]) for r in page.table("#schema-table")] == [
        (f.name, f.dataType.simpleString()) for f in store.read(dataset).schema.fields]

    assert_history(store, dataset, page)

    events = flow_events(spark, lake, OFFLINE)  # per update and rule: the event log's passed and failed records
    expected = {(u[:8], rule): counts for u in update_ids(spark, lake, OFFLINE)
                for (d, rule), counts in per_rule(events, {u}).items() if d == dataset}
    rows = {(r["update"], r["rule"]): (number(r["passed"]), number(r["failed"])) for r in page.table("#expectation-table")}
    assert rows == expected and any(failed for _, failed in rows.values())
    rates = chart_axes(page, "dataset-pass-rates")
    assert rates["y"][1] == 100 and rates["low"] < 100

    samples = page.table("#quarantine-table")  # the latest quarantined rows, each with the rules it broke
    quarantined = store.read(quarantine).select("_failed_rules").collect()
    assert len(samples) == min(20, len(quarantined)) > 0
    assert {s["table"] for s in samples} == {quarantine}
    assert {s["failed rules"] for s in samples} <= {", ".join(r["_failed_rules"]) for r in quarantined}


def assert_history(store: TableStore, dataset: str, page: Page) -> None:
    """The page's history table holds every commit of the Delta table, newest first, with the rows it wrote."""
    from deltalake import DeltaTable

    history = DeltaTable(str(store.path(dataset))).history()
    shown = page.table("#history-table")
    assert [(int(r["version"]), r["operation"]) for r in shown] == [(h["version"], h["operation"]) for h in history]
    for row, commit in zip(shown, history):
        for metric in ("numOutputRows", "numTargetRowsInserted", "numTargetRowsUpdated"):
            value = commit.get("operationMetrics", {}).get(metric)
            assert value is None or f"{metric}={value:,}" in row["rows"], (metric, row, commit)


def test_dataset_page_of_a_table_written_by_each_update_shows_every_version(spark, lake, browser, server):
    page = visit(browser, f"{server}/pipelines/{OFFLINE}/datasets/silver_transactions", "dataset-versions")
    assert_history(TableStore(spark, lake), "silver_transactions", page)
    writes = [r for r in page.table("#history-table") if r["operation"] != "CREATE TABLE"]
    assert len(writes) == 2  # one commit per update, each with the rows it wrote
    written = {r["update"]: number(r["rows written"]) for r in page.table("#update-table")}
    assert sorted(int(w["rows"].split("=")[1].replace(",", "")) for w in writes) == sorted(written.values())
    assert "No expectation is declared on this dataset." in page.evaluate("document.getElementById('expectations').textContent")


def test_dataset_page_of_a_feature_table_shows_its_declared_key_and_comments(spark, lake, browser, server):
    from lakehouse.core import table_metadata

    page = visit(browser, f"{server}/pipelines/{OFFLINE}/datasets/ards", "dataset-ards")
    declared = table_metadata.read(TableStore(spark, lake), "ards")
    rows = {r["column"]: r for r in page.table("#schema-table")}
    assert rows["customer_id"]["key"] == "primary key" and rows["feature_date"]["key"] == "primary key, TIMESERIES"
    assert sum(1 for r in rows.values() if r["key"]) == 2
    for column in declared.schema.columns:
        assert rows[column.name]["comment"] == (column.comment or "")
        assert (rows[column.name]["nullable"] == "NOT NULL") == (not column.nullable)
    assert "This dataset has no quarantine table." in page.evaluate("document.getElementById('quarantine').textContent")
    rules = page.table("#expectation-table")  # rules that passed every record: counted, no chart to read
    assert rules and all(number(r["failed"]) == 0 for r in rules)
    assert "Every rule passed every record" in page.evaluate("document.getElementById('expectations').textContent")
    assert page.evaluate("document.querySelectorAll('#expectations .chart').length") == 0


def test_update_page_shows_the_timeline_of_its_flows(spark, lake, browser, server):
    newest = update_ids(spark, lake, OFFLINE)[0]
    log = TableStore(spark, lake).read(event_log_table(OFFLINE)).where(F.col("origin.update_id") == newest)
    progress = log.where("event_type = 'flow_progress'").select(
        F.col("origin.flow_name").alias("flow"), F.get_json_object("details", "$.flow_progress.status").alias("status"),
        "timestamp").collect()
    # the log records each flow as Databricks does: QUEUED, STARTING, RUNNING, then its end state
    ended = {r["flow"]: (r["status"], r["timestamp"]) for r in progress if r["status"] not in ("QUEUED", "STARTING",
                                                                                                 "RUNNING")}
    started = {r["flow"]: r["timestamp"] for r in progress if r["status"] == "STARTING"}
    page = visit(browser, f"{server}/pipelines/{OFFLINE}", "pipeline-timeline")
    flows = page.table("#flow-table")
    assert {(f["flow"], f["status"]) for f in flows} == {(flow, status) for flow, (status, _) in ended.items()}
    assert [f["flow"] for f in flows] == sorted(ended, key=lambda flow: ended[flow][1])  # the order they ran in
    assert not any(f["started"].endswith("*") for f in flows)  # every start is recorded, none approximated
    runs = page.evaluate("document.getElementById('chart-flows').data.filter(t => t.name !== 'QUEUED')"
                         ".flatMap(t => t.x)")
    assert len(runs) == len(ended)
    busy = sum((at - started[flow]).total_seconds() for flow, (_, at) in ended.items())
    assert abs(sum(runs) / 1000 - busy) < 0.01  # each flow's bar runs from its recorded start to its end
    rows = page.evaluate("[...document.querySelectorAll('#chart-flows .ytick text')].map(t => t.textContent)")
    assert sorted(rows) == sorted(ended)


def test_graph_nodes_and_the_overview_link_every_dataset_page_and_each_page_is_served(browser, server):
    page = visit(browser, f"{server}/pipelines/{OFFLINE}", "pipeline-links")
    nodes = page.evaluate("Object.fromEntries([...document.querySelectorAll('#dataset-graph a')].map("
                          "a => [a.querySelector('g.node').dataset.dataset, a.getAttribute('href')]))")
    datasets = {r["dataset"] for r in page.table("#dataset-table")}
    assert nodes == {d: f"/pipelines/{OFFLINE}/datasets/{d}" for d in datasets}
    index = visit(browser, f"{server}/", "index-datasets")
    linked = index.evaluate("[...document.querySelectorAll('#dataset-index a')].map(a => a.getAttribute('href'))")
    assert set(nodes.values()) <= set(linked) and any(f"/pipelines/{ONLINE}/datasets/" in href for href in linked)
    kinds = ("transactions_checked", "quarantine_support", "bronze_churn")  # a view, a quarantine table, a bronze table
    for href in [h for h in linked if h.rsplit("/", 1)[1] in kinds or f"/{ONLINE}/" in h][:len(kinds) + 1]:
        with urllib.request.urlopen(server + href, timeout=120) as reply:
            assert reply.status == 200 and "Delta history" in reply.read().decode()


@pytest.fixture(scope="module")
def azurite():
    with Azurite() as server:
        yield server


def blob_settings(settings: Any, connection_string: str | None) -> Any:
    """`settings` with its reports in the Blob container of `connection_string` (None: no report store at all)."""
    changed = settings.model_copy(deep=True)
    changed.blob.local_dir = None
    changed.blob.connection_string = None if connection_string is None else SecretStr(connection_string)
    changed.blob.container = f"ui-{uuid.uuid4().hex[:8]}"
    return changed


def test_reports_published_to_azurite_are_linked_and_served(spark, lake, azurite, browser):
    settings = blob_settings(lake, azurite.connection_string)
    Publisher(settings).publish("drift/2026/01", {"report.html": b"<h1 id='drift'>drift report</h1>",
                                                  "summary.json": b'{"dataset_drift": false}'}, {"kind": "drift"})
    with serving(spark, settings) as url:
        page = visit(browser, f"{url}/reports", "reports-azurite")
        links = page.evaluate("[...document.querySelectorAll('#quality-table a, #drift-table a')].map(a => a.href)")
        assert links == [f"{url}/blob/drift/2026/01/report.html", f"{url}/blob/drift/2026/01/summary.json"]
        assert browser.open(links[0]).evaluate("document.getElementById('drift').textContent") == "drift report"
        with urllib.request.urlopen(links[1]) as reply:
            assert reply.headers["Content-Type"] == "application/json" and json.load(reply) == {"dataset_drift": False}
        with pytest.raises(urllib.error.HTTPError, match="404") as missing:
            urllib.request.urlopen(f"{url}/blob/data-quality/{DAYS[-1]:%Y/%m/%d}/report.html")
        assert f"is not published in Blob container {settings.blob.container}" in missing.value.read().decode()


@pytest.mark.parametrize("store", ["stopped Azurite", "none"])
def test_a_report_store_that_cannot_answer_is_named_and_never_a_404(spark, lake, browser, store):
    connection_string = None
    if store == "stopped Azurite":
        with Azurite() as stopped:
            connection_string = stopped.connection_string
    with serving(spark, blob_settings(lake, connection_string)) as url:
        page = visit(browser, f"{url}/reports", f"reports-{store.replace(' ', '-')}")
        problem = page.evaluate("document.getElementById('report-problem').textContent")
        expected = "is not reachable" if connection_string else "no report store is configured"
        assert expected in problem
        assert page.evaluate("document.querySelectorAll('#quality-table a, #drift-table a').length") == 0
        with pytest.raises(urllib.error.HTTPError, match="503") as unavailable:
            urllib.request.urlopen(f"{url}/blob/drift/2026/01/report.html")
        assert expected in unavailable.value.read().decode()


def test_a_failed_update_shows_the_failing_flow_its_error_and_what_it_skipped(browser, server):
    page = visit(browser, f"{server}/pipelines/{INCIDENT}", "pipeline-failed")
    flows = {f["flow"]: f for f in page.table("#flow-table")}
    assert {name: f["status"] for name, f in flows.items()} == {
        "delivery": "COMPLETED", "checked": "FAILED", "scored": "SKIPPED"}
    assert "amount_not_negative" in flows["checked"]["error"]
    statuses = page.evaluate("document.getElementById('chart-flows').data.map(t => t.name)")
    assert sorted(statuses) == ["COMPLETED", "FAILED", "QUEUED", "SKIPPED"]  # QUEUED: the time each waited to run
    colours = page.evaluate("Object.fromEntries(document.getElementById('chart-flows').data.map(t => [t.name, t.marker.color]))")
    assert colours["FAILED"] == "#d64541" and colours["COMPLETED"] == "#2e9d5b"
    assert page.evaluate("document.querySelector('#dataset-graph g.node[data-dataset=\"checked\"]').classList.contains('status-failed')")
    overview = {r["pipeline"]: r for r in visit(browser, f"{server}/", "index-failed").table("#pipelines table")}
    assert overview[INCIDENT]["state"] == "FAILED" and "amount_not_negative" in overview[INCIDENT]["error"]
    dataset = visit(browser, f"{server}/pipelines/{INCIDENT}/datasets/checked", "dataset-failed")
    assert [u["status"] for u in dataset.table("#update-table")] == ["FAILED"]
