"""The UI served on localhost: a small Flask app over the pages, reading fresh data on every request.

Requests are handled one at a time (one Spark session behind them); plotly.js and the UI's own
assets are served from the installed packages, so nothing is fetched from the internet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, send_file

from lakehouse.errors import LakehouseError
from lakehouse.settings import Settings
from lakehouse.ui import pages
from lakehouse.ui.blob import content_type, read_report
from lakehouse.ui.render import PAGES, ServerLinks, static_file
from lakehouse.ui.source import Tables


def create_app(spark: Any, settings: Settings) -> Flask:
    """The UI as a WSGI app over `spark` and the tables of `settings`."""
    app = Flask(__name__, static_folder=None)
    links = ServerLinks()

    def html(build: Callable[[Tables], str | None]) -> Response:
        body = build(Tables(spark, settings))
        if body is None:
            abort(404)
        return Response(body, mimetype="text/html")

    @app.get("/")
    def index() -> Response:
        return html(lambda t: pages.index(t, links))

    @app.get("/pipelines/<pipeline>")
    @app.get("/pipelines/<pipeline>/updates/<update_id>")
    def pipeline(pipeline: str, update_id: str | None = None) -> Response:
        return html(lambda t: pages.pipeline(t, links, pipeline, update_id))

    @app.get("/expectations/<pipeline>")
    def expectations(pipeline: str) -> Response:
        return html(lambda t: pages.expectations(t, links, pipeline))

    for name in PAGES:
        app.add_url_rule(f"/{name}", name, lambda name=name: html(lambda t: getattr(pages, name)(t, links)))

    @app.get("/static/<name>")
    def static(name: str) -> Response:
        try:
            return send_file(static_file(name), max_age=3600)
        except KeyError:
            abort(404)

    @app.get("/blob/<path:path>")
    def report(path: str) -> Response:
        data = read_report(settings, path)
        if data is None:
            abort(404, description=f"report {path} was not found (not published yet, or published elsewhere)")
        return Response(data, content_type=content_type(path))

    return app


def serve(spark: Any, settings: Settings, port: int, on_ready: Callable[[str], None] = print) -> None:
    """Serve the UI on http://127.0.0.1:PORT until interrupted."""
    from werkzeug.serving import make_server

    try:
        server = make_server("127.0.0.1", port, create_app(spark, settings), threaded=False)
    except OSError as exc:
        raise LakehouseError(f"cannot serve the UI on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    on_ready(f"http://127.0.0.1:{server.server_port}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
