"""`lakehouse ui`: serve the pipeline, expectation, job, model and report pages on localhost, or export them.

Mounted under the main CLI, which passes the Settings as the click context object; run on its own it
uses the default settings. A LakehouseError becomes one line on stderr and exit code 2.

Serving runs in two processes (lakehouse/local/shutdown.py says why): this one starts the repo's Azurite when the
reports have no store (locally, no connection string: `local_blob`, as `lakehouse quality validate` does; its
own, since it outlives the jobs, which then publish through it), then runs `python -m lakehouse.app.ui.cli` in its
own process group, hands it the settings over its stdin and waits. SIGTERM or SIGINT here stops that child's
whole group, then Azurite: nothing is left running.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import click

from lakehouse.core.cli_support import FriendlyCommand, context_settings, parse_date
from lakehouse.core.settings import Settings


@click.command("ui", cls=FriendlyCommand)
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="Port on 127.0.0.1 to serve on (0: any free port).")
@click.option("--export", "export_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the pages as static HTML into this folder instead of serving them.")
@click.option("--publish", is_flag=True,
              help="Publish the static pages to Blob under ui/<yyyy>/<mm>/<dd>/ (Azurite locally when no Blob is set).")
@click.option("--date", "day", default=None, help="Day of the published folder, YYYY-MM-DD (default: the run date).")
@click.pass_context
def ui(ctx: click.Context, port: int, export_dir: Path | None, publish: bool, day: str | None) -> None:
    """Pipeline graphs, expectation dashboards, job runs, models and report links, from the event log and tables."""
    settings = context_settings(ctx)
    folder_day = parse_date(day or None, "--date") or settings.effective_run_date
    if export_dir is None and not publish:
        _serve(settings, port)
    else:
        _export(settings, export_dir, publish, folder_day)


def _serve(settings: Settings, port: int) -> None:
    from lakehouse.local.azurite import AzuriteError, local_blob
    from lakehouse.local.shutdown import interrupt_on_signals, supervise

    try:
        with interrupt_on_signals(), ExitStack() as stack:
            try:
                served = stack.enter_context(local_blob(settings, reuse=False))
            except AzuriteError as exc:  # every other page still works: serve them, and say why reports won't open
                click.echo(f"warning: {exc}; the report links will not open", err=True)
                served = settings
            # The parent's own Settings object (the Blob connection string included), over a private pipe.
            code = supervise([sys.executable, "-m", "lakehouse.app.ui.cli", str(port)], pickle.dumps(served))
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)


@click.command("serve-child", cls=FriendlyCommand, hidden=True)
@click.argument("port", type=int)
def serve_child(port: int) -> None:
    """The serving process of `lakehouse ui`: settings from stdin, then serve until stdin closes."""
    from lakehouse.app.ui.server import listen, serve
    from lakehouse.app.verbosity import configure_logging
    from lakehouse.core.engine import spark_session
    from lakehouse.local.shutdown import exit_when_stdin_closes

    configure_logging()  # as verbose as the parent: `lakehouse -v ui` set LAKEHOUSE_VERBOSE
    settings: Settings = pickle.load(sys.stdin.buffer)
    exit_when_stdin_closes()
    # Bound before the engine starts: a port in use ends this child at once with one line (exit code 2), and
    # the parent exits with that code after stopping its Azurite.
    with listen(port) as listener, spark_session(settings) as spark:
        serve(spark, settings, listener, lambda url: click.echo(f"lakehouse UI on {url} (Ctrl-C stops it)"))


def _export(settings: Settings, export_dir: Path | None, publish: bool, day: date) -> None:
    from lakehouse.app.ui.export import export_site, publish_site
    from lakehouse.app.ui.source import Tables
    from lakehouse.core.engine import spark_session
    from lakehouse.local.azurite import local_blob

    with tempfile.TemporaryDirectory(prefix="lakehouse-ui-") as scratch:
        out_dir = export_dir or Path(scratch)
        with spark_session(settings) as spark:
            files = export_site(Tables(spark, settings), out_dir, day)
        click.echo(f"wrote {len(files)} files to {out_dir}")
        if publish:
            with local_blob(settings) as target:
                locations = publish_site(target, files, day)
            click.echo(f"published to {locations[0].rsplit('/', 1)[0]}/")


if __name__ == "__main__":
    serve_child()
