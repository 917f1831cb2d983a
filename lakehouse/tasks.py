"""The job tasks' entry points: the `lakehouse-task NAME --env ENV --date D` console script the bundle's wheel
tasks call, and `run_notebook_task`, what the notebook `bundle/notebooks/lakehouse_task.py` calls.

A task returns its values as strings (what `{{tasks.<task>.values.<key>}}` renders). Only a Python notebook can
publish them as task values (https://docs.databricks.com/jobs/task-values.html; see lakehouse.local.jobs.notebooks for
the decision), so the tasks whose values a condition reads (data_quality's `gate_passed`, drift's `retrain`) run
as notebook tasks that call `run_notebook_task` and then `dbutils.jobs.taskValues.set`; the console script only
prints its values into the task's output. The local runner parses a wheel task's parameters with the same
command (`parse_call`) and runs the notebook itself, with its shared Spark session and settings
(`runtime_settings`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Sequence

import click

from lakehouse.core.cli_support import FriendlyCommand, parse_date
from lakehouse.core.errors import ConfigError
from lakehouse.core.settings import ENVIRONMENTS, Settings, load_settings

log = logging.getLogger(__name__)

TaskValues = dict[str, str]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _report_may_wait(produce: Callable[[], Any]) -> Any:
    """The result of `produce`; when only its report could not be uploaded (Blob down, secret unreadable), the
    stored result all the same: the report is kept pending for the next run and the job goes on to its decision."""
    from quality.validation import ReportNotPublished

    try:
        return produce()
    except ReportNotPublished as exc:
        log.warning("%s", exc)
        return exc.result


def data_quality(spark: Any, settings: Settings, run_date: date, since: datetime | None = None) -> TaskValues:
    """Validate the day's source-aligned data; the gate decision is the task value `gate_passed`.

    `since`: the job run's start; the event-log checks judge the pipeline update started in this run (without it,
    the latest update: quality.event_checks)."""
    from quality.validation import validate

    result = _report_may_wait(lambda: validate(spark, settings, run_date, job_started=since))
    return {"gate_passed": _flag(result.gate_passed), "status": result.status,
            "failed_checks": str(len(result.failed))}


def publish_features(spark: Any, settings: Settings, run_date: date) -> TaskValues:
    """Declare the feature tables' keys and publish the MRDS to the online store; the values say what was done
    (the store's published_values: rows upserted locally, the online table and its sync pipeline on Databricks)."""
    from ml.feature_store import feature_store, register_project_tables

    store = feature_store(spark, settings)
    register_project_tables(store, settings)
    return store.published_values(store.publish_table(name=settings.table("mrds")))


def train(spark: Any, settings: Settings, run_date: date) -> TaskValues:
    """Train a challenger and run the promotion gate (or reuse the earlier training on the same data: `reused`)."""
    from ml.training.train import train as train_model

    result = train_model(spark, settings, run_date)
    return {"model_version": result.version, "gate_outcome": str(result.decision.outcome),
            "promoted": _flag(result.decision.promote), "reused": _flag(result.reused)}


def score(spark: Any, settings: Settings, run_date: date) -> TaskValues:
    """Score the day's MRDS with @champion."""
    from ml.scoring import score as score_day

    result = score_day(spark, settings, run_date)
    return {"rows": str(result.rows), "model_version": result.model_version, "incomplete_rows": str(result.incomplete_rows)}


def drift(spark: Any, settings: Settings, run_date: date) -> TaskValues:
    """Compare the last month complete on `run_date` with the reference window; `retrain` is the signal.

    A report that could not be uploaded (Blob down, secret unreadable) is kept pending for the next run, as in
    data_quality: the history is recorded and the retraining decision stands, so the monthly run goes on to it.
    """
    from quality.drift.job import detect_drift
    from quality.drift.windows import last_complete_month

    result = _report_may_wait(lambda: detect_drift(spark, settings, last_complete_month(run_date)))
    return {"retrain": _flag(result.retrain_recommended), "dataset_drift": _flag(result.dataset_drift)}


# Each is called (spark, settings, run_date, **TaskCall.keywords).
TASKS: Mapping[str, Callable[..., TaskValues]] = {
    "data_quality": data_quality, "publish_features": publish_features, "train": train, "score": score,
    "drift": drift,
}


# Tasks that take `--since` (the job run's start): those judging what the run's pipeline updates did.
SINCE_TASKS = frozenset({"data_quality"})


@dataclass(frozen=True)
class TaskCall:
    name: str
    env: str | None
    run_date: date | None
    catalog: str | None = None
    schema: str | None = None
    since: datetime | None = None

    @property
    def keywords(self) -> dict[str, Any]:
        """The task function's optional arguments this call sets."""
        return {"since": self.since} if self.since is not None else {}


def parse_start_time(text: str | None) -> datetime | None:
    """A rendered `{{job.start_time.iso_datetime}}` as an aware datetime, with or without fraction or offset ("Z"
    included); without an offset it is UTC, in which Databricks renders the run's start
    (https://docs.databricks.com/aws/en/jobs/dynamic-value-references). Empty: None."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r} is not an ISO date-time (the job passes {{{{job.start_time.iso_datetime}}}})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@click.command("lakehouse-task", cls=FriendlyCommand)
@click.argument("name")
@click.option("--env", type=click.Choice(ENVIRONMENTS), default=None, help="Environment settings (default: local).")
@click.option("--date", "run_date", default=None, help="Data day YYYY-MM-DD; empty = yesterday (UTC).")
@click.option("--catalog", default=None, help="Unity Catalog catalog (the bundle passes ${var.catalog}).")
@click.option("--schema", default=None, help="Schema (the bundle passes ${var.schema}: per user in dev).")
@click.option("--since", default=None, help="data_quality: the job run's start ({{job.start_time.iso_datetime}}); "
                                            "the gate judges the pipeline update started since. Empty: the latest.")
def main(name: str, env: str | None, run_date: str | None, catalog: str | None, schema: str | None,
         since: str | None) -> None:
    """Run job task NAME (what a Databricks python_wheel_task calls): data_quality, drift, publish_features,
    score or train.

    The catalog and schema come from the bundle, so the tables a task reads are those its target's
    pipelines wrote (in dev a schema per developer) without a second copy in the settings files."""
    from lakehouse.core.engine import spark_session

    call = _call(click.get_current_context().params)
    settings = _settings(call)
    with spark_session(settings) as spark:
        values = _run(spark, settings, call)
    # Printed into the task's output, never published: a wheel task cannot set task values (lakehouse.local.jobs.notebooks).
    click.echo(f"{name} {_day(settings, call)}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def parse_call(parameters: Sequence[str]) -> TaskCall:
    """The task a wheel task's parameters name, parsed exactly as the console script parses them."""
    try:
        params = main.make_context("lakehouse-task", list(parameters), resilient_parsing=False).params
    except click.ClickException as exc:
        raise ConfigError(f"task parameters {list(parameters)} are invalid: {exc.format_message()}") from None
    return _call(params)


def _call(params: Mapping[str, Any]) -> TaskCall:
    """The console script's parsed parameters as a TaskCall; `--since` only where the task takes it."""
    name, since = _known(params["name"]), parse_start_time(params["since"])
    if since is not None and name not in SINCE_TASKS:
        raise ConfigError(f"task {name!r} takes no --since (only {', '.join(sorted(SINCE_TASKS))})")
    return TaskCall(name, params["env"], parse_date(params["run_date"] or None), params["catalog"], params["schema"],
                    since)


def _known(name: str) -> str:
    if name not in TASKS:
        raise ConfigError(f"no task {name!r}: choose one of {', '.join(sorted(TASKS))}")
    return name


# The notebook's widgets: `task` (the console script's NAME) and one per option of the console script, named as
# its flag (`--date` -> `date`), so an option added to `lakehouse-task` is a notebook parameter too.
NOTEBOOK_WIDGETS: tuple[str, ...] = ("task", *(p.opts[0].removeprefix("--") for p in main.params
                                              if isinstance(p, click.Option)))


def notebook_call(widget: Callable[[str], str]) -> TaskCall:
    """The task a notebook's widgets name (its `base_parameters`), parsed exactly as the console script's arguments,
    so the wheel and the notebook cannot disagree on what a parameter means. Empty widgets are left out."""
    args = [widget("task")]
    for name in NOTEBOOK_WIDGETS[1:]:
        if widget(name):
            args += [f"--{name}", widget(name)]
    return parse_call(args)


_RUNTIME_SETTINGS: ContextVar[Settings | None] = ContextVar("lakehouse_runtime_settings", default=None)


@contextmanager
def runtime_settings(settings: Settings) -> Iterator[None]:
    """The local runner's settings for the notebooks it runs (its warehouse, catalog, schema), as the runner hands
    its settings to a wheel task's function; on Databricks nothing sets them and the widgets decide."""
    token = _RUNTIME_SETTINGS.set(settings)
    try:
        yield
    finally:
        _RUNTIME_SETTINGS.reset(token)


def _settings(call: TaskCall) -> Settings:
    return _RUNTIME_SETTINGS.get() or load_settings(call.env, catalog=call.catalog, schema_name=call.schema)


def _day(settings: Settings, call: TaskCall) -> date:
    return call.run_date or settings.effective_run_date  # "" (the job parameter's default): yesterday


def _run(spark: Any, settings: Settings, call: TaskCall) -> TaskValues:
    return TASKS[call.name](spark, settings, _day(settings, call), **call.keywords)


def run_notebook_task(spark: Any, widget: Callable[[str], str]) -> TaskValues:
    """What the task notebook calls with its `spark` and `dbutils.widgets.get`: run the named task, return the values
    the notebook then publishes with dbutils.jobs.taskValues.set (the one thing only a notebook can do)."""
    call = notebook_call(widget)
    return _run(spark, _settings(call), call)
