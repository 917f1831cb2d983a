"""The `dbutils` a pipeline source file sees locally: `dbutils.fs.ls` over the local folders of its paths.

Databricks' pipeline examples call `dbutils.fs.ls` in pipeline source code, e.g. the snapshot function of "AUTO CDC
FROM SNAPSHOT" lists `/Volumes/main/cdc_tutorial/snapshots/` (https://docs.databricks.com/aws/en/ldp/cdc). `ls`
returns `FileInfo(path, name, size, modificationTime)`, a folder's name ending in "/"
(https://docs.databricks.com/aws/en/dev-tools/databricks-utils). Locally a
`/Volumes/<catalog>/<schema>/<volume>/...` path is read from the volumes folder (sources.local_path); the paths
returned are the ones asked for, so they can be passed back to `spark.read`. Nothing else of `dbutils` is offered:
any other attribute fails by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from lakehouse.local.dlt_runtime.sources import local_path


class FileInfo(NamedTuple):
    path: str
    name: str
    size: int
    modificationTime: int  # noqa: N815 - Databricks' field name, milliseconds since the epoch


class _FileSystem:
    def __init__(self, volumes_root: Path) -> None:
        self._volumes_root = volumes_root

    def ls(self, dir: str) -> list[FileInfo]:  # noqa: A002 - Databricks' parameter name
        """The entries of folder `dir` (or the file itself), sorted by name."""
        folder = local_path(dir, self._volumes_root)
        if not folder.exists():
            raise FileNotFoundError(f"dbutils.fs.ls: {dir} does not exist (locally {folder})")
        entries = sorted(folder.iterdir()) if folder.is_dir() else [folder]
        base = dir if folder.is_dir() else dir[: len(dir) - len(folder.name)]
        base = base if base.endswith("/") else base + "/"
        return [_info(base, entry) for entry in entries]


def _info(base: str, entry: Path) -> FileInfo:
    name = entry.name + ("/" if entry.is_dir() else "")
    stat = entry.stat()
    return FileInfo(base + name, name, 0 if entry.is_dir() else stat.st_size, int(stat.st_mtime * 1000))


class DBUtils:
    """`dbutils` with `fs.ls` only."""

    def __init__(self, volumes_root: Path) -> None:
        self.fs = _FileSystem(volumes_root)
