"""Run a bundle job on this machine for one data day, in dependency order, as Databricks Jobs would.

pipeline_task -> the local DLT runtime (lakehouse.local.pipelines); python_wheel_task -> the same
`lakehouse-task` entry point the wheel task calls (lakehouse.tasks); notebook_task -> the same notebook
file, run in this process with a local dbutils (lakehouse.local.jobs.notebooks); condition_task -> evaluated
here. Only notebook tasks set task values, as on Databricks, and a job that reads the values of any other task
is refused before it starts. Every attempt is appended to the `job_runs` table. With `resume` (the default)
tasks that already succeeded for the date are skipped and their task values reused; `force` runs everything again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable

from lakehouse.core.errors import ConfigError, LakehouseError
from lakehouse.core.lock import exclusive
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from lakehouse.local.jobs import conditions as cond
from lakehouse.local.jobs.history import TaskRun, first_start, record, succeeded_tasks
from lakehouse.local.jobs.notebooks import local_run_problems, notebook_file, run_notebook
from lakehouse.local.jobs.spec import JobSpec, TaskSpec
from lakehouse.tasks import TASKS, parse_call, runtime_settings


class JobBusy(LakehouseError):
    """Another run of the same job is in progress."""


@dataclass
class JobRun:
    run_id: str
    job: str
    run_date: date
    tasks: dict[str, TaskRun] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))  # `{{job.start_time.*}}`

    @property
    def status(self) -> dict[str, str]:
        return {key: run.status for key, run in self.tasks.items()}

    @property
    def values(self) -> dict[str, dict[str, str]]:
        """Task values so far (a resumed task's come from its earlier run), for `{{tasks.T.values.K}}`."""
        return {key: run.values for key, run in self.tasks.items()}

    def leaves_ok(self, spec: JobSpec) -> bool:
        """Databricks' rule: a run fails when one of its leaf tasks (no dependents) did not succeed."""
        upstream = {d.task_key for t in spec.tasks for d in t.depends_on}
        return all(self.tasks[t.key].status in (*cond.SUCCEEDED, cond.EXCLUDED) for t in spec.tasks if t.key not in upstream)

    def failures(self) -> list[str]:
        return [f"{key}: {run.error}" for key, run in self.tasks.items() if run.status == cond.FAILED]


@dataclass
class RunOptions:
    resume: bool = True  # skip tasks that already succeeded for this date
    full_refresh: bool = False  # pipeline tasks recompute everything (a first deployment)
    retry_delay_scale: float = 1.0  # 0 in tests: no waiting between attempts
    console: Any = None


def run_job(spark: Any, settings: Settings, spec: JobSpec, run_date: date, options: RunOptions | None = None) -> JobRun:
    """Run every task of `spec` for `run_date`; a failing task never stops the run (run_if decides).

    One run per job at a time (as `max_concurrent_runs: 1` on Databricks): a second refuses with JobBusy.
    A job whose tasks read task values of a task that cannot set them, or whose notebook tasks this runner cannot
    execute, is refused (ConfigError) before any task runs.
    """
    problems = local_run_problems(spec)
    if problems:
        raise ConfigError("; ".join(problems))
    options = options or RunOptions()
    run = JobRun(uuid.uuid4().hex[:12], spec.key, run_date)
    lock = settings.storage_root / "_jobs" / spec.key / "lock"
    with exclusive(lock, f"job {spec.key!r} is already running", f"run {run.run_id} for {run_date}", JobBusy):
        _run_tasks(spark, settings, spec, run, options)
    return run


def _run_tasks(spark: Any, settings: Settings, spec: JobSpec, run: JobRun, options: RunOptions) -> None:
    store = TableStore(spark, settings)
    run_date = run.run_date
    done = succeeded_tasks(store, spec.key, run_date) if options.resume else {}
    if done:  # resuming is repairing the earlier run: its start stays the run's start (the tasks reused ran after it)
        run.started_at = min(run.started_at, first_start(store, spec.key, run_date))
    parameters = {**spec.parameters, "run_date": run_date.isoformat()}
    outcomes: dict[str, str] = {}
    for task in spec.order():
        now = datetime.now(timezone.utc)
        verdict = cond.decide(task, run.status, outcomes)
        if verdict == cond.RUN and task.key in done and task.kind != "condition_task":
            run.tasks[task.key] = TaskRun(run.run_id, spec.key, task.key, run_date, 0, cond.SKIPPED, now, now,
                                          values=done[task.key])
        elif verdict == cond.RUN:
            run.tasks[task.key] = _attempts(spark, store, spec, task, run, parameters, options)
            if task.kind == "condition_task" and run.tasks[task.key].status == cond.SUCCESS:
                outcomes[task.key] = run.tasks[task.key].values["outcome"]
        else:
            run.tasks[task.key] = TaskRun(run.run_id, spec.key, task.key, run_date, 0, verdict, now, now)
        record(store, run.tasks[task.key])
        _say(options, task.key, run.tasks[task.key])


def _attempts(spark: Any, store: TableStore, spec: JobSpec, task: TaskSpec, run: JobRun, parameters: dict[str, str],
              options: RunOptions) -> TaskRun:
    """Run the task, retrying up to max_retries; every attempt but the last is recorded as it ends.

    A LakehouseError is a verdict on the data or configuration (no champion, too little history, a
    failed expectation): retrying cannot change it, so only other errors (I/O, engine) and errors marked
    `transient` (e.g. the model registry could not be read) are retried.
    """
    for attempt in range(task.max_retries + 1):
        started = datetime.now(timezone.utc)
        try:
            produced = _execute(spark, store.settings, task, parameters, run.values, options,
                                cond.job_references(run.started_at))
            return TaskRun(run.run_id, spec.key, task.key, run.run_date, attempt, cond.SUCCESS, started,
                           datetime.now(timezone.utc), values=produced)
        except Exception as exc:  # noqa: BLE001 - any task failure is recorded, run_if decides what follows
            failed = TaskRun(run.run_id, spec.key, task.key, run.run_date, attempt, cond.FAILED, started,
                             datetime.now(timezone.utc), error=f"{type(exc).__name__}: {exc}"[:2000])
            if attempt == task.max_retries or (isinstance(exc, LakehouseError) and not getattr(exc, "transient", False)):
                return failed
            record(store, failed)
            _say(options, task.key, failed)
            time.sleep(task.min_retry_interval_ms / 1000 * options.retry_delay_scale)
    raise AssertionError("unreachable")


def _execute(spark: Any, settings: Settings, task: TaskSpec, parameters: dict[str, str],
             values: dict[str, dict[str, str]], options: RunOptions, job: dict[str, str]) -> dict[str, str]:
    """Run one attempt of `task`; `job` holds the run's `{{job.start_time.*}}` references."""
    run_date = date.fromisoformat(parameters["run_date"])
    if task.kind == "pipeline_task":
        from lakehouse.local.pipelines import run_pipeline

        full_refresh = options.full_refresh or bool(task.body.get("full_refresh"))
        result = run_pipeline(spark, settings, str(task.body["pipeline_id"]), run_date, full_refresh=full_refresh,
                              console=options.console)
        if not result.ok:
            raise LakehouseError(f"pipeline update {result.update_id} failed: {result.error}")
        return {"update_id": str(result.update_id)}
    if task.kind == "condition_task":
        left, right = (cond.resolve(str(task.body[side]), parameters, values, job) for side in ("left", "right"))
        return {"outcome": "true" if cond.evaluate(str(task.body["op"]), left, right) else "false"}
    if task.kind == "notebook_task":
        # Widgets: the resolved base_parameters, then the job parameters pushed down to the task, which win on a
        # shared key (https://docs.databricks.com/jobs/job-parameters.html#job-parameter-pushdown).
        widgets = {str(k): cond.resolve(str(v), parameters, values, job)
                   for k, v in (task.body.get("base_parameters") or {}).items()}
        with runtime_settings(settings):
            return run_notebook(notebook_file(task), spark, {**widgets, **parameters}, values)
    call = parse_call([cond.resolve(str(p), parameters, values, job) for p in task.body.get("parameters", [])])
    entry: Callable[..., dict[str, str]] = TASKS[call.name]
    day = call.run_date or run_date
    output = entry(spark, settings, day, **call.keywords)
    if options.console is not None:  # what the console script prints into the task's output: no task values
        options.console.print(f"  {call.name} {day}: " + ", ".join(f"{k}={v}" for k, v in output.items()))
    return {}


def _say(options: RunOptions, key: str, run: TaskRun) -> None:
    if options.console is None:
        return
    colour = {cond.SUCCESS: "green", cond.SKIPPED: "cyan", cond.EXCLUDED: "yellow"}.get(run.status, "red")
    detail = f" {run.error}" if run.error else (f" {run.values}" if run.values else "")
    options.console.print(f"  [{colour}]{run.status:<15}[/{colour}] {key} ({run.duration_s:.1f} s){detail}")
