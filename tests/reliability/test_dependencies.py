"""Dependencies failing: Blob down or hanging, the MLflow store locked or unreachable, a full disk under the
storage root, a corrupted model artifact. Each gives a clear error, retries where a retry can help, loses
nothing and leaves the previous state as it was."""

from __future__ import annotations

import resource
import signal
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest
from landing import txn, write
from pydantic import SecretStr

from lakehouse.core.storage import TableStore
from lakehouse.local.azurite import Azurite
from lakehouse.local.pipelines import run_pipeline
from lakehouse.platform import tracking
from ml import registry
from ml.scoring import score
from quality.publish import Publisher, PublishError

from .conftest import RUN, assert_each_file_once

FILES = {"report.html": b"<p>ok</p>", "report.json": b"{}"}


def _blob(settings, connection_string):
    return settings.model_copy(update={"blob": settings.blob.model_copy(
        update={"connection_string": SecretStr(connection_string), "local_dir": None})})


@contextmanager
def hanging_endpoint() -> Iterator[str]:
    """A Blob endpoint that accepts connections and never answers (an overloaded or stuck service)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/devstoreaccount1"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_blob_hanging_then_down_keeps_the_report_and_the_next_run_uploads_it(settings):
    with hanging_endpoint() as endpoint:
        slow = _blob(settings, f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
                               f"BlobEndpoint={endpoint};")
        sleeps: list[float] = []
        started = time.monotonic()
        with pytest.raises(PublishError, match=r"failed after 3 attempt\(s\).*Kept in .*data-quality/2026/01/12"):
            Publisher(slow, attempts=3, base_delay_s=0.01, sleep=sleeps.append, timeout_s=0.5).publish(
                "data-quality/2026/01/12", FILES, {"run_id": "r1"})
    assert sleeps == [0.01, 0.02] and time.monotonic() - started < 20  # bounded: attempts x timeout
    with Azurite() as server:
        up = _blob(settings, server.connection_string)
        assert [m["folder"] for m in Publisher(up).pending()] == ["data-quality/2026/01/12"]
        Publisher(up).flush()
        assert Publisher(up).pending() == []


@pytest.fixture
def predictions(spark, model_lake):
    store = TableStore(spark, model_lake)
    return lambda: (store.version("predictions"), sorted(map(tuple, store.read("predictions").select(
        "customer_id", "probability").collect())))


def test_mlflow_store_locked_fails_clearly_and_writes_nothing(spark, model_lake, predictions):
    before = predictions()
    database = model_lake.mlflow_tracking_uri.removeprefix("sqlite:///")
    lock = sqlite3.connect(database, timeout=0)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(registry.RegistryUnavailable, match="database is locked"):
            score(spark, model_lake, RUN)
    finally:
        lock.rollback()
        lock.close()
    assert predictions() == before
    assert score(spark, model_lake, RUN).rows == len(before[1])


def test_mlflow_unreachable_fails_clearly_and_writes_nothing(spark, model_lake, predictions, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    before = predictions()
    away = model_lake.model_copy(update={"mlflow_tracking_uri": "http://127.0.0.1:9",
                                         "mlflow_registry_uri": "http://127.0.0.1:9"})
    with pytest.raises(Exception, match="127.0.0.1"):
        score(spark, away, RUN)
    assert predictions() == before


@contextmanager
def disk_full(limit: int = 1024) -> Iterator[None]:
    """Every file write in this process past `limit` bytes fails with EFBIG, as on a full disk.

    Why RLIMIT_FSIZE: no small filesystem can be mounted here (no tmpfs), a read-only folder does not stop
    root, and a patched Python write would miss the engine, which writes Parquet and the Delta log in Rust
    inside this process. The limit hits both, in the middle of a real write."""
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_disk_full_during_scoring_keeps_the_previous_predictions(spark, model_lake, predictions):
    before = predictions()
    with disk_full(), pytest.raises(Exception, match="(?i)too large|EFBIG|error 27"):
        score(spark, model_lake, RUN)
    assert predictions() == before


def test_disk_full_during_ingest_loses_no_landing_file(spark, settings):
    day = date(2026, 3, 2)
    write(settings.landing, "transactions", day, [txn(f"T{i}", "C1", "2026-03-02T10:00:00Z", 5.0) for i in range(200)])
    with disk_full(4096), pytest.raises(Exception, match="(?i)too large|EFBIG|error 27"):
        run_pipeline(spark, settings, "offline_features", day)
    store = TableStore(spark, settings)
    assert not store.exists("bronze_transactions") or store.read("bronze_transactions").count() == 0
    assert run_pipeline(spark, settings, "offline_features", day).ok  # space back: the rerun ingests everything
    assert_each_file_once(store, settings, "offline_features", day)


def test_a_bronze_write_failing_after_the_files_were_read_loses_no_landing_file(spark, settings, monkeypatch):
    """The disk fills up inside the bronze write itself (files read and staged): the ingested-files log must
    still hold them as pending, so the rerun ingests them. Marking them ingested before the write commits
    lost them for good (bronze held 0 rows after the rerun)."""
    from lakehouse.local.dlt_runtime import writers

    day = date(2026, 3, 2)
    write(settings.landing, "transactions", day, [txn(f"T{i}", "C1", "2026-03-02T10:00:00Z", 5.0) for i in range(1000)])
    real_write = writers.write

    def full_disk_bronze(store, table, *args, **kwargs):
        if not table.endswith(".bronze_transactions"):
            return real_write(store, table, *args, **kwargs)
        with disk_full(4096):
            return real_write(store, table, *args, **kwargs)

    monkeypatch.setattr(writers, "write", full_disk_bronze)
    failed = run_pipeline(spark, settings, "offline_features", day)
    assert not failed.ok and "too large" in str(failed.error).lower(), failed.error
    store = TableStore(spark, settings)
    assert not store.exists("bronze_transactions") or store.read("bronze_transactions").count() == 0
    monkeypatch.setattr(writers, "write", real_write)
    assert run_pipeline(spark, settings, "offline_features", day).ok  # space back: the rerun ingests the files
    assert store.read("bronze_transactions").count() == 1000
    assert_each_file_once(store, settings, "offline_features", day)


def test_corrupted_model_artifact_is_refused_and_nothing_is_written(spark, model_lake, predictions):
    before = predictions()
    client = tracking.configure(model_lake)
    champion = registry.current_version(client, model_lake.model_name, registry.CHAMPION)
    artifact = next(Path(client.get_model_version_download_uri(model_lake.model_name, champion.version)
                         .removeprefix("file://")).glob("*.skops"))
    original = artifact.read_bytes()
    artifact.write_bytes(original[: len(original) // 2])
    try:
        with pytest.raises(Exception, match="(?i)zip|corrupt|skops"):
            score(spark, model_lake, RUN)
    finally:
        artifact.write_bytes(original)
    assert predictions() == before
