"""Published report files for the served UI, so its report links open wherever the reports went.

Looked up in the order a report travels: still pending under the storage root (Blob was unreachable),
the local folder standing in for the container (`blob.local_dir`), then the Blob container itself.
Only report files (`data-quality/...` and `drift/...`, HTML or JSON) are served.
"""

from __future__ import annotations

import re
from pathlib import Path

from lakehouse.settings import Settings
from quality.publish import CONTENT_TYPES, Publisher

REPORT_PATH = re.compile(r"^(data-quality|drift)/\d{4}/\d{2}(/\d{2})?/report\.(html|json)$")


def content_type(path: str) -> str:
    return CONTENT_TYPES[Path(path).suffix]


def read_report(settings: Settings, path: str) -> bytes | None:
    """The bytes of the report file at `path` in the container; None when not found or not a report path."""
    if not REPORT_PATH.match(path):
        return None
    folder, name = path.rsplit("/", 1)
    for pending in Publisher(settings).pending():
        if pending["folder"] == folder and name in pending["files"]:
            return (pending["path"] / name).read_bytes()
    blob = settings.blob
    if blob.local_dir is not None:
        local = Path(blob.local_dir).expanduser() / blob.container / path
        return local.read_bytes() if local.is_file() else None
    if blob.connection_string is not None:
        return _download(blob.connection_string.get_secret_value(), blob.container, path)
    return None


def _download(connection_string: str, container: str, path: str) -> bytes | None:
    from azure.core.exceptions import AzureError
    from azure.storage.blob import BlobServiceClient

    try:
        client = BlobServiceClient.from_connection_string(connection_string, retry_total=0, connection_timeout=5)
        return client.get_blob_client(container, path).download_blob().readall()
    except (AzureError, ValueError):
        return None
