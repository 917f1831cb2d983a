"""Shared helpers of the reliability suite: CLI subprocesses (optionally killed at a fault point),
landing data with known line counts, and table snapshots to compare a recovered lake with a clean one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakehouse.core.faults import FAULT_VARIABLE
from lakehouse.core.job_settings import GateSettings, TrainingSettings
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from lakehouse.local.datagen.schema import SOURCES as CONTRACT
from lakehouse.local.ingest.files import list_files

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
# A connection string in the exact Azure format with a key that must never appear in any output.
CANARY_KEY = "Q2FuYXJ5S2V5TXVzdE5ldmVyQmVMb2dnZWQwMTIzNDU2Nzg5YWJjZGVmZ2hpams="
CANARY = f"DefaultEndpointsProtocol=http;AccountName=canary;AccountKey={CANARY_KEY};BlobEndpoint=http://127.0.0.1:9/canary;"
SOURCES = ("customers", "transactions", "support", "churn")


@dataclass(frozen=True)
class Done:
    returncode: int
    output: str


def cli_env(settings: Settings, fault: str | None = None) -> dict[str, str]:
    """The environment that makes a `lakehouse` subprocess use exactly `settings` (plus a fault point)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update({
        "LAKEHOUSE_STORAGE_ROOT": str(settings.storage_root), "LAKEHOUSE_LANDING_PATH": str(settings.landing),
        "LAKEHOUSE_CATALOG": settings.catalog, "LAKEHOUSE_SCHEMA_NAME": settings.schema_name,
        "LAKEHOUSE_SHUFFLE_PARTITIONS": str(settings.shuffle_partitions),
        "LAKEHOUSE_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri, "LAKEHOUSE_MLFLOW_REGISTRY_URI": settings.mlflow_registry_uri,
        "LAKEHOUSE_EXPERIMENT_NAME": settings.experiment_name, "LAKEHOUSE_MODEL_NAME": settings.model_name,
        "LAKEHOUSE_TRAINING": settings.training.model_dump_json(), "LAKEHOUSE_SCORING": settings.scoring.model_dump_json(),
        "AZURE_STORAGE_CONNECTION_STRING": CANARY,
    })
    if fault:
        env[FAULT_VARIABLE] = fault
    return env


def start(settings: Settings, *args: str, fault: str | None = None) -> subprocess.Popen[str]:
    """`lakehouse ARGS` in a subprocess with the test's settings (stdout and stderr together)."""
    return subprocess.Popen([LAKEHOUSE, *args], env=cli_env(settings, fault), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 240) -> Done:
    output, _ = process.communicate(timeout=timeout)
    return Done(process.returncode, output)


def data_lines(path: str) -> int:
    """Rows a landing file delivers: non-blank lines, minus the header of a CSV."""
    lines = [line for line in Path(path).read_bytes().splitlines() if line.strip()]
    return max(len(lines) - path.endswith(".csv"), 0)


def assert_each_file_once(store: TableStore, settings: Settings, pipeline: str, through: date) -> None:
    """Every landing file of every source is in bronze exactly once: its rows, no more, no less."""
    for source in SOURCES:
        files = list_files(settings.landing, source, CONTRACT[source].format, through=through)
        if not files:
            continue
        counts = {r[0]: r[1] for r in store.read(f"bronze_{source}").groupBy("_source_file").count().collect()}
        assert counts == {f: data_lines(f) for f in files if data_lines(f)}, source
        stream = settings.storage_root / "_pipelines" / pipeline / "sources" / "cloudFiles" / f"bronze_{source}"
        [log] = stream.glob("*/ingested_files.json")  # one Auto Loader stream per bronze flow
        states = json.loads(log.read_text())["files"]
        assert sorted(states) == files and {e["state"] for e in states.values()} <= {"ingested"}, source


def snapshot(store: TableStore, ignore: tuple[str, ...] = ("_ingested_at", "scored_at")) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (event logs and run history aside), sorted, floats rounded: comparable across lakes."""
    tables = [t for t in store.list_tables() if not t.startswith("event_log_") and t != "job_runs"]
    result = {}
    for table in tables:
        frame = store.read(table).toPandas()
        frame = frame[sorted(c for c in frame.columns if c not in ignore)]
        rows = [tuple(map(_plain, row)) for row in frame.itertuples(index=False)]
        result[table] = sorted(rows, key=lambda row: [str(v) for v in row])
    return result


def _plain(value: Any) -> Any:
    """NaN equal to NaN, floats summed in another order equal, arrays comparable."""
    if isinstance(value, float):
        return "nan" if value != value else round(value, 6)
    if hasattr(value, "tolist"):  # arrays (e.g. _failed_rules)
        return tuple(value.tolist())
    return value


@pytest.fixture(scope="module")
def module_settings(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    """A factory of settings with their own storage root under one module folder (landing shared)."""
    root = tmp_path_factory.mktemp("reliability")

    def make(name: str, **update: Any) -> Settings:
        uri = f"sqlite:///{root / name / 'mlflow' / 'mlflow.db'}"
        return base_settings.model_copy(update={
            "storage_root": root / name / "warehouse", "landing_path": str(root / "landing"), "schema_name": f"r_{uuid.uuid4().hex[:10]}",
            "mlflow_tracking_uri": uri, "mlflow_registry_uri": uri, **update})

    return make


# -- a model lake: synthetic ARDS + MRDS, a champion and the run date's predictions -------------------
START, DAYS = date(2026, 1, 1), 45
RUN = START + timedelta(days=DAYS - 1)
TRAINING = TrainingSettings(horizon_days=7, validation_days=7, test_days=7, threads=1,
                            gate=GateSettings(minimums={"roc_auc": 0.55}, min_positives=3),  # 200 customers: few churners
                            params={"hist_gradient_boosting": {"max_iter": 20, "max_leaf_nodes": 7}})


@pytest.fixture(scope="session")
def model_lake(spark, base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Champion version 1 trained for RUN, and RUN scored once. Tests that break it must restore it."""
    from ml.scoring import score
    from ml.synthetic import synthetic_tables, write_tables
    from ml.training.train import train

    root = tmp_path_factory.mktemp("models")
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "schema_name": f"m_{uuid.uuid4().hex[:10]}", "mlflow_tracking_uri": uri,
        "mlflow_registry_uri": uri, "training": TRAINING, "model_name": "churn_reliability",
        "experiment_name": "reliability"})
    tables = synthetic_tables(200, START, DAYS, seed=5)
    tables["mrds"] = tables["ards"][tables["ards"]["feature_date"] == RUN].assign(as_of_date=RUN)
    write_tables(spark, TableStore(spark, settings), tables)
    train(spark, settings, RUN)
    score(spark, settings, RUN)
    return settings
