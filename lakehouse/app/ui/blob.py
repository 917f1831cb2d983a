"""Published report files for the served UI: which exist, and their bytes, so a report link never lies.

Looked up in the order a report travels: still pending under the storage root (Blob was unreachable),
then the report store of the settings: the local folder standing in for the container (`blob.local_dir`)
or the Blob container of `blob.connection_string` (the Azurite `lakehouse ui` starts locally when no
connection string is set: lakehouse/local/azurite.py `local_blob`). Only report files (`data-quality/...` and
`drift/...`, HTML or JSON) are listed or served.

A report that cannot be read says why: not published (the store answered and does not hold it), the
store not reachable (Blob refused the connection, timed out or denied access), or no store configured.
The pages link only the reports the listing found, and name the reason when the store could not be listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.core.settings import Settings
from quality.publish import CONTENT_TYPES, Publisher

REPORT_PATH = re.compile(r"^(data-quality|drift)/\d{4}/\d{2}(/\d{2})?/(report\.html|report\.json|summary\.json)$")
KINDS = ("data-quality/", "drift/")
NOT_PUBLISHED, UNREACHABLE, NOT_CONFIGURED, NOT_A_REPORT = "not published", "unreachable", "not configured", "not a report"
_NO_STORE = ("no report store is configured: set AZURE_STORAGE_CONNECTION_STRING (Blob or Azurite) or "
             "LAKEHOUSE_BLOB__LOCAL_DIR; locally `lakehouse ui` starts the repo's Azurite when neither is set")
TIMEOUT_S = 5  # per Blob request: a page waits at most this long for a store that does not answer


class ReportUnavailable(Exception):
    """A report could not be served; `reason` is one of NOT_PUBLISHED, UNREACHABLE, NOT_CONFIGURED, NOT_A_REPORT."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Published:
    """The report files that exist; `problem` says why the listing is incomplete (store unreachable or unset)."""

    paths: frozenset[str] = field(default_factory=frozenset)
    problem: str | None = None

    def has(self, path: str) -> bool:
        return path in self.paths


def content_type(path: str) -> str:
    return CONTENT_TYPES[Path(path).suffix]


def read_report(settings: Settings, path: str) -> bytes:
    """The bytes of the report file at `path` in the container; raises ReportUnavailable saying why not."""
    if not REPORT_PATH.match(path):
        raise ReportUnavailable(NOT_A_REPORT, f"{path} is not a report path (data-quality/... or drift/...)")
    folder, name = path.rsplit("/", 1)
    for pending in Publisher(settings).pending():
        if pending["folder"] == folder and name in pending["files"]:
            return (pending["path"] / name).read_bytes()
    blob = settings.blob
    if blob.local_dir is not None:
        local = _local_root(settings) / path
        if not local.is_file():
            raise ReportUnavailable(NOT_PUBLISHED, f"report {path} is not published: {local} does not exist")
        return local.read_bytes()
    if blob.connection_string is None:
        raise ReportUnavailable(NOT_CONFIGURED, _NO_STORE)
    return _download(blob.connection_string.get_secret_value(), blob.container, path)


def published(settings: Settings) -> Published:
    """Every report file that exists, pending or in the report store."""
    found = {f"{p['folder']}/{name}" for p in Publisher(settings).pending() for name in p["files"]}
    blob = settings.blob
    problem = None
    if blob.local_dir is not None:
        root = _local_root(settings)
        found |= {str(p.relative_to(root)) for kind in KINDS for p in (root / kind).rglob("*") if p.is_file()}
    elif blob.connection_string is None:
        problem = _NO_STORE
    else:
        try:
            found |= _list(blob.connection_string.get_secret_value(), blob.container)
        except ReportUnavailable as exc:
            problem = str(exc)
    return Published(frozenset(p for p in found if REPORT_PATH.match(p)), problem)


def _local_root(settings: Settings) -> Path:
    return Path(settings.blob.local_dir).expanduser() / settings.blob.container  # type: ignore[arg-type]


def _container(connection_string: str, container: str) -> Any:
    """The container's client (azure's ContainerClient, imported here: only Blob-backed settings need it)."""
    from azure.storage.blob import BlobServiceClient

    try:
        service = BlobServiceClient.from_connection_string(connection_string, retry_total=0,
                                                           connection_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S)
    except ValueError as exc:  # a malformed connection string; the message never includes the key
        raise ReportUnavailable(UNREACHABLE, f"the report store's connection string is invalid: {exc}") from None
    return service.get_container_client(container)


def _download(connection_string: str, container: str, path: str) -> bytes:
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    client = _container(connection_string, container)
    try:
        return client.get_blob_client(path).download_blob().readall()
    except ResourceNotFoundError:
        raise ReportUnavailable(NOT_PUBLISHED, f"report {path} is not published in Blob container "
                                               f"{container} at {client.primary_hostname}") from None
    except AzureError as exc:
        raise _unreachable(client, exc) from None


def _list(connection_string: str, container: str) -> set[str]:
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    client = _container(connection_string, container)
    try:
        return {b.name for kind in KINDS for b in client.list_blobs(name_starts_with=kind)}
    except ResourceNotFoundError:  # no container yet: nothing was ever published there
        return set()
    except AzureError as exc:
        raise _unreachable(client, exc) from None


def _unreachable(client: Any, exc: Exception) -> ReportUnavailable:
    where = f"Blob container {client.container_name} at {client.primary_hostname}"
    cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ReportUnavailable(UNREACHABLE, f"the report store ({where}) is not reachable: {cause}")
