"""`lakehouse job run|backfill|history|check` and `lakehouse bundle validate|deploy|run|preflight`.

`job` executes the bundle's jobs on this machine; `bundle` hands the same bundle to the Databricks CLI.
"""

from __future__ import annotations

import sys

import click

from lakehouse.core.cli_support import FriendlyCommand, FriendlyGroup, context_settings, parse_date


@click.group(cls=FriendlyGroup)
def job() -> None:
    """Run the bundle's jobs locally (churn_daily, churn_drift), backfill date ranges, show run history."""


@job.command("run", cls=FriendlyCommand)
@click.argument("name")
@click.option("--date", "run_date", required=True, help="Data day to process, YYYY-MM-DD.")
@click.option("--force", is_flag=True, help="Run every task again, also those that already succeeded for the date.")
@click.option("--full-refresh", is_flag=True, help="Pipeline tasks recompute everything (a first deployment).")
@click.pass_context
def job_run(ctx: click.Context, name: str, run_date: str, force: bool, full_refresh: bool) -> None:
    """Run job NAME for one data day; exits 1 when a leaf task did not succeed."""
    from lakehouse.app.progress import console
    from lakehouse.core.engine import spark_session
    from lakehouse.local.jobs.runner import RunOptions, run_job
    from lakehouse.local.jobs.spec import job_spec

    settings = context_settings(ctx)
    spec = job_spec(name)
    with spark_session(settings) as spark:
        run = run_job(spark, settings, spec, parse_date(run_date), RunOptions(not force, full_refresh, console=console))
    if not run.leaves_ok(spec):
        click.echo(f"job {name} for {run_date} failed: " + "; ".join(run.failures() or ["see the task statuses"]),
                   err=True)
        sys.exit(1)


@job.command(cls=FriendlyCommand)
@click.option("--start", required=True, help="First data day, YYYY-MM-DD.")
@click.option("--end", required=True, help="Last data day, YYYY-MM-DD.")
@click.option("--force", is_flag=True, help="Rerun tasks that already succeeded.")
@click.pass_context
def backfill(ctx: click.Context, start: str, end: str, force: bool) -> None:
    """Run every job as its schedule would have for the data days START..END (resumable)."""
    from lakehouse.app.progress import console
    from lakehouse.core.engine import spark_session
    from lakehouse.local.jobs.backfill import backfill as run_backfill
    from lakehouse.local.jobs.runner import RunOptions
    from lakehouse.local.jobs.spec import bundle_jobs

    first, last = parse_date(start), parse_date(end)
    if last < first:
        raise click.BadParameter(f"--end {last} is before --start {first}")
    settings = context_settings(ctx)
    jobs = bundle_jobs()
    with spark_session(settings) as spark:
        runs = run_backfill(spark, settings, jobs.values(), first, last, RunOptions(not force, console=console))
    failed = [f"{r.job} {r.run_date}" for r in runs if not r.leaves_ok(jobs[r.job])]
    click.echo(f"{len(runs)} job runs, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


@job.command(cls=FriendlyCommand)
@click.option("--job", "name", default=None, help="Only this job.")
@click.option("--limit", type=int, default=30, show_default=True)
@click.pass_context
def history(ctx: click.Context, name: str | None, limit: int) -> None:
    """The latest task attempts from the job_runs table."""
    from rich.table import Table
    from rich.text import Text

    from lakehouse.app.progress import console
    from lakehouse.core.engine import spark_session
    from lakehouse.core.storage import TableStore
    from lakehouse.local.jobs.history import runs

    settings = context_settings(ctx)
    with spark_session(settings) as spark:
        rows = runs(TableStore(spark, settings), name, limit)
    table = Table("started", "job", "task", "date", "attempt", "status", "seconds")
    table.add_column("error", overflow="fold")  # its first line whole: wrapped, a long word folded, never cut
    for r in rows:  # as Text: brackets in an error are not rich markup
        table.add_row(f"{r['started_at']:%Y-%m-%d %H:%M:%S}", r["job"], r["task"], str(r["run_date"]),
                      str(r["attempt"]), r["status"], f"{r['duration_s']:.1f}", Text(_first_line(r["error"])))
    console.print(table if rows else "no job runs yet")


def _first_line(error: str | None) -> str:
    return error.strip().splitlines()[0] if error and error.strip() else ""


@job.command(cls=FriendlyCommand)
@click.option("--target", "-t", default="dev", show_default=True, help="Bundle target to check.")
def check(target: str) -> None:
    """Validate the bundle offline (models, task graph, schedules, entry points); exits 1 on problems."""
    from lakehouse.local.jobs.check import check_bundle

    problems = check_bundle(target)
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    click.echo(f"bundle target {target}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    sys.exit(1 if problems else 0)


@click.group(cls=FriendlyGroup)
def bundle() -> None:
    """Deploy with the Databricks CLI: `databricks bundle validate|deploy|run` after an offline check."""


def _bundle_action(action: str, doc: str) -> click.Command:
    @click.command(action, cls=FriendlyCommand, help=doc, context_settings={"ignore_unknown_options": True})
    @click.option("--target", "-t", default="dev", show_default=True)
    @click.argument("extra", nargs=-1, type=click.UNPROCESSED)
    def command(target: str, extra: tuple[str, ...]) -> None:
        from lakehouse.local.jobs.deploy import run_bundle

        sys.exit(run_bundle(action, target, extra))

    return command


for _action, _doc in (("validate", "Validate the bundle against the workspace."),
                      ("deploy", "Build the wheel and deploy pipelines and jobs to the target."),
                      ("run", "Run a deployed job or pipeline: `lakehouse bundle run -t dev churn_daily`.")):
    bundle.add_command(_bundle_action(_action, _doc))


@bundle.command(cls=FriendlyCommand)
@click.option("--target", "-t", default="dev", show_default=True)
@click.option("--fix", is_flag=True, help="Create what is missing and add missing grants; never changes what exists.")
@click.option("--profile", default=None, help="Databricks CLI profile (default: the SDK's authentication chain).")
def preflight(target: str, fix: bool, profile: str | None) -> None:
    """Check the workspace for what a first deploy needs (--fix adds it); step one of the deploy.

    One line each: catalog, schema, volumes, the run-as principal's Unity Catalog grants, the Blob secret and READ
    on its scope, the online store. Exits 1 unless every line is OK or FIXED. No secret is ever printed.
    """
    from lakehouse.app.preflight import passed, workspace_client
    from lakehouse.app.preflight import preflight as run_preflight
    from lakehouse.core.errors import ConfigError

    if target == "local":
        raise ConfigError("target 'local' is not deployable: it only describes local runs (use dev, staging or prod)")
    t, lines = run_preflight(workspace_client(profile), target, fix)
    click.echo(f"preflight of target {target}: {t.catalog}.{t.schema}, runs as {t.principal}")
    for line in lines:
        click.echo(str(line))
    ok = passed(lines)
    click.echo("ready to deploy" if ok else "not ready: " + ("see the lines above" if fix else "rerun with --fix"))
    sys.exit(0 if ok else 1)
