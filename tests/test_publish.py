"""Report publishing: round trip through Azurite, retries with backoff, reports kept when Blob is down and
uploaded by the next run, the folder option, the validation job publishing end to end, and on Databricks the
secret scope read only when publishing (a failed read reported, the report kept) and reports kept in a
volume rather than the working directory."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from pydantic import SecretStr

from lakehouse.core.settings import BlobSettings, Settings
from lakehouse.local.azurite import Azurite, AzuriteError
from lakehouse.platform.sources import contract_ddl
from lakehouse.platform.volumes import PENDING_DIR
from quality.config import load_config
from quality.history import RESULTS_TABLE
from quality.publish import Publisher, PublishError, report_folder
from quality.validation import ReportNotPublished, validate

DAY = date(2026, 1, 12)
FILES = {"report.html": b"<!doctype html><p>ok</p>", "report.json": b'{"status": "ok"}'}


@pytest.fixture(scope="session")
def azurite():
    """One in-memory Azurite for the session, from the repo's node_modules (CI runs `npm ci`)."""
    try:
        server = Azurite().start()
    except AzuriteError as exc:
        pytest.fail(f"Azurite is required for the publishing tests: {exc}")
    yield server
    server.stop()


def with_blob(settings: Settings, connection_string: str | None = None, local_dir: Path | None = None) -> Settings:
    blob = settings.blob.model_copy(update={
        "connection_string": SecretStr(connection_string) if connection_string else None, "local_dir": local_dir})
    return settings.model_copy(update={"blob": blob})


def download(connection_string: str, container: str, path: str) -> tuple[bytes, str, dict[str, str]]:
    blob = BlobServiceClient.from_connection_string(connection_string).get_blob_client(container, path)
    props = blob.get_blob_properties()
    return blob.download_blob().readall(), props.content_settings.content_type, props.metadata


@pytest.fixture
def unreachable() -> str:
    """The connection string of an Azurite that has been stopped: nothing listens there any more."""
    with Azurite() as server:
        connection_string = server.connection_string
    return connection_string


def test_azurite_missing_is_a_clear_error(tmp_path):
    with pytest.raises(AzuriteError, match="Azurite is not installed: run `npm ci` in"):
        Azurite(root=tmp_path).start()


def test_report_folders_follow_the_daily_and_monthly_convention():
    assert report_folder("data-quality", DAY) == "data-quality/2026/01/12"
    assert report_folder("drift", DAY, monthly=True) == "drift/2026/01"


def test_upload_download_round_trip_with_content_type_and_metadata(settings, azurite):
    publisher = Publisher(with_blob(settings, azurite.connection_string))
    locations = publisher.publish("data-quality/2026/01/12", FILES, {"run_id": "r-1", "status": "warn"})
    assert locations == [f"{azurite.url}/devstoreaccount1/lakehouse-reports/data-quality/2026/01/12/report.html",
                         f"{azurite.url}/devstoreaccount1/lakehouse-reports/data-quality/2026/01/12/report.json"]
    html, html_type, metadata = download(azurite.connection_string, "lakehouse-reports", "data-quality/2026/01/12/report.html")
    data, json_type, _ = download(azurite.connection_string, "lakehouse-reports", "data-quality/2026/01/12/report.json")
    assert (html, data) == (FILES["report.html"], FILES["report.json"])
    assert (html_type, json_type) == ("text/html; charset=utf-8", "application/json")
    assert metadata == {"run_id": "r-1", "status": "warn"}
    assert publisher.pending() == []
    # the monthly drift job publishes the same way under drift/<yyyy>/<mm>/
    publisher.publish(report_folder("drift", DAY, monthly=True), {"report.json": b"{}"}, {"run_id": "d-1"})
    assert download(azurite.connection_string, "lakehouse-reports", "drift/2026/01/report.json")[0] == b"{}"


def test_blob_down_fails_clearly_keeps_the_report_and_the_next_run_uploads_it(settings, azurite, unreachable):
    sleeps: list[float] = []
    down = Publisher(with_blob(settings, unreachable), attempts=3, base_delay_s=0.01, sleep=sleeps.append)
    with pytest.raises(PublishError) as info:
        down.publish("data-quality/2026/01/11", FILES, {"run_id": "r-11", "status": "ok"})
    message = str(info.value)
    assert "not published to Blob container lakehouse-reports at http://127.0.0.1:" in message
    assert "failed after 3 attempt(s)" in message and "data-quality/2026/01/11" in message
    assert f"Kept in {settings.storage_root / PENDING_DIR}" in message and "the next run uploads them" in message
    assert sleeps == [0.01, 0.02]  # exponential backoff between the attempts
    assert [m["folder"] for m in down.pending()] == ["data-quality/2026/01/11"]

    up = Publisher(with_blob(settings, azurite.connection_string))
    assert up.publish("data-quality/2026/01/12", FILES, {"run_id": "r-12", "status": "ok"})
    assert up.pending() == []
    _, _, metadata = download(azurite.connection_string, "lakehouse-reports", "data-quality/2026/01/11/report.html")
    assert metadata["run_id"] == "r-11"


def test_a_refused_request_is_not_retried_and_the_report_is_kept(settings, azurite):
    wrong_key = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=Xby8")
    sleeps: list[float] = []
    publisher = Publisher(with_blob(settings, wrong_key), sleep=sleeps.append)
    with pytest.raises(PublishError, match="not published to Blob container"):
        publisher.publish("data-quality/2026/01/10", FILES, {"run_id": "r-10"})
    assert sleeps == [] and len(publisher.pending()) == 1


def test_no_destination_keeps_the_report_and_says_what_to_set(settings):
    publisher = Publisher(with_blob(settings))
    with pytest.raises(PublishError, match="set AZURE_STORAGE_CONNECTION_STRING .* or blob.local_dir"):
        publisher.publish("data-quality/2026/01/12", FILES, {})
    assert len(publisher.pending()) == 1


def on_databricks(settings: Settings, pending: Path | None = None) -> Settings:
    """`settings` as a Databricks task sees them: no connection string in the environment, relative storage root."""
    blob = BlobSettings(container=settings.blob.container, pending_path=pending)
    return Settings(engine="databricks", catalog="churn_prod", schema_name=settings.schema_name, blob=blob)


class SecretReads:
    """A secret reader standing in for dbutils.secrets.get: records the reads, then raises or returns."""

    def __init__(self, outcome: BaseException | str) -> None:
        self.outcome, self.reads = outcome, []

    def __call__(self, scope: str, key: str) -> str:
        self.reads.append((scope, key))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def test_a_failed_secret_read_names_scope_and_key_keeps_the_report_and_the_next_run_uploads_it(
        settings, azurite, tmp_path, monkeypatch):
    from databricks.sdk.errors import PermissionDenied

    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    databricks = on_databricks(settings, tmp_path / "volume" / "pending")
    denied = SecretReads(PermissionDenied("User does not have READ permission on scope churn"))
    with pytest.raises(PublishError) as info:
        Publisher(databricks, read_secret=denied).publish("drift/2026/01", FILES, {"run_id": "d-1"})
    message = str(info.value)
    assert "could not be read from secret scope 'churn' key 'azure-storage-connection-string'" in message
    assert "PermissionDenied: User does not have READ permission on scope churn" in message
    assert "run_as principal needs READ on that scope" in message and "Kept in" in message
    assert denied.reads == [("churn", "azure-storage-connection-string")]
    kept = Publisher(databricks, read_secret=denied).pending()
    assert [(m["folder"], m["path"].parent) for m in kept] == [("drift/2026/01", tmp_path / "volume" / "pending")]

    granted = SecretReads(azurite.connection_string)
    Publisher(databricks, read_secret=granted).flush()
    assert download(azurite.connection_string, "lakehouse-reports", "drift/2026/01/report.json")[0] == FILES["report.json"]
    assert Publisher(databricks, read_secret=granted).pending() == []


def test_a_malformed_or_empty_secret_is_reported_without_its_value(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    databricks = on_databricks(settings, tmp_path / "pending")
    canary = "AccountName=x;AccountKey=" + "c4n4ry" * 14 + "=="
    for value, expected in [(canary.replace("AccountName=x;", "").replace("=", " "), "invalid connection string"),
                            (" ", "holds an empty connection string")]:
        with pytest.raises(PublishError, match=expected) as info:
            Publisher(databricks, read_secret=SecretReads(value)).publish("data-quality/2026/01/12", FILES, {})
        assert "c4n4ry" not in str(info.value)
    assert len(Publisher(databricks).pending()) == 1


def test_reports_wait_in_the_settings_pending_path_never_in_the_working_directory(settings, tmp_path, monkeypatch,
                                                                                  unreachable):
    assert Publisher(on_databricks(settings)).pending_dir == Path(f"/Volumes/churn_prod/{settings.schema_name}/reports/pending")
    work = tmp_path / "task-working-directory"
    work.mkdir()
    monkeypatch.chdir(work)
    down = on_databricks(settings, tmp_path / "volume" / "pending").model_copy(update={"blob": BlobSettings(
        connection_string=unreachable, pending_path=tmp_path / "volume" / "pending")})
    with pytest.raises(PublishError, match=f"Kept in {tmp_path / 'volume' / 'pending'}"):
        Publisher(down, attempts=1).publish("data-quality/2026/01/12", FILES, {})
    assert list(work.iterdir()) == []
    assert [m["folder"] for m in Publisher(down).pending()] == ["data-quality/2026/01/12"]


def test_a_local_folder_can_replace_blob(settings, tmp_path):
    publisher = Publisher(with_blob(settings, local_dir=tmp_path / "reports"))
    locations = publisher.publish("data-quality/2026/01/12", FILES, {"run_id": "r"})
    assert locations == [str(tmp_path / "reports" / "lakehouse-reports" / "data-quality/2026/01/12" / name) for name in FILES]
    assert Path(locations[1]).read_bytes() == FILES["report.json"] and publisher.pending() == []


@pytest.fixture
def transactions(store):
    """bronze_transactions for DAY with one record whose category holds a <script> tag."""
    ddl = contract_ddl("transactions") + ", _rescued_data STRING, _source_file STRING, _ingested_at TIMESTAMP, _drop_date DATE"
    rows = [(f"T20260112{i:08d}", f"C{i:07d}", datetime(2026, 1, 12, i % 24), 10.0 + i, "EUR",
             "<script>alert(1)</script>" if i == 0 else "travel", "web", "card", None,
             "/landing/transactions/2026-01-12/transactions_20260112.csv", datetime(2026, 1, 13, 1), DAY) for i in range(48)]
    store.overwrite(store.spark.createDataFrame(rows, ddl), "bronze_transactions")


def test_validation_publishes_to_azurite_and_survives_an_outage(spark, settings, store, transactions, azurite,
                                                               unreachable):
    full = load_config("local")
    spec = next(t for t in full.tables if t.table == "bronze_transactions")
    spec = spec.model_copy(update={"checks": [c for c in spec.checks if c.type != "referential"]})
    config = full.model_copy(update={"tables": [spec], "event_log": None})

    with pytest.raises(ReportNotPublished) as info:
        validate(spark, with_blob(settings, unreachable), DAY, config, Publisher(
            with_blob(settings, unreachable), attempts=2, base_delay_s=0))
    kept = info.value.result
    assert kept.status == "warn" and kept.gate_passed and "data quality of 2026-01-12 is warn, but" in str(info.value)
    assert store.read(RESULTS_TABLE).count() == len(kept.checks)  # results are stored before publishing

    result = validate(spark, with_blob(settings, azurite.connection_string), DAY, config)
    assert result.published[0].endswith("/lakehouse-reports/data-quality/2026/01/12/report.html")
    assert store.read(RESULTS_TABLE).count() == len(result.checks)  # the rerun replaced the day
    html, content_type, metadata = download(azurite.connection_string, "lakehouse-reports",
                                            "data-quality/2026/01/12/report.html")
    assert content_type.startswith("text/html") and metadata["run_id"] == result.run_id
    assert metadata["status"] == "warn" and metadata["gate_passed"] == "true"
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in html and b"<script>" not in html
    report = json.loads(download(azurite.connection_string, "lakehouse-reports", "data-quality/2026/01/12/report.json")[0])
    assert [c["name"] for c in report["checks"] if c["outcome"] == "failed"] == ["allowed_values:category"]
