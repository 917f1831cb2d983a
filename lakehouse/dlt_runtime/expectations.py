"""A dataset's expectations applied to a flow's output in one pass (via quality.rules).

One aggregate gives rows in, passed/failed per rule, rows dropped by the drop rules and, when asked, the
distinct values of some columns among the kept rows (partition values for the writers). The kept rows are
the lazy filter of the same frame, written afterwards; Sail caches nothing, so the runtime stages a
materialized view's frame first (staging.py) and its plan runs once, not for the aggregate and again for
the write. `expect_or_fail` violations are reported with up to five offending rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from pyspark.sql import functions as F

from lakehouse.dlt_runtime.graph import Action, Dataset
from lakehouse.dlt_runtime.results import ExpectationResult
from quality.rules import broken, count_rules, passes_all, rule_set

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Checked:
    kept: Any
    rows_in: int
    rows_dropped: int
    expectations: tuple[ExpectationResult, ...]
    kept_values: list[tuple[Any, ...]] = field(default_factory=list)
    failure: str | None = None


def check(frame: Any, dataset: Dataset, track: Sequence[str] = ()) -> Checked:
    """Evaluate every expectation of `dataset` on `frame` together; `track`: columns whose kept values to collect."""
    rules = rule_set([(e.name, e.constraint) for e in dataset.expectations], dataset.name)
    actions = {e.name: e.action for e in dataset.expectations}
    drop_rules = {n: c for n, c in rules.items() if actions[n] is Action.DROP}
    keep = passes_all(drop_rules)
    extra = {"dropped": F.count_if(~keep)}
    if track:
        extra["values"] = F.collect_set(F.when(keep, F.struct(*[F.col(f"`{c}`") for c in track])))
    report = count_rules(frame, rules, dataset.name, extra)
    results = tuple(
        ExpectationResult(r.name, dataset.name, actions[r.name].value, r.passed, r.failed) for r in report.rules
    )
    failing = [r for r in results if r.action == Action.FAIL.value and r.failed_records]
    return Checked(
        kept=frame.filter(keep) if drop_rules else frame,
        rows_in=report.total,
        rows_dropped=int(report.extras["dropped"]),
        expectations=results,
        kept_values=[tuple(v) for v in report.extras.get("values") or []],
        failure=_failure(frame, dataset, rules, failing, report.total) if failing else None,
    )


def _failure(frame: Any, dataset: Dataset, rules: dict[str, str], failing: list[ExpectationResult], total: int) -> str:
    offending = reduce(lambda acc, r: acc | broken(rules[r.name]), failing, F.lit(False))
    sample = [row.asDict(recursive=True) for row in frame.filter(offending).limit(SAMPLE_ROWS).collect()]
    broken_rules = ", ".join(f"{r.name!r} ({r.failed_records} of {total} records)" for r in failing)
    return (
        f"dataset {dataset.name!r} violated expect_or_fail expectation(s) {broken_rules}; "
        f"the table was left unchanged. Sample of offending records: {json.dumps(sample, default=str)}"
    )
