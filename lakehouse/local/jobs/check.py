"""Validate the bundle offline, before `databricks bundle validate` ever sees it.

Every job and pipeline must load into the databricks-bundles models (`Job.from_dict`, `Pipeline.from_dict`
reject unknown fields, bad enums and wrong shapes), plus what those models do not check: depends_on
names existing tasks, one task type per task, an acyclic task graph, valid Quartz schedules, outcomes
only on condition-task dependencies, `{{tasks.X.values.K}}` only from upstream tasks that can set task values
(Python notebook tasks: lakehouse.local.jobs.notebooks.task_value_problems), and every wheel or notebook task's
task name present in this package (and a wheel task's entry point), reading the catalog and schema the
pipelines write. With `build`, the artifacts are built and every local path is resolved as the Databricks CLI
resolves it (lakehouse.local.jobs.paths), so a wheel glob that would match nothing at deploy fails here.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from lakehouse.core.errors import ConfigError
from lakehouse.local.bundle import BUNDLE_DIR, load_bundle
from lakehouse.local.jobs.conditions import job_references
from lakehouse.local.jobs.notebooks import task_value_problems
from lakehouse.local.jobs.paths import build_artifacts, path_problems
from lakehouse.local.jobs.schedule import validate_cron
from lakehouse.local.jobs.spec import JobSpec, TaskSpec, parse_job
from lakehouse.tasks import TaskCall, notebook_call, parse_call

_TASK_VALUE = re.compile(r"\{\{\s*tasks\.([A-Za-z0-9_]+)\.values\.")
PACKAGE = "churn_lakehouse"
PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def wheel_scripts(pyproject: Path = PYPROJECT) -> set[str]:
    """Console scripts the wheel built from pyproject.toml declares whose target imports."""
    scripts = tomllib.loads(pyproject.read_text())["project"].get("scripts", {})
    found = set()
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        if callable(getattr(importlib.import_module(module), attr, None)):
            found.add(name)
    return found


def _model_problems(kind: str, key: str, body: Mapping[str, Any]) -> list[str]:
    from databricks.bundles.jobs import Job
    from databricks.bundles.pipelines import Pipeline

    model = {"jobs": Job, "pipelines": Pipeline}[kind]
    try:
        model.from_dict({k: v for k, v in body.items() if not k.startswith("_")})
    except (ValueError, TypeError, KeyError) as exc:
        return [f"{kind}.{key}: {exc}"]
    return []


def _upstream(job: JobSpec, key: str) -> set[str]:
    seen: set[str] = set()
    todo = [key]
    while todo:
        for dep in job.task(todo.pop()).depends_on:
            if dep.task_key not in seen:
                seen.add(dep.task_key)
                todo.append(dep.task_key)
    return seen


def _task_problems(job: JobSpec, task: TaskSpec, scripts: set[str], pipelines: Mapping[str, Any]) -> list[str]:
    where = f"jobs.{job.key}.{task.key}"
    problems = []
    for dep in task.depends_on:
        if dep.outcome is not None and job.task(dep.task_key).kind != "condition_task":
            problems.append(f"{where}: outcome on {dep.task_key!r}, which is not a condition task")
        if dep.outcome not in (None, "true", "false"):
            problems.append(f"{where}: outcome must be \"true\" or \"false\", not {dep.outcome!r}")
    upstream = _upstream(job, task.key)
    for referenced in _TASK_VALUE.findall(str(task.body)):
        if referenced not in upstream:
            problems.append(f"{where}: reads values of {referenced!r}, which is not upstream of it")
    if task.kind == "pipeline_task" and task.body.get("pipeline_id") not in pipelines:
        problems.append(f"{where}: pipeline {task.body.get('pipeline_id')!r} is not a resource of the bundle")
    if task.kind == "python_wheel_task":
        if task.body.get("package_name") != PACKAGE:
            problems.append(f"{where}: package {task.body.get('package_name')!r} is not {PACKAGE}")
        if task.body.get("entry_point") not in scripts:
            problems.append(f"{where}: entry point {task.body.get('entry_point')!r} is not a console script of the wheel")
    if task.kind in ("python_wheel_task", "notebook_task"):
        try:
            call = _task_call(task)
        except ConfigError as exc:
            return [*problems, f"{where}: {exc}"]
        for pipeline in pipelines.values():
            if (call.catalog, call.schema) != (pipeline.get("catalog"), pipeline.get("schema")):
                problems.append(f"{where}: reads {call.catalog}.{call.schema}, but the pipelines write "
                                f"{pipeline.get('catalog')}.{pipeline.get('schema')} (pass --catalog ${{var.catalog}} "
                                "--schema ${var.schema})")
                break
    return problems


def _environment_problems(key: str, body: Mapping[str, Any]) -> list[str]:
    """Serverless tasks that run project code must name a job environment (the one with the wheel).

    The Jobs API: `environment_key` "is required for Python script, Python wheel and dbt tasks when using serverless
    compute", and "for serverless notebook tasks, if the environment_key is not specified, the notebook environment
    will be used" (https://docs.databricks.com/api/workspace/jobs/create): the task notebook has none, so without
    the key it could not import the package.
    """
    environments = {e.get("environment_key") for e in body.get("environments") or []}
    return [f"jobs.{key}.{task.get('task_key')}: a {kind} needs the environment_key of one of the job's environments "
            f"(has {task.get('environment_key')!r}): on serverless that is where the project wheel comes from"
            for task in body.get("tasks") or [] for kind in ("python_wheel_task", "notebook_task")
            if kind in task and task.get("environment_key") not in environments]


def _task_call(task: TaskSpec) -> TaskCall:
    """The package task a wheel task's parameters or a notebook task's base_parameters name, parsed as they run."""
    started = job_references(datetime.now(timezone.utc))  # a sample start: its rendering must parse as the task reads it

    def offline(value: object) -> str:  # the run date and start are known only at run time
        text = str(value).replace("{{job.parameters.run_date}}", "")
        for reference, rendered in started.items():
            text = text.replace("{{" + reference + "}}", rendered)
        return text

    if task.kind == "notebook_task":
        widgets = {str(k): offline(v) for k, v in (task.body.get("base_parameters") or {}).items()}
        return notebook_call(lambda name: widgets.get(name, ""))
    return parse_call([offline(p) for p in task.body.get("parameters", [])])


def check_bundle(target: str, root: Path = BUNDLE_DIR, build: bool = True) -> list[str]:
    """Everything wrong with the bundle in `root` for `target` (empty when it is fine).

    `build=False` resolves the local paths against what is on disk without building the artifacts first.
    """
    try:
        bundle = load_bundle(target, root=root)
    except ConfigError as exc:
        return [str(exc)]
    built = build_artifacts(bundle, root) if build else []
    resources = bundle.get("resources", {})
    scripts = wheel_scripts()
    problems = [p for kind in ("jobs", "pipelines") for key, body in resources.get(kind, {}).items()
                for p in _model_problems(kind, key, body)]
    for key, body in resources.get("jobs", {}).items():
        try:
            job = parse_job(key, body)
            job.order()
            if job.schedule:
                validate_cron(job.schedule.quartz_cron, job.schedule.timezone)
        except ConfigError as exc:
            problems.append(f"jobs.{key}: {exc}")
            continue
        for task in job.tasks:
            problems += _task_problems(job, task, scripts, resources.get("pipelines", {}))
        problems += task_value_problems(job) + _environment_problems(key, body)
    return problems + built + ([] if built else path_problems(bundle, root))
