"""Atomic file writes, so ingestion never sees a half-written drop.

Why: ingestion may list the landing zone at any moment and a crashed run must not leave a
partial file. Each file is written under a hidden temporary name in its final folder (readers
skip names starting with "."), then renamed over the target: os.replace is atomic within a
filesystem. The manifest is written last, so its presence means the whole drop is in place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

FILE_MODE = 0o644


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step; on failure the old file (if any) is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_drop(landing: Path, files: Mapping[str, bytes], manifest_path: str, manifest: bytes) -> None:
    """Write a day's files (relative paths under `landing`), then its manifest."""
    for relative, data in files.items():
        write_atomic(landing / relative, data)
    write_atomic(landing / manifest_path, manifest)
