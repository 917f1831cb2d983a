"""Python notebook tasks: the only tasks that can set task values, run here from the same notebook files.

Decision (issue 17, audit B6). The daily gate (`gate_passed`) and the monthly retrain signal (`retrain`) are task
values that condition tasks read as `{{tasks.<task>.values.<key>}}`. Databricks documents
`dbutils.jobs.taskValues.set()` as usable "only in notebooks with Python selected as the language"
(https://docs.databricks.com/jobs/task-values.html); any task type can *read* them through dynamic value
references. A python_wheel_task cannot set them: the SDK's `databricks.sdk.runtime.dbutils` falls back to
`RemoteDbUtils`, whose `jobs.taskValues.set` has an empty body (databricks-sdk 0.162.0, databricks/sdk/dbutils.py,
`_TaskValuesUtil.set`), so the values were silently never set and training never ran. So `data_quality` and `drift`
are notebook tasks of one thin Databricks source-format notebook, `bundle/notebooks/lakehouse_task.py`, as
databricks/mlops-stacks does (`monitoring/notebooks/MonitoredMetricViolationCheck.py` sets
`dbutils.jobs.taskValues.set("is_metric_violated", ...)`, read by a condition task in `monitoring-resource.yml`):
widgets for its parameters, one call into the package (`lakehouse.tasks.run_notebook_task`), then
`dbutils.jobs.taskValues.set` per value. All logic stays in the package.

How the notebook reaches the package on serverless: the notebook task names the job's `environment_key` (the
`lakehouse` environment: serverless environment 5 plus the bundle's wheel `../../dist/*.whl`). The Jobs API
documents that "for serverless notebook tasks, if the environment_key is not specified, the notebook environment
will be used if present. If a jobs environment is specified, it will override the notebook environment"
(https://docs.databricks.com/api/workspace/jobs/create, `environments`; the CLI's bundle schema
`jobs.JobSettings.environments`), so the notebook imports the same wheel the wheel tasks run, with no `%pip`
cell and no `sys.path` edit. Its parameters are `base_parameters`, read with `dbutils.widgets.get`
(https://docs.databricks.com/api/workspace/jobs/create, `notebook_task.base_parameters`); job parameters are
pushed down to notebook tasks as well and win over a task parameter of the same key
(https://docs.databricks.com/jobs/job-parameters.html#job-parameter-pushdown).

Locally, the runner executes the same file in its own process with its Spark session: the source is split into
cells on `# COMMAND ----------`; `%md` cells are skipped and any other magic (`%pip`, `%sql`, `%run`) is refused
rather than silently ignored, because its effect cannot be reproduced here. `dbutils` is `LocalDbutils`:
widgets from the resolved `base_parameters` plus the pushed-down job parameters, `jobs.taskValues` with
Databricks' limits (string keys, JSON values of at most 48 KiB), and `notebook.exit`. Whatever the notebook sets is
what downstream condition tasks read; `task_value_problems` refuses, in `lakehouse job check` and before any
run, a reference to the values of a task that cannot set them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from lakehouse.core.errors import ConfigError
from lakehouse.local.jobs.paths import LocalPath, is_local_path, notebook_language
from lakehouse.local.jobs.spec import JobSpec, TaskSpec

TASK_VALUES_DOC = "https://docs.databricks.com/jobs/task-values.html"
_REFERENCE = re.compile(r"\{\{\s*tasks\.([A-Za-z0-9_]+)\.values\.([A-Za-z0-9_]+)\s*\}\}")
_CELL = re.compile(r"^# COMMAND -{10}[ \t]*$", re.MULTILINE)
_MAGIC = "# MAGIC"
_MAX_VALUE_BYTES = 48 * 1024  # "The size of the JSON representation of the value cannot exceed 48 KiB" (TASK_VALUES_DOC)


def notebook_file(task: TaskSpec) -> Path:
    """The local notebook a notebook task runs, resolved as the CLI resolves `notebook_path` (lakehouse.local.jobs.paths).

    A workspace path (absolute) names nothing on this machine, so the local runner refuses it.
    """
    path = str(task.body.get("notebook_path", ""))
    if not path or not is_local_path(path) or task.source_dir is None:
        raise ConfigError(f"task {task.key!r}: notebook {path!r} is not a file of the bundle; the local runner runs "
                          "notebooks the bundle deploys (a path relative to the job's YAML file)")
    found = LocalPath(f"task {task.key}", path, task.source_dir, notebook=True).matches()
    if not found:
        raise ConfigError(f"task {task.key!r}: notebook {path!r} not found (resolved against {task.source_dir})")
    return found[0]


def sets_task_values(task: TaskSpec) -> bool:
    """Databricks' rule: only a notebook task whose notebook is Python can call dbutils.jobs.taskValues.set."""
    if task.kind != "notebook_task":
        return False
    try:
        return notebook_language(notebook_file(task)) == "python"
    except ConfigError:
        return False


def task_value_problems(job: JobSpec) -> list[str]:
    """Every `{{tasks.X.values.K}}` whose task X cannot set task values (anything but a Python notebook task).

    Databricks accepts such a job, but nothing can ever set the value (from a wheel task the SDK fallback's set is a
    silent no-op: audit B6), so the condition never sees "true" and the branch it guards never runs; here the job is
    refused by `lakehouse job check` and before the runner starts it.
    """
    problems = []
    keys = {t.key: t for t in job.tasks}
    for task in job.tasks:
        for source, key in _REFERENCE.findall(json.dumps(task.body, default=str)):
            if source in keys and not sets_task_values(keys[source]):
                problems.append(
                    f"jobs.{job.key}.{task.key}: reads {{{{tasks.{source}.values.{key}}}}}, but {source!r} is a "
                    f"{keys[source].kind}{_language_note(keys[source])}; only a Python notebook task can set task "
                    f"values (dbutils.jobs.taskValues.set is available only in Python notebooks: {TASK_VALUES_DOC})")
    return problems


def local_run_problems(job: JobSpec) -> list[str]:
    """What the local runner refuses before a run starts: task-value reads Databricks could not satisfy, and notebook
    tasks whose notebook is not a Python source notebook of the bundle (the only kind it can execute)."""
    problems = task_value_problems(job)
    for task in job.tasks:
        if task.kind == "notebook_task":
            try:
                notebook_cells(notebook_file(task))
            except ConfigError as exc:
                problems.append(f"jobs.{job.key}.{task.key}: {exc}")
    return problems


def _language_note(task: TaskSpec) -> str:
    if task.kind != "notebook_task":
        return ""
    try:
        return f" whose notebook is {notebook_language(notebook_file(task)) or 'not a notebook'}"
    except ConfigError as exc:
        return f" ({exc})"


@dataclass
class Widgets:
    """dbutils.widgets for a job run: the task's parameters first, then the defaults the notebook declares."""

    parameters: dict[str, str]
    defaults: dict[str, str] = field(default_factory=dict)

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:  # noqa: N803 - dbutils' names
        self.defaults.setdefault(name, defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        if defaultValue not in choices:
            raise ValueError(f"default value {defaultValue!r} of widget {name!r} is not one of {choices}")
        self.defaults.setdefault(name, defaultValue)

    def get(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.defaults:
            return self.defaults[name]
        raise ConfigError(f"InputWidgetNotDefined: No input widget named {name} is defined")

    def getAll(self) -> dict[str, str]:  # noqa: N802 - dbutils' name
        return {**self.defaults, **self.parameters}


@dataclass
class TaskValues:
    """dbutils.jobs.taskValues inside a job run: `set` records this task's values, `get` reads earlier tasks'.

    Values are kept as a downstream `{{tasks.T.values.K}}` renders them: a string as is, anything else as its JSON
    (a boolean becomes "true"/"false", as the condition task's documentation says it is compared).
    """

    upstream: Mapping[str, Mapping[str, str]]
    values: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"task value keys must be strings, not {type(key).__name__} ({TASK_VALUES_DOC})")
        try:
            encoded = json.dumps(value)
        except (TypeError, ValueError):
            raise TypeError(f"task value {key!r} cannot be expressed as JSON ({TASK_VALUES_DOC})") from None
        if len(encoded.encode()) > _MAX_VALUE_BYTES:
            raise ValueError(f"task value {key!r} is over 48 KiB as JSON ({TASK_VALUES_DOC})")
        self.values[key] = value if isinstance(value, str) else encoded

    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any:  # noqa: N803
        """As documented: an unknown task raises ValueError; a missing key returns `default` (never None)."""
        if taskKey not in self.upstream:
            raise ValueError(f"task {taskKey!r} is not a task of this job run that set values")
        if key in self.upstream[taskKey]:
            return self.upstream[taskKey][key]
        if default is None:
            raise ValueError(f"task {taskKey!r} set no value {key!r} and no default was given")
        return default


class _Jobs:
    def __init__(self, values: TaskValues) -> None:
        self.taskValues = values


class NotebookExit(Exception):
    """dbutils.notebook.exit: ends the notebook successfully with a value."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class _Notebook:
    def exit(self, value: Any) -> None:
        raise NotebookExit(str(value))


class LocalDbutils:
    """The parts of Databricks' `dbutils` a job notebook uses: widgets, jobs.taskValues, notebook.exit."""

    def __init__(self, parameters: Mapping[str, str], upstream: Mapping[str, Mapping[str, str]]) -> None:
        self.widgets = Widgets(dict(parameters))
        self.jobs = _Jobs(TaskValues(upstream))
        self.notebook = _Notebook()


def notebook_cells(path: Path) -> list[str]:
    """The Python cells of a source-format notebook; `%md` cells dropped, any other magic refused.

    The first line must be the header the CLI detects a Python notebook by (libs/notebook/detect.go); a `.py`
    file without it is deployed as a plain file, and a notebook task on it fails ("expected a notebook").
    """
    if path.suffix.lower() != ".py" or notebook_language(path) != "python":
        raise ConfigError(f"{path} is not a Databricks Python notebook (first line '# Databricks notebook source'); "
                          "the local runner runs Python source notebooks only")
    source = path.read_text().partition("\n")[2]
    cells = []
    for number, cell in enumerate(_CELL.split(source), start=1):
        magic = [line[len(_MAGIC):].strip() for line in cell.splitlines() if line.startswith(_MAGIC)]
        commands = [line for line in magic if line.startswith("%")]
        if commands and commands[0].split()[0] in ("%md", "%md-sandbox"):
            continue
        if commands:
            raise ConfigError(f"{path} cell {number}: `{commands[0]}` cannot run locally (only Python cells and %md do);"
                              " the notebook task's dependencies come from its environment_key, not %pip")
        cells.append(cell)
    return cells


def run_notebook(path: Path, spark: Any, parameters: Mapping[str, str],
                 upstream: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Run the notebook's cells in order in this process, as a job run would; the task values it set.

    `spark` and `dbutils` are the notebook's globals, as on Databricks. An exception in a cell propagates as it
    is, so the runner fails (and retries) the task exactly as it does a wheel task; `dbutils.notebook.exit` ends
    the notebook successfully.
    """
    dbutils = LocalDbutils(parameters, upstream)
    # No __file__: a Databricks notebook has none, so a notebook relying on it must fail here too.
    namespace: dict[str, Any] = {"__name__": "__main__", "spark": spark, "dbutils": dbutils, "display": print}
    for number, cell in enumerate(notebook_cells(path), start=1):
        try:
            exec(compile(cell, f"{path} (cell {number})", "exec"), namespace)  # noqa: S102 - running the notebook
        except NotebookExit:
            break
    return dict(dbutils.jobs.taskValues.values)
