"""Crash safety: a pipeline update, a training run and a scoring run killed with SIGKILL at their worst
moments (LAKEHOUSE_FAULT, lakehouse/core/faults.py), then rerun: every table equals a run that never crashed,
each landing file is in bronze exactly once, the registry's aliases stay consistent, and no partial
predictions are ever visible."""

from __future__ import annotations

import signal
from datetime import date

import pandas as pd
import pytest

from lakehouse.core.storage import TableStore
from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.pipelines import run_pipeline
from lakehouse.platform import tracking
from ml import registry, uc_tags
from ml.scoring import score
from ml.training.train import train

from .conftest import RUN, assert_each_file_once, finish, snapshot, start

PIPELINE = "offline_features"
FIRST, LAST = date(2026, 1, 1), date(2026, 1, 3)
KILLED = -signal.SIGKILL
PIPELINE_POINTS = [
    "ingest.pending",  # files recorded pending, nothing written
    "ingest.read",  # files read and staged, bronze not committed
    "ingest.written",  # bronze committed, ingested-files log not
    "flow.written:silver_transactions",  # a MERGE committed, its checkpoint not
    "flow.written:quarantine_transactions",  # a streaming append committed (labelled with its increment), checkpoint not
    "flow.written:ards",  # gold replaced, between flows
]


@pytest.fixture(scope="module")
def crashed_pipelines(spark, module_settings):
    """Landing data with defects; one update killed at each point (all at once), and a reference lake."""
    reference = module_settings("reference")
    generate_range(GeneratorConfig(customers=40, seed=3, transactions_per_customer_day=2, defect_rate=0.1),
                   reference.landing, FIRST, LAST)
    points = [p.values[0] if hasattr(p, "values") else p for p in PIPELINE_POINTS]
    lakes = {p: module_settings(p.replace(":", "_")) for p in points}
    running = {p: start(s, "pipeline", "run", PIPELINE, "--date", str(LAST), fault=p) for p, s in lakes.items()}
    assert run_pipeline(spark, reference, PIPELINE, LAST).ok
    return reference, {p: (lakes[p], finish(process)) for p, process in running.items()}


@pytest.mark.parametrize("point", PIPELINE_POINTS)
def test_pipeline_update_killed_then_rerun_equals_an_uninterrupted_run(spark, crashed_pipelines, point):
    reference, crashed = crashed_pipelines
    settings, done = crashed[point]
    assert done.returncode == KILLED, done.output[-2000:]
    result = run_pipeline(spark, settings, PIPELINE, LAST)  # takes over the dead update's lock
    assert result.ok, result.error
    store = TableStore(spark, settings)
    assert_each_file_once(store, settings, PIPELINE, LAST)
    assert snapshot(store) == snapshot(TableStore(spark, reference))
    assert not (settings.storage_root / "_pipelines" / PIPELINE / "lock").exists()
    # The killed update could not write its events; the rerun recorded it as FAILED in the event log.
    states = store.read(f"event_log_{PIPELINE}").where("event_type = 'update_progress'").select(
        "origin.update_id", "details", "error").collect()
    killed = [r for r in states if r.update_id != result.update_id]
    assert len(killed) == 1 and '"FAILED"' in killed[0].details and "was interrupted" in killed[0].error
    assert "killed or crashed" in killed[0].error


# -- training and scoring ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def crashed_ml(spark, model_lake):
    store = TableStore(spark, model_lake)
    before = store.version("predictions"), store.read("predictions").toPandas(), _versions(model_lake)[1]
    commands = {"train.logged": "train", "train.registered": "train", "score.predicting": "score"}
    running = {p: start(retraining(model_lake) if command == "train" else model_lake, command, "--date", str(RUN), fault=p)
               for p, command in commands.items()}
    return before, {p: finish(process) for p, process in running.items()}


def retraining(settings):
    """`settings` with another training seed: a new need, so a training for RUN trains instead of reusing version 1,
    which was trained for RUN on the same tables (ml.training.train: one training per need)."""
    return settings.model_copy(update={"training": settings.training.model_copy(update={"seed": settings.training.seed + 1})})


def _versions(settings):
    client = tracking.configure(settings)
    return client, sorted(int(v.version) for v in client.search_model_versions(f"name = '{settings.model_name}'"))


@pytest.mark.slow
def test_training_killed_before_or_after_registering_leaves_the_champion_serving(spark, model_lake, crashed_ml):
    (_, _, versions_before), crashed = crashed_ml
    assert crashed["train.logged"].returncode == KILLED, crashed["train.logged"].output[-2000:]
    assert crashed["train.registered"].returncode == KILLED, crashed["train.registered"].output[-2000:]
    client, versions = _versions(model_lake)
    crashed_version = versions_before[-1] + 1  # the run killed after logging registered nothing
    assert versions == [*versions_before, crashed_version]
    name = model_lake.model_name
    serving = str(registry.current_version(client, name, registry.CHAMPION).version)
    assert int(serving) < crashed_version and uc_tags.GATE_OUTCOME not in client.get_model_version(name, crashed_version).tags
    killed = client.search_runs([tracking.experiment_id(model_lake)], "attributes.status = 'RUNNING'")
    assert len(killed) == 2  # the dead trainings could not end their runs
    result = train(spark, retraining(model_lake), RUN)  # the rerun completes and the gate decides as usual
    assert not result.reused
    assert result.version == str(crashed_version + 1)
    closed = [client.get_run(r.info.run_id) for r in killed]  # ... the rerun marked them KILLED
    assert [r.info.status for r in closed] == ["KILLED"] * 2
    assert all("killed or crashed" in r.data.tags[tracking.INTERRUPTED] for r in closed)
    assert str(registry.current_version(client, name, registry.CHALLENGER).version) == result.version
    champion = str(registry.current_version(client, name, registry.CHAMPION).version)
    assert champion == (result.version if result.decision.promote else serving)
    assert score(spark, model_lake, RUN).model_version == champion


@pytest.mark.slow
def test_scoring_killed_mid_write_leaves_the_previous_predictions(spark, model_lake, crashed_ml):
    (version, rows, _), crashed = crashed_ml
    assert crashed["score.predicting"].returncode == KILLED, crashed["score.predicting"].output[-2000:]
    store = TableStore(spark, model_lake)
    assert store.version("predictions") >= version  # the training test may have rescored meanwhile
    again = score(spark, model_lake, RUN)
    after = store.read("predictions").toPandas()
    assert again.rows == len(after) == len(rows) == after["customer_id"].nunique()
    pd.testing.assert_series_equal(after.sort_values("customer_id")["customer_id"].reset_index(drop=True),
                                   rows.sort_values("customer_id")["customer_id"].reset_index(drop=True))
