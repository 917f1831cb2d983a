"""The jobs of the bundle as the local runner needs them: tasks, dependencies, run_if, schedule.

Parsed from the same `bundle/resources/*.job.yml` Databricks deploys (through lakehouse.local.bundle, which
resolves includes, targets and `${...}` references). Only the task types the project uses run locally;
the bundle check (lakehouse.local.jobs.check) makes sure no other type slips in. A notebook task keeps the directory of
the YAML file that defines it, which its relative `notebook_path` is resolved against (as the CLI does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Mapping

from lakehouse.core.errors import ConfigError
from lakehouse.local.bundle import load_bundle

TASK_TYPES = ("pipeline_task", "python_wheel_task", "notebook_task", "condition_task")


@dataclass(frozen=True)
class Dependency:
    task_key: str
    outcome: str | None = None  # "true"/"false" when the upstream task is a condition task


@dataclass(frozen=True)
class TaskSpec:
    key: str
    kind: str  # one of TASK_TYPES
    body: Mapping[str, Any]  # the task type's block, e.g. {"pipeline_id": ...}
    depends_on: tuple[Dependency, ...] = ()
    run_if: str = "ALL_SUCCESS"
    max_retries: int = 0
    min_retry_interval_ms: int = 0
    source_dir: Path | None = None  # the directory of the job's YAML file (None for a job built in code)


@dataclass(frozen=True)
class Schedule:
    quartz_cron: str
    timezone: str = "UTC"
    paused: bool = False


@dataclass(frozen=True)
class JobSpec:
    key: str
    name: str
    tasks: tuple[TaskSpec, ...]
    schedule: Schedule | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)  # name -> default

    def task(self, key: str) -> TaskSpec:
        for task in self.tasks:
            if task.key == key:
                return task
        raise ConfigError(f"job {self.key!r} has no task {key!r}: choose one of {', '.join(t.key for t in self.tasks)}")

    def order(self) -> list[TaskSpec]:
        """Tasks in dependency order (ties keep the file's order); a cycle or unknown dependency is refused."""
        keys = {t.key for t in self.tasks}
        for task in self.tasks:
            unknown = [d.task_key for d in task.depends_on if d.task_key not in keys]
            if unknown:
                raise ConfigError(f"job {self.key!r}: task {task.key!r} depends on unknown task(s) {', '.join(unknown)}")
        sorter = TopologicalSorter({t.key: [d.task_key for d in t.depends_on] for t in self.tasks})
        position = {t.key: i for i, t in enumerate(self.tasks)}
        try:
            sorter.prepare()
        except CycleError as exc:
            raise ConfigError(f"job {self.key!r}: task dependencies form a cycle: {' -> '.join(exc.args[1])}") from None
        ordered: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            ordered.extend(ready)
            sorter.done(*ready)
        return [self.task(key) for key in ordered]


def _task(job: str, body: Mapping[str, Any], source_dir: Path | None) -> TaskSpec:
    key = str(body.get("task_key", ""))
    kinds = [k for k in body if k.endswith("_task")]
    if len(kinds) != 1:
        raise ConfigError(f"job {job!r}: task {key!r} must have exactly one task type, has {kinds or 'none'}")
    if kinds[0] not in TASK_TYPES:
        raise ConfigError(f"job {job!r}: task {key!r} is a {kinds[0]}; the local runner runs {', '.join(TASK_TYPES)}")
    return TaskSpec(
        key=key,
        kind=kinds[0],
        body=body[kinds[0]],
        depends_on=tuple(Dependency(str(d["task_key"]), d.get("outcome")) for d in body.get("depends_on") or []),
        run_if=str(body.get("run_if", "ALL_SUCCESS")),
        max_retries=int(body.get("max_retries", 0)),
        min_retry_interval_ms=int(body.get("min_retry_interval_millis", 0)),
        source_dir=source_dir,
    )


def parse_job(key: str, body: Mapping[str, Any]) -> JobSpec:
    """One `resources.jobs.<key>` block of a loaded bundle."""
    schedule = body.get("schedule")
    source_dir = Path(body["_file"]).parent if body.get("_file") else None
    return JobSpec(
        key=key,
        name=str(body.get("name", key)),
        tasks=tuple(_task(key, t, source_dir) for t in body.get("tasks") or []),
        schedule=Schedule(str(schedule["quartz_cron_expression"]), str(schedule.get("timezone_id", "UTC")),
                          schedule.get("pause_status") == "PAUSED") if schedule else None,
        parameters={str(p["name"]): str(p.get("default", "")) for p in body.get("parameters") or []},
    )


def bundle_jobs(target: str = "local", variables: Mapping[str, str] | None = None) -> dict[str, JobSpec]:
    """Every job of the bundle for `target`, by resource key."""
    jobs = load_bundle(target, variables).get("resources", {}).get("jobs", {})
    return {key: parse_job(key, body) for key, body in jobs.items()}


def job_spec(key: str, target: str = "local") -> JobSpec:
    jobs = bundle_jobs(target)
    if key not in jobs:
        raise ConfigError(f"bundle has no job {key!r}: choose one of {', '.join(sorted(jobs))}")
    return jobs[key]
