"""One run at a time: a lock file under the storage root (pipeline updates, job runs for a date).

The file is created atomically (O_EXCL) and names the holder. A second run refuses with a message
naming it; a lock left by a process that no longer exists on this host is taken over.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from lakehouse.core.errors import LakehouseError


class Busy(LakehouseError):
    """Someone else holds the lock."""


@contextmanager
def exclusive(path: Path, what: str, run: str, busy: type[LakehouseError] = Busy) -> Iterator[None]:
    """Hold the lock at `path` for the block; `what` (e.g. "pipeline 'x' is already being updated") and
    `run` (this holder, e.g. "update 1234") make the refusal message, raised as `busy`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run": run,
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    _acquire(path, what, holder, busy)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _acquire(path: Path, what: str, holder: dict[str, object], busy: type[LakehouseError]) -> None:
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            current = _read(path)
            if current.get("host") == holder["host"] and not process_alive(current.get("pid")):
                path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            raise busy(
                f"{what} ({current.get('run')}, pid "
                f"{current.get('pid')} on {current.get('host')}, since {current.get('since')}); wait for it to "
                f"finish. If that process is gone, delete {path}"
            ) from None
        with os.fdopen(fd, "w") as f:
            json.dump(holder, f)
        return
    raise busy(f"{what}: could not take the lock {path}")


def _read(path: Path) -> dict[str, object]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def process_alive(pid: object) -> bool:
    """Whether a process with this pid exists on this host (a lock or run of a dead process can be taken over)."""
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
