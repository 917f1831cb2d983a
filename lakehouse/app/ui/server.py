"""The UI served on localhost: a small Flask app over the pages, reading fresh data on every request.

Each connection has its own thread, so a connection a browser opens ahead of time and leaves idle
(Chromium preconnects) never holds up the others; the pages themselves are built one at a time, as one
Spark session stands behind them. plotly.js and the UI's own assets are served from the installed
packages, so nothing is fetched from the internet.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, send_file

from lakehouse.app.ui import pages
from lakehouse.app.ui.blob import NOT_A_REPORT, NOT_PUBLISHED, ReportUnavailable, content_type, published, read_report
from lakehouse.app.ui.render import PAGES, ServerLinks, static_file
from lakehouse.app.ui.source import Tables
from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings


def create_app(spark: Any, settings: Settings) -> Flask:
    """The UI as a WSGI app over `spark` and the tables of `settings`."""
    app = Flask(__name__, static_folder=None)
    one_at_a_time = threading.Lock()

    def html(build: Callable[[Tables, ServerLinks], str | None]) -> Response:
        with one_at_a_time:
            body = build(Tables(spark, settings), ServerLinks(published(settings)))
        if body is None:
            abort(404)
        return Response(body, mimetype="text/html")

    @app.get("/")
    def index() -> Response:
        return html(pages.index)

    @app.get("/pipelines/<pipeline>")
    @app.get("/pipelines/<pipeline>/updates/<update_id>")
    def pipeline(pipeline: str, update_id: str | None = None) -> Response:
        return html(lambda t, links: pages.pipeline(t, links, pipeline, update_id))

    @app.get("/pipelines/<pipeline>/datasets/<dataset>")
    def dataset(pipeline: str, dataset: str) -> Response:
        return html(lambda t, links: pages.dataset(t, links, pipeline, dataset))

    @app.get("/expectations/<pipeline>")
    def expectations(pipeline: str) -> Response:
        return html(lambda t, links: pages.expectations(t, links, pipeline))

    for name in PAGES:
        app.add_url_rule(f"/{name}", name, lambda name=name: html(getattr(pages, name)))

    @app.get("/static/<name>")
    def static(name: str) -> Response:
        try:
            return send_file(static_file(name), max_age=3600)
        except KeyError:
            abort(404)

    @app.get("/blob/<path:path>")
    def report(path: str) -> Response:
        """A report file; 404 when it is not published (or no report), 503 when the report store cannot answer."""
        try:
            data = read_report(settings, path)
        except ReportUnavailable as exc:
            abort(404 if exc.reason in (NOT_PUBLISHED, NOT_A_REPORT) else 503, description=str(exc))
        return Response(data, content_type=content_type(path))

    return app


def listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:PORT (0: any free port), or a LakehouseError naming the port.

    Bound here rather than by werkzeug's make_server, which prints its own message and calls sys.exit(1) when
    the address is in use; `create_server` sets SO_REUSEADDR as werkzeug does, so a port left in TIME_WAIT by a
    previous run is reused while one another program listens on is refused.
    """
    try:
        return socket.create_server(("127.0.0.1", port))
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)  # create_server's own text repeats the address
        if exc.errno == errno.EADDRINUSE:
            reason += " (another program listens on it: stop it or choose another --port)"
        raise LakehouseError(f"cannot serve the UI on 127.0.0.1:{port}: {reason}") from None


def serve(spark: Any, settings: Settings, listener: socket.socket, on_ready: Callable[[str], None] = print) -> None:
    """Serve the UI on `listener` (from `listen`) until interrupted."""
    from werkzeug.serving import make_server

    port = listener.getsockname()[1]
    server = make_server("127.0.0.1", port, create_app(spark, settings), threaded=True, fd=listener.fileno())
    on_ready(f"http://127.0.0.1:{port}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
