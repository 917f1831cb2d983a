"""Which processes a command left running, read from /proc (Linux; psutil is not a dependency).

A process is named by (pid, start time), so a pid the kernel reused for something else never counts as left over,
and a zombie (ended, not yet reaped by its new parent) counts as gone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

Proc = tuple[int, int]  # pid, start time in clock ticks since boot


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of `pid`, None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[1]), int(fields[19])


def descendants(pid: int) -> set[Proc]:
    """Every living process below `pid` (children, their children, ...)."""
    parents: dict[int, list[Proc]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[0] != "Z":
            parents.setdefault(stat[1], []).append((int(entry), stat[2]))
    found: set[Proc] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def alive(procs: set[Proc]) -> set[Proc]:
    """Those of `procs` still running (not ended, not a zombie, pid not reused)."""
    return {(pid, start) for pid, start in procs if (s := _stat(pid)) is not None and s[0] != "Z" and s[2] == start}


def gone(pid: int) -> bool:
    """Whether `pid` has ended (no process, or a zombie)."""
    stat = _stat(pid)
    return stat is None or stat[0] == "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` when `timeout_s` passes first."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s")
        time.sleep(0.05)
