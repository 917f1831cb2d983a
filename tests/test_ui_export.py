"""The static export and the `ui` command, on a crafted lakehouse whose names and values carry HTML.

The event log is written with the runtime's own EventLog (Databricks' schema, including the
`flow_definition` events Databricks records), so the pages must escape a dataset, rule, task or
column named `<img src=x onerror=alert(1)>` and show it literally: no element, no dialog, no console
message, in the page and in plotly's labels. Also: every page renders its empty state on a lakehouse
with no tables, and the command exports, publishes under ui/<yyyy>/<mm>/<dd>/ and serves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser import Browser
from processes import alive, descendants, wait_for

from lakehouse.app.ui import pages
from lakehouse.app.ui.export import export_site
from lakehouse.app.ui.render import ExportLinks
from lakehouse.app.ui.source import Tables
from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime.event_log import EventLog
from tests.conftest import own_mlflow

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "ui-export"
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
BOLD = "<b>bold</b>"
DATASET = f"checked_{IMG}"
PIPELINE = "hostile"
DAY = date(2026, 1, 3)
CONTAINER_FOLDER = f"ui/{DAY:%Y/%m/%d}"
DATASET_PAGE = ExportLinks.dataset_file(PIPELINE, DATASET)[:-len(".html")]


def write_event_log(store: TableStore) -> None:
    """One update: a raw input, a checked dataset with two failing rules, and its quarantine table."""
    log = EventLog(PIPELINE, "pipeline-1", "update-1")
    log.emit("create_update", "started", {"create_update": {"full_refresh": True, "config": {"lakehouse.feature_end_date": str(DAY)}}})
    log.emit("update_progress", "running", {"update_progress": {"state": "RUNNING"}})
    for dataset, inputs in ((DATASET, [f"raw_{BOLD}"]), ("quarantine_evil", [f"raw_{BOLD}"])):
        log.emit("flow_definition", "defined", {"flow_definition": {"output_dataset": dataset, "input_datasets": inputs}},
                 flow=dataset, dataset=dataset)
    for status in ("QUEUED", "RUNNING"):  # as Databricks records a flow; the quarantine flow only ends (as locally)
        log.emit("flow_progress", status, {"flow_progress": {"status": status}}, flow=DATASET, dataset=DATASET)
    expectations = [{"name": IMG, "dataset": DATASET, "passed_records": 7, "failed_records": 3},
                    {"name": BOLD, "dataset": DATASET, "passed_records": 9, "failed_records": 1},
                    {"name": SCRIPT, "dataset": DATASET, "passed_records": 10, "failed_records": 0}]
    log.emit("flow_progress", "done", {"flow_progress": {"status": "COMPLETED", "metrics": {"num_output_rows": 6},
             "data_quality": {"dropped_records": 4, "expectations": expectations}}}, flow=DATASET, dataset=DATASET)
    log.emit("flow_progress", "done", {"flow_progress": {"status": "COMPLETED", "metrics": {"num_output_rows": 4}}},
             flow="quarantine_evil", dataset="quarantine_evil")
    log.emit("update_progress", "failed", {"update_progress": {"state": "FAILED"}}, level="ERROR", error=f"boom {SCRIPT}")
    log.flush(store)


@pytest.fixture(scope="module")
def hostile(spark, base_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-hostile")
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"  # never created: the models page shows its empty state
    settings = base_settings.model_copy(update={"storage_root": root / "warehouse", "schema_name": f"h_{uuid.uuid4().hex[:8]}",
                                                "mlflow_tracking_uri": uri, "mlflow_registry_uri": uri})
    settings.blob = settings.blob.model_copy(update={"local_dir": root / "blob"})
    store = TableStore(spark, settings)
    write_event_log(store)
    start = datetime(2026, 1, 4, 1)
    store.overwrite(spark.createDataFrame(
        [("r1", "daily", IMG, DAY, 1, "FAILED", start, start + timedelta(seconds=5), 5.0, SCRIPT),
         ("r2", "daily", "score", DAY, 1, "SKIPPED", start + timedelta(seconds=6), start + timedelta(seconds=6), 0.0, None)],
        "run_id string, job string, task string, run_date date, attempt int, status string, started_at timestamp, "
        "ended_at timestamp, duration_s double, error string"), "job_runs")
    store.overwrite(spark.createDataFrame([(date(2026, 1, 1), IMG, True, True, True)],
                                          "month date, column_name string, drifted boolean, dataset_drift boolean, "
                                          "retrain_recommended boolean"), "drift_history")
    store.overwrite(spark.createDataFrame([("C1", [IMG, BOLD], SCRIPT, datetime(2026, 1, 4))],
                                          "customer_id string, _failed_rules array<string>, note string, _ingested_at timestamp"),
                    "quarantine_evil")
    return settings


@pytest.fixture(scope="module")
def site(spark, hostile, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / CONTAINER_FOLDER
    files = export_site(Tables(spark, hostile), out, DAY)
    return out, files


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("chromium"))
    yield chromium
    chromium.close()


# elements the payloads would create if they were not escaped
INJECTED = """[...document.querySelectorAll('img, script:not([type="application/json"]):not([src])')].length
    + [...document.querySelectorAll('b')].filter(b => b.textContent === 'bold').length"""


def test_export_writes_every_page_and_plotly_side_by_side(site):
    out, files = site
    names = {f.name for f in files}
    assert {"index.html", "jobs.html", "models.html", "reports.html", f"expectations-{PIPELINE}.html",
            f"pipeline-{PIPELINE}-update-1.html", f"{DATASET_PAGE}.html", f"dataset-{PIPELINE}-quarantine_evil.html",
            "plotly.min.js", "ui.js", "ui.css"} == names
    for page in out.glob("*.html"):
        html = page.read_text()
        assert "cdn" not in html.lower() and "https://" not in html
        targets = [t.split('"', 1)[0] for attribute in ('href="', 'src="') for t in html.split(attribute)[1:]]
        for target in targets:  # pages and assets side by side; reports ("../") are in the container
            if not target.startswith(("../", "data:")):
                assert (out / target).is_file(), (page.name, target)


@pytest.mark.parametrize("page_name", ["index", f"pipeline-{PIPELINE}-update-1", f"expectations-{PIPELINE}", "jobs",
                                       "models", "reports", DATASET_PAGE])
def test_html_in_names_is_shown_escaped_from_disk(site, browser, page_name):
    out, _ = site
    page = browser.open((out / f"{page_name}.html").as_uri(), ready="document.body.dataset.charts")
    page.screenshot(ARTIFACTS / f"{page_name}.png")
    assert page.problems == [], page.problems  # no console message, no failed load, no alert dialog
    assert page.evaluate("document.body.dataset.charts") == "ready"
    assert page.evaluate(INJECTED) == 0
    text = page.evaluate("document.body.innerText")
    expected = {"index": [SCRIPT], "jobs": [IMG, SCRIPT], "reports": [IMG]}.get(page_name, [IMG, BOLD])
    if page_name == "models":
        expected = ["No MLflow registry"]
    for payload in expected:
        assert payload in text, (payload, page_name)
    if page_name.startswith("expectations"):
        legend = page.evaluate("[...document.querySelectorAll('#chart-pass-rates .legendtext')].map(t => t.textContent)")
        assert sorted(legend) == sorted([f"{DATASET}.{IMG}", f"{DATASET}.{BOLD}"])
        bars = page.evaluate("[...document.querySelectorAll('#chart-top-rules .ytick text')].map(t => t.textContent)")
        assert f"{DATASET}.{IMG}" in bars
        assert page.evaluate("document.querySelectorAll('#chart-pass-rates tspan[style*=bold]').length") == 0
    if page_name == DATASET_PAGE:  # its rules over the update, and the quarantined row with the rules it broke
        rules = [r["rule"] for r in page.table("#expectation-table")]
        assert sorted(rules) == sorted([IMG, BOLD, SCRIPT])
        assert [r["failed rules"] for r in page.table("#quarantine-table")] == [f"{IMG}, {BOLD}"]
    if page_name.startswith("pipeline"):  # the flow timeline: recorded start for one flow, the previous event for the other
        flows = {f["flow"]: f for f in page.table("#flow-table")}
        assert flows[DATASET]["queued"] != "—" and not flows[DATASET]["started"].endswith("*")
        assert flows["quarantine_evil"]["queued"] == "—" and flows["quarantine_evil"]["started"].endswith("*")
        traces = page.evaluate("document.getElementById('chart-flows').data.map(t => [t.name, t.y.length])")
        assert sorted(traces) == [["COMPLETED", 2], ["QUEUED", 1]]
        rows = page.evaluate("[...document.querySelectorAll('#chart-flows .ytick text')].map(t => t.textContent)")
        assert rows == ["quarantine_evil", DATASET]  # shown literally, the first flow at the top
        nodes = page.evaluate("Object.fromEntries([...document.querySelectorAll('#dataset-graph g.node')].map("
                              "g => [g.dataset.dataset, g.textContent]))")
        assert sorted(nodes) == sorted([DATASET, "quarantine_evil", f"raw_{BOLD}"])
        assert "6 written · 4 dropped · 4 quarantined" in nodes[DATASET]
        edges = page.evaluate("document.querySelectorAll('#dataset-graph path.edge').length")
        assert edges == 2 and "edges from the event log" in text


EMPTY_STATES = {"index": ["No pipeline has run yet", "No dataset yet", "No job run recorded yet", "No data-quality run yet"],
                "jobs": ["No job run recorded yet"], "models": ["No MLflow registry", "No predictions yet"],
                "reports": ["No data-quality run yet", "No drift run yet"]}


def test_empty_lakehouse_shows_every_empty_state_and_no_chart(spark, base_settings, browser, tmp_path):
    settings = own_mlflow(base_settings.model_copy(update={"storage_root": tmp_path / "warehouse", "schema_name": "empty"}),
                          tmp_path)
    tables = Tables(spark, settings)
    links = ExportLinks()
    assert pages.pipeline(tables, links, "offline_features") is None
    assert pages.expectations(tables, links, "offline_features") is None
    assert pages.dataset(tables, links, "offline_features", "ards") is None
    out = tmp_path / "site"
    export_site(tables, out, DAY)
    for name, messages in EMPTY_STATES.items():
        page = browser.open((out / f"{name}.html").as_uri(), ready="document.readyState === 'complete'")
        page.screenshot(ARTIFACTS / f"empty-{name}.png")
        assert page.problems == [], page.problems
        assert page.evaluate("document.querySelectorAll('.chart, script[data-chart]').length") == 0
        shown = page.evaluate("[...document.querySelectorAll('.empty, li')].map(e => e.textContent).join(' | ')")
        for message in messages:
            assert message in shown, (name, message, shown)


def cli_env(settings: Any) -> dict[str, str]:
    return {**os.environ, "LAKEHOUSE_STORAGE_ROOT": str(settings.storage_root), "LAKEHOUSE_SCHEMA_NAME": settings.schema_name,
            "LAKEHOUSE_BLOB__LOCAL_DIR": str(settings.blob.local_dir), "LAKEHOUSE_RUN_DATE": str(DAY)}


CLI = [sys.executable, "-c", "from lakehouse.app.ui.cli import ui; ui()"]


def test_command_exports_and_publishes_under_the_days_ui_folder(hostile, tmp_path):
    run = subprocess.run([*CLI, "--export", str(tmp_path / "site"), "--publish"], env=cli_env(hostile),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    published = hostile.blob.local_dir / hostile.blob.container / CONTAINER_FOLDER
    assert f"published to {published}/" in run.stdout
    assert sorted(p.name for p in published.iterdir()) == sorted(p.name for p in (tmp_path / "site").iterdir())
    assert (published / "plotly.min.js").stat().st_size > 1_000_000 and (published / f"expectations-{PIPELINE}.html").is_file()


def test_command_serves_on_localhost_and_stops_on_sigterm(hostile, tmp_path):
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:  # a file, not a pipe nobody reads: the server must never block on its logging
        server = subprocess.Popen([*CLI, "--port", "0"], env=cli_env(hostile), stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        line = server.stdout.readline()
        assert "lakehouse UI on http://127.0.0.1:" in line, log.read_text()[-2000:]
        url = line.split(" on ", 1)[1].split()[0]
        with urllib.request.urlopen(f"{url}/pipelines/{PIPELINE}", timeout=60) as reply:
            assert reply.status == 200 and "update-1" in reply.read().decode()
        with urllib.request.urlopen(f"{url}/static/plotly.min.js", timeout=60) as reply:
            assert reply.headers["Content-Type"].startswith("text/javascript")
    finally:
        children = descendants(server.pid)  # the serving process (reports go to a folder here: no Azurite)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log.read_text()[-2000:]
    wait_for(lambda: not alive(children), 60, "the serving process outlived `lakehouse ui`")
