"""Stopping commands that run until stopped (`lakehouse ui`, `lakehouse quality azurite`), with nothing left behind.

Python runs a signal handler only in the main thread, between bytecodes: a process whose main thread is inside
an engine call (Sail's embedded Rust server, a JVM through py4j) may not run it for a long time, or at all. So
such a command keeps the engine out of the process that receives the signal. The parent runs only Python that
waits (on a child, on Azurite) and turns SIGTERM and SIGINT into KeyboardInterrupt (`interrupt_on_signals`), so
its `with` blocks unwind and stop what they started. The work runs in a child in its own process group
(`supervise`); the parent stops that whole group on the way out: it closes the child's stdin, sends TERM, and
KILL after a grace period. The child exits as soon as its stdin closes (`exit_when_stdin_closes`, a thread that
needs no signal), so it never outlives its parent, even one killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

GRACE_S = 2.0  # how long a group gets to stop after TERM (and after KILL) before the parent moves on


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt in the main thread for the duration of the block.

    Without it SIGTERM ends the interpreter at once: no `finally`, no atexit, and the children stay.
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def stop_group(process: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """End the process group `process` leads (started with `process_group=0` or `start_new_session`), and wait.

    TERM first; KILL when the group is still there after `grace_s`. The whole group: a leader's own children (a
    JVM, Node workers) die with it. Safe to call when the group is already gone.
    """
    for number in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, number)
        except ProcessLookupError:
            process.poll()
            return
        if _group_ended(process, time.monotonic() + grace_s):
            return


def _group_ended(process: subprocess.Popen, deadline: float) -> bool:
    """Wait until the leader is reaped and no process is left in its group, or the deadline passes."""
    while True:
        if process.poll() is not None:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def supervise(args: list[str], stdin_data: bytes = b"", grace_s: float = GRACE_S) -> int:
    """Run `args` in its own process group until it exits or KeyboardInterrupt (see `interrupt_on_signals`).

    The child's stdin is a pipe: it receives `stdin_data`, then stays open while the parent lives. The child's
    group is stopped on the way out in every case. Returns the child's exit code, 0 when it was interrupted.
    """
    process = subprocess.Popen(args, stdin=subprocess.PIPE, process_group=0)
    try:
        assert process.stdin is not None
        try:
            process.stdin.write(stdin_data)
            process.stdin.flush()
        except BrokenPipeError:
            pass  # the child already ended: its exit code says why
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        try:
            process.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            pass
        stop_group(process, grace_s)


def exit_when_stdin_closes() -> None:
    """In a supervised child: end this process at once when stdin reaches end of file.

    The parent closes the pipe to stop it, and the kernel closes it when the parent dies. A daemon thread
    blocked in read() sees that whatever the main thread is doing; `os._exit` skips cleanup that could hang.
    It reads the file descriptor, not sys.stdin: a thread blocked inside sys.stdin's buffer holds its lock,
    and an interpreter exiting another way aborts on that lock ("could not acquire lock ... at shutdown").
    Whatever the child read from sys.stdin before must have been all the parent wrote.
    """

    def watch() -> None:
        while os.read(fd, 4096):
            pass
        os._exit(0)

    fd = sys.stdin.fileno()

    threading.Thread(target=watch, name="exit-when-stdin-closes", daemon=True).start()
