"""Per-flow streaming checkpoints: which version of each upstream table a flow has consumed.

One small JSON file per flow under `<storage_root>/_pipelines/<pipeline>/checkpoints/`, replaced atomically
and only after the flow's target write committed. A full refresh ignores the stored state and overwrites
it when its write commits, so a failed full refresh leaves the previous checkpoint in place.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True)
class Position:
    """Consumed version of an upstream Delta table; `table_id` detects a table that was recreated."""

    version: int
    table_id: str


@dataclass
class Checkpoint:
    inputs: dict[str, Position]
    once_done: bool = False


class CheckpointStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, flow: str) -> Path:
        return self.directory / f"{quote(flow.lower(), safe='')}.json"

    def load(self, flow: str) -> Checkpoint:
        path = self._file(flow)
        if not path.exists():
            return Checkpoint(inputs={})
        data = json.loads(path.read_text())
        inputs = {name: Position(**position) for name, position in data.get("inputs", {}).items()}
        return Checkpoint(inputs=inputs, once_done=bool(data.get("once_done", False)))

    def committed_at(self, flow: str) -> datetime | None:
        """When the flow last committed (its checkpoint is saved only then); None if it never did."""
        path = self._file(flow)
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc) if path.exists() else None

    def save(self, flow: str, checkpoint: Checkpoint) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = _as_dict(checkpoint)
        tmp = self._file(flow).with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, self._file(flow))


def _as_dict(checkpoint: Checkpoint) -> dict[str, object]:
    return {
        "inputs": {name: vars(position) for name, position in sorted(checkpoint.inputs.items())},
        "once_done": checkpoint.once_done,
    }


def commit_token(flow: str, checkpoint: Checkpoint) -> str:
    """Names one increment of a flow: the flow and the input positions it read up to.

    Stored as the Delta commit's userMetadata when the increment is appended, so a rerun after a crash
    between the append and the checkpoint save finds the increment already in the table.
    """
    digest = hashlib.sha256(json.dumps(_as_dict(checkpoint), sort_keys=True, default=str).encode()).hexdigest()
    return f"lakehouse-flow:{flow}:{digest[:24]}"
