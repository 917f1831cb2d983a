"""A dataset's expectations applied to a flow's output in one pass (via lakehouse.core.rules).

One aggregate gives rows in, passed/failed per rule, rows dropped by the drop rules, NULLs among the kept
rows of each NOT NULL column of the declared schema and of any other column the flow requires (auto CDC's
`sequence_by`) and, when asked, the distinct values of some columns among the kept rows (partition values
for the writers). The kept rows are
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

from lakehouse.core.rules import broken, count_rules, passes_all, rule_set
from lakehouse.local.dlt_runtime.graph import Action, Dataset
from lakehouse.local.dlt_runtime.results import ExpectationResult

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Checked:
    kept: Any
    rows_in: int
    rows_dropped: int
    expectations: tuple[ExpectationResult, ...]
    kept_values: list[tuple[Any, ...]] = field(default_factory=list)
    failure: str | None = None
    nulls: dict[str, int] = field(default_factory=dict)  # NULLs among the kept rows, per `required` column


def check(frame: Any, dataset: Dataset, track: Sequence[str] = (), required: Sequence[str] = ()) -> Checked:
    """Evaluate every expectation of `dataset` on `frame` together; `track`: columns whose kept values to collect;
    `required`: columns whose NULLs among the kept rows to count (the caller decides what they mean)."""
    rules = rule_set([(e.name, e.constraint) for e in dataset.expectations], dataset.name)
    actions = {e.name: e.action for e in dataset.expectations}
    drop_rules = {n: c for n, c in rules.items() if actions[n] is Action.DROP}
    keep = passes_all(drop_rules)
    extra = {"dropped": F.count_if(~keep)}
    if track:
        extra["values"] = F.collect_set(F.when(keep, F.struct(*[F.col(f"`{c}`") for c in track])))
    not_null = dataset.schema.not_null if dataset.schema is not None else ()
    counted = list(dict.fromkeys([*not_null, *required]))
    extra.update({f"null:{c}": F.count_if(keep & F.col(f"`{c}`").isNull()) for c in counted})
    report = count_rules(frame, rules, dataset.name, extra)
    results = tuple(
        ExpectationResult(r.name, dataset.name, actions[r.name].value, r.passed, r.failed) for r in report.rules
    )
    failing = [r for r in results if r.action == Action.FAIL.value and r.failed_records]
    nulls = {c: int(report.extras[f"null:{c}"]) for c in not_null if report.extras[f"null:{c}"]}
    failures = [
        _failure(frame, dataset, rules, failing, report.total) if failing else "",
        _null_failure(dataset, nulls) if nulls else "",
    ]
    return Checked(
        kept=frame.filter(keep) if drop_rules else frame,
        rows_in=report.total,
        rows_dropped=int(report.extras["dropped"]),
        expectations=results,
        kept_values=[tuple(v) for v in report.extras.get("values") or []],
        failure=" ".join(f for f in failures if f) or None,
        nulls={c: int(report.extras[f"null:{c}"]) for c in required},
    )


def _null_failure(dataset: Dataset, nulls: dict[str, int]) -> str:
    """A NOT NULL column of the declared schema got NULLs among the rows to write: Delta refuses the write
    (an enforced constraint, https://docs.databricks.com/aws/en/tables/constraints.html)."""
    counts = ", ".join(f"{column!r} ({count} records)" for column, count in nulls.items())
    return (
        f"dataset {dataset.name!r} violated the NOT NULL constraint of its declared schema on {counts}; "
        "the table was left unchanged. Drop such rows with an expect_or_drop rule or fill the column."
    )


def _failure(frame: Any, dataset: Dataset, rules: dict[str, str], failing: list[ExpectationResult], total: int) -> str:
    offending = reduce(lambda acc, r: acc | broken(rules[r.name]), failing, F.lit(False))
    sample = [row.asDict(recursive=True) for row in frame.filter(offending).limit(SAMPLE_ROWS).collect()]
    broken_rules = ", ".join(f"{r.name!r} ({r.failed_records} of {total} records)" for r in failing)
    return (
        f"dataset {dataset.name!r} violated expect_or_fail expectation(s) {broken_rules}; "
        f"the table was left unchanged. Sample of offending records: {json.dumps(sample, default=str)}"
    )
