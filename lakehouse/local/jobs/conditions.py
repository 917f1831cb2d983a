"""When a task runs: Databricks' `run_if` rules, If/else condition tasks and `{{...}}` references.

References resolved locally: `{{job.parameters.X}}`, `{{tasks.T.values.K}}` and the job run's start time
`{{job.start_time.<argument>}}` (iso_datetime, iso_date, timestamp_ms), which Databricks renders from the run's
start in UTC (https://docs.databricks.com/aws/en/jobs/dynamic-value-references); the local runner passes its own
run's start (`job_references`). Any other reference is refused rather than passed on as literal text.

Semantics (Databricks docs, "Configure task dependencies": https://docs.databricks.com/aws/en/jobs/run-if):
ALL_SUCCESS (default), AT_LEAST_ONE_SUCCESS and NONE_FAILED mark an unmet task UPSTREAM_FAILED; AT_LEAST_ONE_FAILED
and ALL_FAILED mark it EXCLUDED; ALL_DONE runs whatever its dependencies ended with (Failed or Upstream failed too).
Excluded tasks are "treated as successful" by every rule, but a task whose dependencies are all excluded is excluded
too, whatever its run_if. A dependency on a condition task with an `outcome` is excluded when the outcome differs
(https://docs.databricks.com/aws/en/jobs/if-else).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Mapping

from lakehouse.core.errors import ConfigError
from lakehouse.local.jobs.spec import TaskSpec

SUCCESS, FAILED, UPSTREAM_FAILED, EXCLUDED, SKIPPED = "SUCCESS", "FAILED", "UPSTREAM_FAILED", "EXCLUDED", "SKIPPED"
SUCCEEDED = (SUCCESS, SKIPPED)  # SKIPPED: succeeded in an earlier run for the same date (resume)
RUN = "RUN"
_REFERENCE = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")


def decide(task: TaskSpec, status: Mapping[str, str], outcomes: Mapping[str, str]) -> str:
    """RUN, or the status the task gets without running, given its dependencies' statuses."""
    if not task.depends_on:
        return RUN
    edges = []
    for dep in task.depends_on:
        state = status[dep.task_key]
        if state in SUCCEEDED and dep.outcome is not None and outcomes.get(dep.task_key) != dep.outcome:
            state = EXCLUDED
        edges.append(state)
    if all(e == EXCLUDED for e in edges):
        return EXCLUDED
    succeeded = [e in SUCCEEDED or e == EXCLUDED for e in edges]
    failed = [e in (FAILED, UPSTREAM_FAILED) for e in edges]
    rule = task.run_if
    met = {
        "ALL_SUCCESS": all(succeeded),
        "AT_LEAST_ONE_SUCCESS": any(succeeded),
        "NONE_FAILED": not any(failed) and any(succeeded),
        "ALL_DONE": True,
        "AT_LEAST_ONE_FAILED": any(failed),
        "ALL_FAILED": all(failed),
    }
    if rule not in met:
        raise ConfigError(f"task {task.key!r}: unknown run_if {rule!r}")
    if met[rule]:
        return RUN
    return EXCLUDED if rule in ("AT_LEAST_ONE_FAILED", "ALL_FAILED") else UPSTREAM_FAILED


def job_references(started: datetime) -> dict[str, str]:
    """The `{{job.start_time.<argument>}}` values of a run that started at `started`, rendered in UTC
    (lakehouse.tasks reads iso_datetime back with or without fraction and offset)."""
    utc = started.astimezone(timezone.utc)
    return {
        "job.start_time.iso_datetime": utc.replace(tzinfo=None).isoformat(timespec="milliseconds"),
        "job.start_time.iso_date": utc.date().isoformat(),
        "job.start_time.timestamp_ms": str(int(utc.timestamp() * 1000)),
    }


def resolve(text: str, parameters: Mapping[str, str], values: Mapping[str, Mapping[str, str]],
            job: Mapping[str, str] | None = None) -> str:
    """Substitute `{{job.parameters.X}}`, `{{tasks.T.values.K}}` and the run's `job` references
    (`job_references`); any other reference is refused."""

    def lookup(match: re.Match[str]) -> str:
        if job and match.group(1) in job:
            return job[match.group(1)]
        parts = match.group(1).split(".")
        if parts[:2] == ["job", "parameters"] and len(parts) == 3 and parts[2] in parameters:
            return parameters[parts[2]]
        if len(parts) == 4 and parts[0] == "tasks" and parts[2] == "values":
            if parts[1] in values and parts[3] in values[parts[1]]:
                return values[parts[1]][parts[3]]
            raise ConfigError(f"{match.group(0)}: task {parts[1]!r} set no value {parts[3]!r}")
        raise ConfigError(f"{match.group(0)} cannot be resolved locally")

    return _REFERENCE.sub(lookup, text)


def evaluate(op: str, left: str, right: str) -> bool:
    """An If/else condition: == and != compare strings, the others numbers (as on Databricks)."""
    if op == "EQUAL_TO":
        return left == right
    if op == "NOT_EQUAL":
        return left != right
    numeric = {"GREATER_THAN": float.__gt__, "GREATER_THAN_OR_EQUAL": float.__ge__,
               "LESS_THAN": float.__lt__, "LESS_THAN_OR_EQUAL": float.__le__}
    if op not in numeric:
        raise ConfigError(f"unknown condition operator {op!r}")
    try:
        return numeric[op](float(left), float(right))
    except ValueError:
        raise ConfigError(f"condition {left!r} {op} {right!r} needs numbers") from None
