"""What a validation run found: one result per check, the day's status and the gate decision.

The status is the worst level among the checks (a failed check counts at its severity, a passed or
skipped one as ok), so one error-severity failure makes the day `error`. Orchestration reads
`gate_passed`: False stops training and scoring for that day; which status stops it is configured
(`gate.fail_on` in quality/checks.yaml).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Level = Literal["ok", "warn", "error"]
Outcome = Literal["passed", "failed", "skipped"]
LEVELS: tuple[Level, ...] = ("ok", "warn", "error")


@dataclass(frozen=True)
class CheckResult:
    """One check on one table (or on the pipeline event log): outcome, measured metric, threshold, why."""

    table: str
    name: str
    category: str
    severity: Literal["warn", "error"]
    outcome: Outcome
    metric: float | None
    threshold: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def level(self) -> Level:
        return self.severity if self.outcome == "failed" else "ok"


@dataclass(frozen=True)
class ExpectationMetric:
    """One DLT expectation of the run date's pipeline update, summed over the flows of its dataset."""

    dataset: str
    name: str
    passed_records: int
    failed_records: int

    @property
    def failed_rate(self) -> float:
        total = self.passed_records + self.failed_records
        return self.failed_records / total if total else 0.0


@dataclass(frozen=True)
class ExpectationSummary:
    """The pipeline update the gate judges (the latest one started in the current job run), from its event log."""

    pipeline: str
    update_id: str | None
    state: str | None
    started_at: datetime | None = None
    expectations: tuple[ExpectationMetric, ...] = ()
    dropped_records: dict[str, int] = field(default_factory=dict)
    since: datetime | None = None  # the job run's start the update had to follow; None: the latest update counts


@dataclass
class Result:
    """A day's validation: every check result, rows per validated slice, status and gate."""

    run_id: str
    run_date: date
    env: str
    started_at: datetime
    fail_on: str
    checks: list[CheckResult]
    rows: dict[str, int | None]
    expectations: ExpectationSummary | None
    duration_s: float = 0.0
    published: list[str] = field(default_factory=list)  # where the report went (set after publishing)

    @property
    def status(self) -> Level:
        return max((c.level for c in self.checks), key=LEVELS.index, default="ok")

    @property
    def gate_passed(self) -> bool:
        """False when the status reaches `fail_on` (never, for `fail_on: never`)."""
        return self.fail_on == "never" or LEVELS.index(self.status) < LEVELS.index(self.fail_on)

    @property
    def failed(self) -> list[CheckResult]:
        """Failed checks, errors first."""
        return sorted((c for c in self.checks if c.outcome == "failed"), key=lambda c: -LEVELS.index(c.level))

    def to_dict(self) -> dict[str, Any]:
        counts = {outcome: sum(c.outcome == outcome for c in self.checks) for outcome in ("passed", "failed", "skipped")}
        return {
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
            "env": self.env,
            "status": self.status,
            "gate_passed": self.gate_passed,
            "fail_on": self.fail_on,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "counts": counts,
            "rows": self.rows,
            "checks": [{**asdict(c), "level": c.level} for c in self.checks],
            "expectations": asdict(self.expectations) if self.expectations else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str, allow_nan=False)
