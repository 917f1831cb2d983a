"""The ingested-files log: each landing file is ingested exactly once across repeated or crashed runs.

Why: Sail has no Structured Streaming, so there is no Auto Loader checkpoint; this log plays its part.
Two phases: `begin(files)` records a batch as pending before its rows are written, `commit(files)`
records it as ingested after the write. If the process dies in between, the next `new_files` asks the
caller which pending files reached the target table (`already_written`, answered from the table's
`_source_file` column): those are marked ingested, the others are offered again. Every change is
written atomically (temp file, fsync, os.replace, fsync of the folder), so a kill leaves either the
old or the new state. Like Auto Loader by default, a file is keyed by its absolute path and a file
that changes after ingestion is reported, not ingested again.
One writer per checkpoint: two runs of the same source at once are not guarded against.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger(__name__)
STATE_FILE = "ingested_files.json"
_DAY_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class IngestLog:
    """Which files of one source are pending or ingested; state lives in `checkpoint_dir`."""

    def __init__(self, checkpoint_dir: str | os.PathLike[str]) -> None:
        self.path = Path(checkpoint_dir) / STATE_FILE

    def new_files(
        self,
        landing: str | os.PathLike[str],
        source: str,
        ext: str,
        already_written: Callable[[list[str]], set[str]],
        *,
        through: date | None = None,
    ) -> list[str]:
        """Files `<landing>/<source>/<YYYY-MM-DD>/*.<ext>` not ingested yet, sorted (day folders up to
        `through` when given). Settles the pending files of an interrupted run first."""
        return self.new_files_of(list_files(landing, source, ext, through=through), already_written)

    def new_files_of(self, listing: Sequence[str], already_written: Callable[[list[str]], set[str]]) -> list[str]:
        """The files of `listing` (absolute paths) not ingested yet, after settling an interrupted run's."""
        files = self._load()
        self._settle(files, already_written)
        new = []
        for path in listing:
            entry = files.get(path)
            if entry is None:
                new.append(path)
            elif _signature(path) != (entry["size"], entry["mtime_ns"]):
                log.warning("landing file %s changed after it was ingested on %s; it is not ingested again",
                            path, entry["ingested_at"])
        return new

    def begin(self, files: Sequence[str]) -> None:
        """Record files as pending, before their rows are written."""
        state = self._load()
        paths = [os.path.abspath(f) for f in files]
        known = [p for p in paths if p in state]
        if known:
            raise ValueError(f"already pending or ingested: {known}")
        for path in paths:
            size, mtime_ns = _signature(path)
            state[path] = {"state": "pending", "size": size, "mtime_ns": mtime_ns, "ingested_at": None}
        if paths:
            self._save(state)

    def restart(self, files: Sequence[str]) -> None:
        """Forget every file and record `files` as pending, in one atomic step (a full refresh).

        A crash at any point is settled like any interrupted run: what reached the target counts
        as ingested, the rest is read again."""
        state = {}
        for path in map(os.path.abspath, files):
            size, mtime_ns = _signature(path)
            state[path] = {"state": "pending", "size": size, "mtime_ns": mtime_ns, "ingested_at": None}
        self._save(state)

    def commit(self, files: Sequence[str]) -> None:
        """Record pending files as ingested, after their rows are written."""
        state = self._load()
        paths = [os.path.abspath(f) for f in files]
        not_pending = [p for p in paths if state.get(p, {}).get("state") != "pending"]
        if not_pending:
            raise ValueError(f"not pending: {not_pending}")
        for path in paths:
            state[path] |= {"state": "ingested", "ingested_at": _now()}
        if paths:
            self._save(state)

    def ingested(self) -> list[str]:
        """Files recorded as ingested, sorted."""
        return sorted(p for p, e in self._load().items() if e["state"] == "ingested")

    def ingested_after(self, moment: datetime | None) -> list[str]:
        """Files recorded as ingested after `moment` (all of them when None), sorted: what a reader that last
        caught up at `moment` has not seen yet."""
        return sorted(p for p, e in self._load().items()
                      if e["state"] == "ingested" and (moment is None or datetime.fromisoformat(e["ingested_at"]) > moment))

    def _settle(self, state: dict, already_written: Callable[[list[str]], set[str]]) -> None:
        pending = sorted(p for p, e in state.items() if e["state"] == "pending")
        if not pending:
            return
        written = already_written(pending)
        for path in pending:
            if path in written:
                state[path] |= {"state": "ingested", "ingested_at": _now()}
            else:
                del state[path]
        log.warning("an interrupted run left %d file(s) pending: %d were in the target and are now ingested, "
                    "%d were not and will be read again", len(pending), len(written & set(pending)),
                    len(set(pending) - written))
        self._save(state)

    def _load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())["files"]

    def _save(self, files: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        with open(tmp, "w") as out:
            json.dump({"version": 1, "files": files}, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def list_files(landing: str | os.PathLike[str], source: str, ext: str, *, through: date | None = None) -> list[str]:
    """Absolute paths of `<landing>/<source>/<YYYY-MM-DD>/*.<ext>`, sorted, day folders up to `through`."""
    found: list[str] = []
    for day in sorted(p for p in (Path(landing) / source).glob("*") if p.is_dir() and _DAY_DIR.match(p.name)):
        if through is None or day.name <= through.isoformat():
            found += sorted(str(p) for p in day.glob(f"*.{ext}") if p.is_file() and p.name[0] not in "._")
    return [os.path.abspath(f) for f in found]


def _signature(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def _now() -> str:
    # Microseconds: `ingested_after` orders files against a flow's last commit within the same second.
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
