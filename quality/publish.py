"""Report publishing to Azure Blob Storage (Azurite locally) or a plain folder, without ever losing a report.

Path convention inside the container: `<kind>/<yyyy>/<mm>/<dd>/<file>` for daily reports and
`<kind>/<yyyy>/<mm>/<file>` for monthly ones, e.g. `data-quality/2026/01/12/report.html` and
`drift/2026/01/report.json` (see `report_folder`). Content type comes from the file suffix and
every blob carries the report's metadata (run id, status, ...).

Every report is first staged in `reports_pending_path` (lakehouse/platform/volumes.py: `<storage_root>/_reports_pending/` locally,
the schema's `reports` volume on Databricks), then uploaded with retries and exponential backoff; only a
complete upload removes it from there. So when Blob stays unreachable the report is kept, `PublishError`
says where, and the next publish (of any report kind) uploads everything pending first, oldest first. The
destination: `BlobSettings.local_dir` when set (a folder mirroring the container), else the account of
AZURE_STORAGE_CONNECTION_STRING or, on Databricks without it, of the connection string in the secret scope
`blob.secret_scope` / `blob.secret_key`. That secret is read only here, when there is something to upload,
and a failed read is a PublishError naming the scope, the key and the cause (never the value).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.settings import Settings
from lakehouse.platform.secrets import SecretReader, SecretUnavailable, blob_connection_string, databricks_secret
from lakehouse.platform.volumes import reports_pending_path

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json",
                 ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
MANIFEST = "_manifest.json"
T = TypeVar("T")


class PublishError(LakehouseError):
    """A report could not be published; it stays pending and the next publish retries it."""


def report_folder(kind: str, day: date, monthly: bool = False) -> str:
    """`kind/yyyy/mm/dd` (daily) or `kind/yyyy/mm` (monthly): where a report's files go in the container."""
    return f"{kind}/{day:%Y/%m}" if monthly else f"{kind}/{day:%Y/%m/%d}"


class Target(Protocol):
    def describe(self) -> str: ...

    def put(self, path: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> str: ...


def _upload(target: Target, report: Mapping[str, Any], name: str) -> str:
    """Upload file `name` of a pending report (a manifest of `pending()`); returns its location."""
    return target.put(f"{report['folder']}/{name}", (report["path"] / name).read_bytes(),
                      CONTENT_TYPES[Path(name).suffix], report["metadata"])


class FolderTarget:
    """A local folder standing in for the container (`<local_dir>/<container>/<path>`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"folder {self.root}"

    def put(self, path: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> str:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        partial.write_bytes(data)
        partial.replace(target)
        return str(target)


class BlobTarget:
    """A Blob container; the SDK's own retries are off (the Publisher retries with its own backoff)."""

    def __init__(self, connection_string: str, container: str, timeout_s: float = 10.0) -> None:
        from azure.storage.blob import BlobServiceClient

        self.service = BlobServiceClient.from_connection_string(
            connection_string, retry_total=0, connection_timeout=timeout_s, read_timeout=timeout_s
        )
        self.container = self.service.get_container_client(container)
        self._checked = False

    def describe(self) -> str:
        return f"Blob container {self.container.container_name} at {self.service.url}"

    def put(self, path: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> str:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import ContentSettings

        if not self._checked:
            try:
                if not self.container.exists():
                    self.container.create_container()
            except ResourceExistsError:
                pass
            self._checked = True
        blob = self.container.get_blob_client(path)
        blob.upload_blob(data, overwrite=True, content_settings=ContentSettings(content_type=content_type),
                         metadata=dict(metadata))
        return blob.url


def transient(exc: BaseException) -> bool:
    """Worth retrying: connection and timeout failures, HTTP 408/429/5xx; not auth or bad requests."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)):
        return True
    status = getattr(exc, "status_code", None) if isinstance(exc, HttpResponseError) else None
    return status is not None and (status in (408, 429) or status >= 500)


class Publisher:
    """Stages reports in the settings' pending folder and uploads everything pending to the configured target.

    `read_secret(scope, key)` reads the connection string on Databricks when the environment has none; it is a
    parameter so a failing read can be exercised off Databricks.
    """

    def __init__(self, settings: Settings, attempts: int = 4, base_delay_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep, timeout_s: float = 10.0,
                 read_secret: SecretReader = databricks_secret) -> None:
        self.settings = settings
        self.timeout_s = timeout_s  # per request: a Blob endpoint that hangs costs at most attempts x this
        self.pending_dir = reports_pending_path(settings)  # never the working directory (see volumes.py)
        self.read_secret = read_secret
        self.attempts = attempts
        self.base_delay_s = base_delay_s
        self.sleep = sleep

    def publish(self, folder: str, files: Mapping[str, bytes], metadata: Mapping[str, str]) -> list[str]:
        """Stage one report, then upload all pending ones; returns this report's locations.

        Raises PublishError (report kept pending) when the target is missing or stays unreachable.
        """
        self.stage(folder, files, metadata)
        return self.flush()[folder]

    def stage(self, folder: str, files: Mapping[str, bytes], metadata: Mapping[str, str]) -> Path:
        """Write the report to the pending folder (replacing a pending report of the same folder)."""
        unknown = [name for name in files if Path(name).suffix not in CONTENT_TYPES]
        if unknown:
            raise ValueError(f"no content type for {unknown}: use one of {sorted(CONTENT_TYPES)}")
        entry = self.pending_dir / folder.replace("/", "_")
        partial = self.pending_dir / f".{entry.name}.{uuid.uuid4().hex}"
        partial.mkdir(parents=True)
        for name, data in files.items():
            (partial / name).write_bytes(data)
        manifest = {"folder": folder, "files": list(files), "metadata": dict(metadata),
                    "staged_at": datetime.now(timezone.utc).isoformat()}
        (partial / MANIFEST).write_text(json.dumps(manifest))
        shutil.rmtree(entry, ignore_errors=True)
        partial.rename(entry)
        return entry

    def pending(self) -> list[dict[str, Any]]:
        """Manifests of the reports waiting for upload, oldest first (each with its `path`)."""
        manifests = []
        for manifest in self.pending_dir.glob(f"*/{MANIFEST}"):
            if not manifest.parent.name.startswith("."):
                manifests.append({**json.loads(manifest.read_text()), "path": manifest.parent})
        return sorted(manifests, key=lambda m: m["staged_at"])

    def flush(self) -> dict[str, list[str]]:
        """Upload every pending report, oldest first; returns their locations by folder."""
        waiting = self.pending()
        if not waiting:
            return {}
        target = self._target(waiting)
        done: dict[str, list[str]] = {}
        for i, report in enumerate(waiting):
            try:
                done[report["folder"]] = [self._retrying(partial(_upload, target, report, name))
                                          for name in report["files"]]
            except Exception as exc:  # noqa: BLE001 - whatever the cause, the report stays pending
                raise PublishError(self._kept_message(target.describe(), exc, waiting[i:])) from None
            shutil.rmtree(report["path"])
        return done

    def _target(self, waiting: list[dict[str, Any]]) -> Target:
        blob = self.settings.blob
        if blob.local_dir is not None:
            return FolderTarget(Path(blob.local_dir).expanduser() / blob.container)
        connection_string = self._connection_string(waiting)
        try:
            return BlobTarget(connection_string, blob.container, self.timeout_s)
        except ValueError as exc:  # a malformed connection string; the message never includes the key
            raise PublishError(self._kept_message("Blob storage", f"invalid connection string: {exc}", waiting)) from None

    def _connection_string(self, waiting: list[dict[str, Any]]) -> str:
        """The connection string the seam finds (lakehouse/platform/secrets.py); none is a PublishError."""
        try:
            return blob_connection_string(self.settings, self.read_secret)
        except SecretUnavailable as exc:
            raise PublishError(self._kept_message(exc.destination, exc.reason, waiting)) from None

    def _retrying(self, action: Callable[[], T]) -> T:
        attempt = 1
        while True:
            try:
                return action()
            except Exception as exc:
                if attempt >= self.attempts or not transient(exc):
                    raise
                self.sleep(self.base_delay_s * 2 ** (attempt - 1))
                attempt += 1

    def _kept_message(self, where: str, reason: object, waiting: list[dict[str, Any]]) -> str:
        if isinstance(reason, BaseException):
            text = first_line(reason)
            reason = f"failed after {self.attempts} attempt(s): {text}" if transient(reason) else text
        folders = ", ".join(m["folder"] for m in waiting)
        return (f"reports not published to {where}: {reason}. Kept in {self.pending_dir} ({folders}); "
                "the next run uploads them (or run `lakehouse quality publish-pending`)")


