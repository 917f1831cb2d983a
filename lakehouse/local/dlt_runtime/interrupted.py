"""Updates that ended without a word: a process killed mid-update writes no event-log records (they are
written at the end), so each update leaves a marker while it runs, and the next update of the pipeline
records a marker it finds as a FAILED update in the event log. The log then says what happened."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

MARKER = "update_running.json"


@dataclass(frozen=True)
class Interrupted:
    update_id: str
    started: str


def begin(state_dir: Path, update_id: str) -> None:
    """Mark `update_id` as running (call inside the pipeline's lock)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    marker = state_dir / MARKER
    marker.with_suffix(".tmp").write_text(json.dumps(
        {"update_id": update_id, "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
    marker.with_suffix(".tmp").replace(marker)


def end(state_dir: Path) -> None:
    """The update's events are written: nothing to report next time."""
    (state_dir / MARKER).unlink(missing_ok=True)


def previous(state_dir: Path) -> Interrupted | None:
    """The update that was running when its process ended, if one was."""
    marker = state_dir / MARKER
    try:
        found = json.loads(marker.read_text())
        return Interrupted(str(found["update_id"]), str(found.get("started", "?")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):  # a marker cut short by the crash itself
        return Interrupted("unknown", "?")
