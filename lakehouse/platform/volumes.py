"""Where files a job keeps between runs live: a Unity Catalog volume of the target schema on Databricks, a folder
under the storage root locally. Today that is the reports waiting for upload (quality/publish.py).

Never the working directory on Databricks: serverless does not guarantee it ("The working directory for notebooks
and job tasks is not guaranteed", https://docs.databricks.com/compute/serverless/limitations), so a report kept there
could vanish before the next run uploads it. A Unity Catalog volume is a FUSE-mounted path that plain Python file
operations read and write on serverless and classic compute (https://docs.databricks.com/en/volumes/volume-files.html,
https://docs.databricks.com/aws/files); the job's principal needs READ VOLUME and WRITE VOLUME on it
(https://docs.databricks.com/en/volumes/privileges.html, granted by the preflight).
"""

from __future__ import annotations

from pathlib import Path

from lakehouse.core.settings import Settings

PENDING_DIR = "_reports_pending"  # locally: under the storage root
REPORTS_VOLUME = "reports"  # on Databricks: a Unity Catalog volume of the target schema


def reports_pending_path(settings: Settings) -> Path:
    """Where reports wait for upload: `blob.pending_path` when set (absolute on Databricks, checked when the settings
    load), else `<storage_root>/_reports_pending` locally and `/Volumes/<catalog>/<schema>/reports/pending` on
    Databricks."""
    if settings.blob.pending_path is not None:
        return settings.blob.pending_path
    if settings.local:
        return settings.storage_root / PENDING_DIR
    return Path("/Volumes", settings.catalog, settings.schema_name, REPORTS_VOLUME, "pending")
