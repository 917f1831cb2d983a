"""Azurite (the Azure Storage emulator) as a managed local service: the local stand-in for Blob Storage.

Runs the Blob service from the repo's own node_modules (package.json pins the version; `npm ci`
installs it) on 127.0.0.1. The OS picks the port (`--blobPort 0`) and the port Azurite reports is
read back, so two runs never race for a port. `--skipApiVersionCheck`: azure-storage-blob sends a
newer API version than Azurite accepts otherwise; `--disableTelemetry`: nothing leaves the machine.
Data stays in memory unless a location is given. The server runs in its own process group, which
`stop()` (also at interpreter exit) ends and waits for. And it never outlives the Python process that started
it, however that process ends (SIGKILL included): `azurite_guard.js`, preloaded into Node, stops Azurite when
its stdin, a pipe only this process holds, reaches end of file.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Iterator

from pydantic import SecretStr

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings
from lakehouse.local.shutdown import stop_group

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "devstoreaccount1"
# Azurite's documented, publicly known development account key: it only opens the local emulator.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
GUARD = Path(__file__).with_name("azurite_guard.js")
ANNOUNCEMENT = "lakehouse-azurite.json"  # in the location: the URL of the Azurite serving it
LISTENING = re.compile(r"Blob service (?:successfully listens|is successfully listening) (?:on|at) (http://[^\s/]+)")


class AzuriteError(LakehouseError):
    """Azurite is not installed or did not start."""


def azurite_command(root: Path = REPO_ROOT) -> list[str]:
    """Node running the installed `azurite-blob` with the guard preloaded; raises AzuriteError saying how to install it."""
    launcher = root / "node_modules" / ".bin" / "azurite-blob"
    if not launcher.exists():
        raise AzuriteError(f"Azurite is not installed: run `npm ci` in {root} (Node 20; package.json pins azurite)")
    node = shutil.which("node")
    if node is None:
        raise AzuriteError("Azurite needs Node.js (20 or later) on the PATH")
    return [node, "--require", str(GUARD), str(launcher.resolve())]


def connection_string(url: str) -> str:
    """The connection string of the Azurite listening at `url`."""
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={url}/{ACCOUNT};")


class Azurite:
    """One Azurite Blob server; use as a context manager or call start()/stop().

    With a location, the server announces its URL there (`ANNOUNCEMENT`) while it runs, so `local_blob` in
    other commands uses it instead of starting a second server on the same folder.
    """

    def __init__(self, location: Path | None = None, root: Path = REPO_ROOT, startup_timeout_s: float = 30.0) -> None:
        self.location = location
        self.root = root
        self.startup_timeout_s = startup_timeout_s
        self.url: str | None = None
        self._process: subprocess.Popen[str] | None = None
        self._output: list[str] = []

    @property
    def connection_string(self) -> str:
        if self.url is None:
            raise AzuriteError("Azurite is not running")
        return connection_string(self.url)

    def start(self) -> "Azurite":
        """Start the server and wait until it listens; raises AzuriteError with its output otherwise."""
        args = [*azurite_command(self.root), "--blobHost", "127.0.0.1", "--blobPort", "0",
                "--skipApiVersionCheck", "--disableTelemetry", "--silent"]
        if self.location is None:
            args.append("--inMemoryPersistence")
        else:
            self.location.mkdir(parents=True, exist_ok=True)
            args += ["--location", str(self.location)]
        self._process = subprocess.Popen(
            args, cwd=self.location or self.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        atexit.register(self.stop)
        try:
            self._wait_until_listening()
        except BaseException:  # also KeyboardInterrupt (a signal): a server that is starting is stopped too
            self.stop()
            raise
        if self.location is not None:
            (self.location / ANNOUNCEMENT).write_text(json.dumps({"url": self.url, "pid": self._process.pid}))
        return self

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        ready = threading.Event()
        threading.Thread(target=self._read_output, args=(ready,), daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not ready.wait(0.05):
            if self._process.poll() is not None or time.monotonic() > deadline:
                output = " | ".join(self._output[-5:]) or "no output"
                raise AzuriteError(f"Azurite did not start within {self.startup_timeout_s:g} s: {output}")

    def _read_output(self, ready: threading.Event) -> None:
        """Find the listening address, then keep draining the pipe so the server never blocks on it."""
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            line = line.strip()
            self._output = [*self._output[-20:], line]
            match = LISTENING.search(line)
            if match and not ready.is_set():
                self.url = match.group(1)
                ready.set()

    def wait(self) -> int:
        """Block until the server exits (e.g. it is killed); returns its exit code."""
        if self._process is None:
            raise AzuriteError("Azurite is not running")
        return self._process.wait()

    def stop(self) -> None:
        """Stop the server's process group (TERM, then KILL: `stop_group`); safe to call twice."""
        process, self._process = self._process, None
        self.url = None
        if process is None:
            return
        if self.location is not None:
            self._withdraw(process.pid)
        stop_group(process)  # one TERM: a second one, before Azurite has saved its blob metadata, would kill it
        if process.stdin is not None:
            process.stdin.close()

    def _withdraw(self, pid: int) -> None:
        """Remove the announcement if it is still this server's (a later one may have replaced it)."""
        announcement = self.location / ANNOUNCEMENT  # type: ignore[operator]
        try:
            if json.loads(announcement.read_text()).get("pid") == pid:
                announcement.unlink()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> "Azurite":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def azurite_dir(settings: Settings) -> Path:
    """Where the local Azurite keeps its blobs: next to the warehouse (data/azurite by default)."""
    return settings.storage_root.parent / "azurite"


def wants_azurite(settings: Settings, flag: bool | None = None) -> bool:
    """Default: Azurite when running locally with neither a connection string nor a local folder set."""
    if flag is not None:
        return flag
    return settings.env == "local" and settings.blob.connection_string is None and settings.blob.local_dir is None


@contextmanager
def local_blob(settings: Settings, flag: bool | None = None, reuse: bool = True) -> Iterator[Settings]:
    """The settings, pointed at the local Azurite when `wants_azurite` says so.

    Blobs persist in `azurite_dir`, so reports outlive the run. One Azurite per folder: each holds the folder's
    blob index in memory, so a second one would not see what the first publishes. So with `reuse` the Azurite
    already serving the folder (a running `lakehouse ui`, say) is used when there is one; otherwise one is
    started for the block and announced in the folder (`ANNOUNCEMENT`). A long-running command passes
    reuse=False: it must not depend on another command's server, which stops when that command ends.
    """
    if not wants_azurite(settings, flag):
        yield settings
        return
    location = azurite_dir(settings)
    url = running_url(location) if reuse else None
    if url is not None:
        yield _pointed_at(settings, url)
        return
    with Azurite(location=location) as server:
        yield _pointed_at(settings, server.url)  # type: ignore[arg-type]


def running_url(location: Path) -> str | None:
    """The URL of the Azurite announced in `location` if its process lives and the URL answers, else None.

    An announcement outlives a server killed with SIGKILL: then its process is gone, or its port is closed.
    """
    try:
        announced = json.loads((location / ANNOUNCEMENT).read_text())
        os.kill(int(announced["pid"]), 0)
        host, port = announced["url"].removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=2):
            return str(announced["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pointed_at(settings: Settings, url: str) -> Settings:
    local = settings.model_copy(deep=True)
    local.blob.connection_string = SecretStr(connection_string(url))
    return local
