"""Headless Chromium driven over the DevTools protocol, for tests of pages that run JavaScript.

The protocol runs over a pipe (`--remote-debugging-pipe`: commands on fd 3, replies on fd 4, each
message JSON ending in a NUL byte), so there is no port to find and nothing but the standard library.
`Browser.open` loads a page, waits for its load event and, when asked, for a condition in the page,
and returns what a test checks: every console message, uncaught exception, failed request and
dialog (`problems`), and evaluations and screenshots of the loaded page.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe"]
COMMAND_FD, REPLY_FD = 3, 4


class BrowserError(AssertionError):
    pass


@dataclass
class Page:
    browser: Browser
    session: str
    target: str
    url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    @property
    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, failed loads and dialogs (e.g. alert) of the page."""
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
                found.append(f"console.{params['type']}: " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"log.{params['entry']['level']}: {params['entry']['text']} {params['entry'].get('url', '')}")
            elif method == "Page.javascriptDialogOpening":
                found.append(f"dialog {params['type']}: {params['message']}")
        return found

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        reply = self.browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                       "awaitPromise": True}, self.session, self.events)
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 20.0) -> None:
        """Wait until `expression` is truthy in the page."""
        deadline = time.monotonic() + timeout_s
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise BrowserError(f"{self.url}: {expression!r} still false after {timeout_s} s; problems {self.problems}")
            time.sleep(0.1)

    def table(self, selector: str) -> list[dict[str, str]]:
        """The rows of the table at `selector` as {column: text}, keyed by its header texts."""
        return self.evaluate(f"""(() => {{
            const t = document.querySelector({json.dumps(selector)});
            const heads = [...t.querySelectorAll('thead th')].map(h => h.textContent.trim());
            return [...t.querySelectorAll('tbody tr')].map(r =>
                Object.fromEntries([...r.children].map((c, i) => [heads[i], c.textContent.trim()])));
        }})()""")

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page."""
        size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        reply = self.browser.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 6000), "scale": 1}}, self.session, self.events)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(reply["data"]))
        return path

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.browser.call("Target.closeTarget", {"targetId": self.target})


def _above_protocol_fds(fd: int) -> int:
    """The same pipe end on a descriptor above REPLY_FD, so placing one end on fd 3 never closes the other."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, REPLY_FD + 1)
    os.close(fd)
    return moved


class Browser:
    """One headless Chromium for a test module; open pages one after the other."""

    def __init__(self, profile: Path, width: int = 1400, height: int = 900) -> None:
        binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if binary is None:
            raise BrowserError("headless Chromium is needed for the UI tests: apt-get install chromium")
        self.size = (width, height)
        to_browser, self._commands = os.pipe()
        self._replies, from_browser = os.pipe()
        to_browser, from_browser = _above_protocol_fds(to_browser), _above_protocol_fds(from_browser)
        # bash puts the pipes on the protocol's fds 3 and 4 (dash takes only one-digit fds) and execs Chromium. No
        # preexec_fn: that forks this process, whose engine client (gRPC) then aborts the child now and then.
        place = f'exec "$0" "$@" {COMMAND_FD}<&{to_browser} {REPLY_FD}>&{from_browser} {to_browser}<&- {from_browser}>&-'
        self.log = profile.parent / f"{profile.name}.log"  # Chromium's own output, quoted if it exits early
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(["bash", "-c", place, binary, *FLAGS, f"--user-data-dir={profile}",
                                             f"--window-size={width},{height}", "about:blank"],
                                            pass_fds=(to_browser, from_browser), stdout=log, stderr=subprocess.STDOUT)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self._page: Page | None = None

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             events: list[dict[str, Any]] | None = None, timeout_s: float = 60.0) -> dict[str, Any]:
        """Send a command and wait for its reply; events arriving meanwhile go to `events`."""
        expected = self._send(method, params, session)
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == expected:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply["result"]
            if "method" in reply:
                self._event(reply, events)

    def _send(self, method: str, params: dict[str, Any] | None, session: str | None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._commands, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserError(f"Chromium exited (code {self.process.poll()}): {self.log.read_text()[-3000:]}") from None
        return self._next_id

    def _event(self, event: dict[str, Any], events: list[dict[str, Any]] | None) -> None:
        """Keep an event; dismiss a dialog at once (an alert would block the page), its reply is not awaited."""
        if events is not None:
            events.append(event)
        if event["method"] == "Page.javascriptDialogOpening":
            self._send("Page.handleJavaScriptDialog", {"accept": True}, event.get("sessionId"))

    def _receive(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            if not select.select([self._replies], [], [], max(deadline - time.monotonic(), 0))[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (code {self.process.poll()}): {self.log.read_text()[-3000:]}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url: str, ready: str | None = None) -> Page:
        """Load `url` in a new tab (closing the previous one), wait for its load event and for `ready`,
        a JavaScript condition, when given."""
        if self._page is not None:
            self._page.close()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = self._page = Page(self, session, target, url)
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session, events=page.events)
        self.call("Emulation.setDeviceMetricsOverride", {"width": self.size[0], "height": self.size[1],
                                                          "deviceScaleFactor": 1, "mobile": False}, session, page.events)
        self.call("Page.navigate", {"url": url}, session, page.events)
        deadline = time.monotonic() + 60
        while not any(e["method"] == "Page.loadEventFired" for e in page.events):
            message = self._receive(deadline)
            if "method" in message:
                self._event(message, page.events)
        if ready:
            page.wait_for(ready)
        return page

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout_s=10)
        except BrowserError:
            pass
        finally:
            os.close(self._commands)
            os.close(self._replies)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
