"""What the drift job leaves behind for people and orchestration: the HTML rendered in a browser, the
reports in Blob (Azurite), the job task's values when Blob is down, the CLI's exit codes, and the seeded
sampling that makes a rerun identical."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from datetime import date

import pytest
from pyspark.sql import functions as F

from lakehouse import tasks
from quality.drift.history import HISTORY_TABLE
from quality.drift.job import detect_drift
from quality.drift.sample import sample_rows
from quality.publish import Publisher
from tests.drift_data import ards_frame, write_ards
from tests.test_drift import APRIL, CONFIG, MAY, folder, local
from tests.test_publish import azurite, download, unreachable, with_blob  # noqa: F401 - Azurite fixtures
from tests.test_quality_report import chromium_dom

DRIFTED = (ards_frame(APRIL, 30), ards_frame(MAY, 31, spend_factor=1.5))


def test_html_renders_in_chromium_with_the_drifted_columns(store, settings, tmp_path):
    write_ards(store, *DRIFTED)
    detect_drift(store.spark, local(settings, tmp_path), MAY, CONFIG)
    dom = chromium_dom(folder(tmp_path, "2026/05") / "report.html", tmp_path)

    summary = dom[dom.index('id="drift-summary"'):dom.index("</section>")]
    assert "RETRAIN RECOMMENDED" in summary and "dataset drift: 2 of 5 feature columns drifted" in summary
    drifted = summary[summary.index('id="columns"'):]
    assert drifted.index("spend_30d") < drifted.index("plan")  # drifted rows first
    assert drifted.count('class="drifted"') == 2
    # Evidently's part ran in the browser: its React app rendered the drift table into the page
    rendered = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom[dom.index('id="root_'):dom.index("var global")]))
    assert "Drift is detected for 40.0% of columns (2 out of 5)" in rendered
    assert re.search(r"avg_amount_30d num Detected Wasserstein distance \(normed\)", rendered)


def test_reports_are_published_to_blob(store, settings, azurite):  # noqa: F811
    write_ards(store, *DRIFTED)
    result = detect_drift(store.spark, with_blob(settings, azurite.connection_string), MAY, CONFIG)
    assert [p.rsplit("/", 1)[1] for p in result.published] == ["report.html", "summary.json"]
    data, content_type, metadata = download(azurite.connection_string, "lakehouse-reports", "drift/2026/05/summary.json")
    assert content_type == "application/json" and json.loads(data)["drifted_columns"] == result.drifted_columns
    assert metadata == {"run_id": result.run_id, "month": "2026-05", "kind": "drift", "dataset_drift": "true",
                        "retrain_recommended": "true"}


def test_the_drift_task_keeps_its_signal_when_blob_is_down(store, settings, unreachable, caplog):  # noqa: F811
    """The monthly job's `retrain` condition must still be evaluated: only the upload failed."""
    write_ards(store, *DRIFTED)
    down = with_blob(settings, unreachable).model_copy(update={"drift": CONFIG})
    with caplog.at_level(logging.WARNING, logger=tasks.__name__):
        values = tasks.drift(store.spark, down, date(2026, 5, 31))
    assert values == {"retrain": "true", "dataset_drift": "true"}
    assert "drift of 2026-05: retraining recommended, but reports not published to Blob container" in caplog.text
    kept = [m["folder"] for m in Publisher(down).pending()]
    assert kept == ["drift/2026/05"] and Publisher(down).pending_dir == settings.storage_root / "_reports_pending"
    assert store.read(HISTORY_TABLE).where(F.col("month") == F.lit(MAY)).count() == len(CONFIG.columns)


def drift_cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update({"LAKEHOUSE_STORAGE_ROOT": str(settings.storage_root), "LAKEHOUSE_SCHEMA_NAME": settings.schema_name,
                "LAKEHOUSE_BLOB__LOCAL_DIR": str(settings.blob.local_dir)})
    return subprocess.run([sys.executable, "-m", "lakehouse.app.drift_cli", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_cli_refuses_a_malformed_month(settings, tmp_path):
    bad = drift_cli(local(settings, tmp_path), "--month", "May")
    assert bad.returncode == 2 and "'May' is not a month (YYYY-MM)" in bad.stderr


@pytest.mark.slow  # two processes, each starting an engine and MLflow
def test_cli_exit_codes_say_retrain_and_errors(store, settings, tmp_path):
    settings = local(settings, tmp_path)
    write_ards(store, *DRIFTED)
    retrain = drift_cli(settings, "--month", "2026-05", "--no-azurite")
    assert retrain.returncode == 1, retrain.stderr[-2000:]
    assert "drift 2026-05 vs 2026-04-01..2026-04-30 (previous month): 2 of" in retrain.stdout
    assert "RETRAIN: dataset drift" in retrain.stdout and "report: " in retrain.stdout
    assert "warning: reference is the previous month: model churn_model has no @champion" in retrain.stdout
    empty = drift_cli(settings, "--month", "2026-07", "--no-azurite")
    assert empty.returncode == 2 and empty.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "has no rows for 2026-07" in empty.stderr


def test_sampling_is_seeded_and_independent_of_partitioning(store):
    write_ards(store, ards_frame(MAY, 31, customers=400))
    frame = store.read("ards")
    keys, columns = ["customer_id", "feature_date"], ["spend_30d", "plan"]
    first = sample_rows(frame, columns, keys, 2000, 42, 400 * 31)
    again = sample_rows(frame.repartition(5, "plan"), columns, keys, 2000, 42, 400 * 31)
    other = sample_rows(frame, columns, keys, 2000, 7, 400 * 31)
    assert first.rows == 2000 and first.frame.equals(again.frame) and not first.frame.equals(other.frame)
    whole = sample_rows(frame.where(F.col("feature_date") == F.lit(MAY)), columns, keys, 2000, 42, 400)
    assert whole.rows == 400 and whole.describe() == {"rows": 400, "sampled": 400, "fraction": 1.0}
