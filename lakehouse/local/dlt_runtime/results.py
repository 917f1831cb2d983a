"""What an update reports: per-flow and per-dataset metrics, and the update's final state.

Accounting rule, for every completed flow and dataset: rows_in = rows_written + rows_dropped + rows_superseded
(superseded: change rows of an `apply_changes` batch replaced by a later change of the same key in that
batch; zero for every other flow). A failed flow reports the rows it read and wrote nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COMPLETED, FAILED, SKIPPED, EXCLUDED = "COMPLETED", "FAILED", "SKIPPED", "EXCLUDED"


@dataclass(frozen=True)
class ExpectationResult:
    name: str
    dataset: str
    action: str
    passed_records: int
    failed_records: int

    @property
    def pass_rate(self) -> float:
        total = self.passed_records + self.failed_records
        return 1.0 if total == 0 else self.passed_records / total

    def event(self) -> dict[str, object]:
        """The shape of one entry of `details:flow_progress.data_quality.expectations`."""
        return {
            "name": self.name,
            "dataset": self.dataset,
            "passed_records": self.passed_records,
            "failed_records": self.failed_records,
        }


@dataclass
class FlowResult:
    flow: str
    dataset: str
    status: str
    rows_in: int = 0
    rows_written: int = 0
    rows_dropped: int = 0
    rows_superseded: int = 0
    rows_upserted: int = 0
    rows_deleted: int = 0
    expectations: tuple[ExpectationResult, ...] = ()
    table_version: int | None = None
    duration_s: float = 0.0
    error: str | None = None


@dataclass
class DatasetResult:
    name: str
    kind: str
    status: str
    rows_in: int
    rows_written: int
    rows_dropped: int
    rows_superseded: int
    expectations: tuple[ExpectationResult, ...]
    table_version: int | None
    duration_s: float
    error: str | None

    @classmethod
    def combine(cls, name: str, kind: str, flows: list[FlowResult]) -> "DatasetResult":
        """One dataset's totals over its flows; the status is the worst flow status."""
        merged: dict[str, ExpectationResult] = {}
        for flow in flows:
            for e in flow.expectations:
                prior = merged.get(e.name)
                merged[e.name] = e if prior is None else ExpectationResult(
                    e.name, e.dataset, e.action, prior.passed_records + e.passed_records,
                    prior.failed_records + e.failed_records,
                )  # fmt: skip
        statuses = [f.status for f in flows]
        status = next((s for s in (FAILED, SKIPPED, COMPLETED, EXCLUDED) if s in statuses), EXCLUDED)
        versions = [f.table_version for f in flows if f.table_version is not None]
        return cls(
            name=name,
            kind=kind,
            status=status,
            rows_in=sum(f.rows_in for f in flows),
            rows_written=sum(f.rows_written for f in flows),
            rows_dropped=sum(f.rows_dropped for f in flows),
            rows_superseded=sum(f.rows_superseded for f in flows),
            expectations=tuple(merged.values()),
            table_version=versions[-1] if versions else None,
            duration_s=sum(f.duration_s for f in flows),
            error="; ".join(f.error for f in flows if f.error) or None,
        )


@dataclass
class UpdateResult:
    update_id: str
    pipeline: str
    state: str
    datasets: dict[str, DatasetResult] = field(default_factory=dict)
    flows: dict[str, FlowResult] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state == COMPLETED
