"""`lakehouse ui` and `lakehouse quality azurite` stop on SIGTERM and SIGINT and leave no process behind.

Real processes: the CLI as a subprocess, the repo's Azurite under Node, the Sail engine in the UI's serving
child. The processes a command started are read from /proc while it runs (tests/processes.py); after the
signal, every one of them must be gone. A parent killed with SIGKILL (no handler runs) still takes its
children with it: they watch a pipe, not a signal.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from processes import alive, command_line, descendants, gone, wait_for

from lakehouse.core.settings import load_settings
from lakehouse.local.azurite import azurite_dir, local_blob, running_url
from lakehouse.local.shutdown import supervise
from quality.publish import Publisher

LAKEHOUSE = [sys.executable, "-m", "lakehouse.app.cli"]
REPORT = "data-quality/2026/01/03/report.html"
STOP_S = 60  # generous bound for a loaded machine; how fast it stops is measured, not asserted, here


def local_env(root: Path) -> dict[str, str]:
    """A local lakehouse under `root` with no report store set: the commands start the repo's Azurite."""
    env = {k: v for k, v in os.environ.items()
           if k != "AZURE_STORAGE_CONNECTION_STRING" and not k.startswith("LAKEHOUSE_")}
    return {**env, "LAKEHOUSE_ENV": "local", "LAKEHOUSE_STORAGE_ROOT": str(root / "warehouse")}


@contextmanager
def started(args: list[str], env: dict[str, str], ready: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """A running command with its first stdout line, which must contain `ready`; killed with all below it if a
    test fails before it stopped."""
    stderr = tempfile.TemporaryFile("w+")  # a file, not a pipe nobody reads: the servers log every request
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    process.stderr = stderr
    try:
        line = process.stdout.readline()
        assert ready in line, f"{args[3:]} did not start: {line!r} {tail(process)}"
        yield process, line
    finally:
        stderr.close()
        if process.poll() is None:
            left = descendants(process.pid)
            process.kill()
            process.wait()
            for pid, _ in alive(left):
                os.kill(pid, signal.SIGKILL)


def tail(process: subprocess.Popen) -> str:
    process.stderr.seek(0)
    return process.stderr.read()[-2000:]


def assert_stops_leaving_nothing(process: subprocess.Popen, number: signal.Signals, expected: set[str]) -> None:
    """Signal `process`; it must exit 0 and every process below it must be gone."""
    children = descendants(process.pid)
    assert {name for name in expected if any(name in command_line(pid) for pid, _ in children)} == expected
    process.send_signal(number)
    assert process.wait(timeout=STOP_S) == 0, tail(process)
    wait_for(lambda: not alive(children), STOP_S, f"processes left after {number.name}: "
             + "; ".join(command_line(pid) for pid, _ in alive(children)))


@pytest.fixture()
def published_root(tmp_path: Path) -> Path:
    """A local lakehouse whose Azurite (persisted next to the warehouse) holds one data-quality report."""
    settings = load_settings("local", storage_root=tmp_path / "warehouse")
    with local_blob(settings) as served:
        Publisher(served).publish(REPORT.rsplit("/", 1)[0], {"report.html": b"<p>the report</p>"}, {"run_id": "r1"})
    assert azurite_dir(settings).is_dir()
    return tmp_path


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ui_serves_reports_from_its_own_azurite_and_stops_leaving_no_process(published_root, number):
    with started([*LAKEHOUSE, "ui", "--port", "0"], local_env(published_root), "lakehouse UI on ") as (process, line):
        url = line.split(" on ", 1)[1].split()[0]
        with urllib.request.urlopen(f"{url}/blob/{REPORT}", timeout=60) as reply:
            assert reply.status == 200 and reply.read() == b"<p>the report</p>"
        assert_stops_leaving_nothing(process, number, {"azurite", "lakehouse.app.ui.cli"})


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_quality_azurite_stops_leaving_no_node_process(tmp_path, number):
    with started([*LAKEHOUSE, "quality", "azurite"], local_env(tmp_path), "Azurite Blob at ") as (process, _):
        assert_stops_leaving_nothing(process, number, {"azurite"})


def test_a_parent_killed_with_sigkill_takes_the_ui_server_and_azurite_with_it(tmp_path):
    with started([*LAKEHOUSE, "ui", "--port", "0"], local_env(tmp_path), "lakehouse UI on ") as (process, _):
        children = descendants(process.pid)
        assert len(children) == 2  # the serving child and Azurite
        process.kill()
        process.wait(timeout=STOP_S)
    wait_for(lambda: not alive(children), STOP_S, "processes left after SIGKILL of their parent: "
             + "; ".join(command_line(pid) for pid, _ in alive(children)))



def test_reports_published_while_the_ui_runs_go_through_its_azurite_and_show_at_once(tmp_path):
    settings = load_settings("local", storage_root=tmp_path / "warehouse")
    with started([*LAKEHOUSE, "ui", "--port", "0"], local_env(tmp_path), "lakehouse UI on ") as (process, line):
        url = line.split(" on ", 1)[1].split()[0]
        ui_azurite = running_url(azurite_dir(settings))
        assert ui_azurite is not None
        with local_blob(settings) as served:  # what `lakehouse quality validate` or the demo does meanwhile
            assert f"BlobEndpoint={ui_azurite}/" in served.blob.connection_string.get_secret_value()
            Publisher(served).publish(REPORT.rsplit("/", 1)[0], {"report.html": b"<p>later</p>"}, {"run_id": "r2"})
        with urllib.request.urlopen(f"{url}/blob/{REPORT}", timeout=60) as reply:
            assert reply.read() == b"<p>later</p>"
        assert_stops_leaving_nothing(process, signal.SIGTERM, {"azurite", "lakehouse.app.ui.cli"})
    assert running_url(azurite_dir(settings)) is None


def test_a_supervised_child_that_ends_takes_its_own_children_with_it(tmp_path):
    """The whole process group goes, as a JVM under the classic engine would: not just the child."""
    pid_file = tmp_path / "grandchild"
    script = (f"import subprocess; p = subprocess.Popen(['sleep', '600']); open({str(pid_file)!r}, 'w').write(str(p.pid)); "
              "raise SystemExit(3)")
    assert supervise([sys.executable, "-c", script]) == 3
    grandchild = int(pid_file.read_text())
    wait_for(lambda: gone(grandchild), STOP_S, f"the child's own child {command_line(grandchild)!r} is still running")


def test_ui_on_a_port_in_use_ends_with_one_line_and_stops_its_azurite(tmp_path):
    """werkzeug would print its own lines and exit 1; the user gets the CLI's one line, exit code 2, nothing left."""
    settings = load_settings("local", storage_root=tmp_path / "warehouse")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run([*LAKEHOUSE, "ui", "--port", str(port)], env=local_env(tmp_path),
                                capture_output=True, text=True, timeout=STOP_S * 5)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.splitlines() == [f"error: cannot serve the UI on 127.0.0.1:{port}: Address already in use "
                                          "(another program listens on it: stop it or choose another --port)"]
    assert azurite_dir(settings).is_dir()  # the parent had started its Azurite before the child found the port taken
    assert running_url(azurite_dir(settings)) is None
    ours = (str(tmp_path), f"lakehouse.app.ui.cli {port}")  # Azurite's --location, the serving child's arguments
    left = [line for pid, _ in descendants(1) if any(mark in (line := command_line(pid)) for mark in ours)]
    assert not left
