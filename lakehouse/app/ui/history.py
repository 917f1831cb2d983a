"""Run histories other jobs write, for the job runs and reports pages: job runs, data-quality runs,
drift months and batch scoring runs. Each reads as an empty list while its table does not exist.

Report links follow the publishing convention of quality/publish.py (`report_folder`): a day's data
quality report under `data-quality/yyyy/mm/dd/` (report.html, report.json), a month's drift report
under `drift/yyyy/mm/` (report.html, summary.json). The daily job's `data_quality` task (its key in
bundle/resources/daily.job.yml) links to the report of its run date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lakehouse.app.ui import queries
from lakehouse.app.ui.source import DRIFT_HISTORY, JOB_RUNS, QUALITY_RESULTS, Tables
from lakehouse.core.settings import Settings
from quality.publish import report_folder

RUNS_SHOWN = 500
DAYS_SHOWN = 60
QUALITY_TASK = "data_quality"


def quality_report(day: date) -> tuple[str, str]:
    """(HTML, JSON) paths of a day's data-quality report in the report container."""
    folder = report_folder("data-quality", day)
    return f"{folder}/report.html", f"{folder}/report.json"


@dataclass(frozen=True)
class JobRun:
    run_id: str
    job: str
    task: str
    run_date: date | None
    attempt: int | None
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    error: str | None

    @property
    def report(self) -> tuple[str, str] | None:
        return quality_report(self.run_date) if self.task == QUALITY_TASK and self.run_date else None


@dataclass(frozen=True)
class QualityRun:
    run_date: date
    run_id: str
    checks: int
    failed: int
    status: str
    validated_at: datetime

    @property
    def report(self) -> tuple[str, str]:
        return quality_report(self.run_date)


@dataclass(frozen=True)
class DriftMonth:
    month: date
    columns: int
    drifted: int
    drifted_columns: list[str]
    dataset_drift: bool | None
    retrain_recommended: bool | None

    @property
    def report(self) -> tuple[str, str]:
        folder = report_folder("drift", self.month, monthly=True)
        return f"{folder}/report.html", f"{folder}/summary.json"


@dataclass(frozen=True)
class ScoringRun:
    score_date: date
    rows: int
    positives: int
    mean_probability: float | None
    model_version: str | None
    scored_at: datetime | None


def job_runs(tables: Tables) -> list[JobRun]:
    """The latest job runs, oldest first."""
    return [JobRun(**row) for row in tables.history(queries.JOB_RUNS, JOB_RUNS, RUNS_SHOWN)][::-1]


def quality_runs(tables: Tables) -> list[QualityRun]:
    """Data-quality runs, newest first."""
    return [QualityRun(**row) for row in tables.history(queries.QUALITY_RUNS, QUALITY_RESULTS, DAYS_SHOWN)]


def drift_months(tables: Tables) -> list[DriftMonth]:
    """Drift runs, newest month first."""
    return [DriftMonth(**{**row, "drifted_columns": list(row["drifted_columns"] or [])})
            for row in tables.history(queries.DRIFT_MONTHS, DRIFT_HISTORY, DAYS_SHOWN)]


def scoring_runs(tables: Tables) -> list[ScoringRun]:
    """Batch scoring runs, newest score date first."""
    return [ScoringRun(**row) for row in tables.history(queries.SCORING_RUNS, predictions_table(tables.settings), DAYS_SHOWN)]


def predictions_table(settings: Settings) -> str:
    """The scoring job's predictions table (its settings block, when the settings have one)."""
    return getattr(getattr(settings, "scoring", None), "predictions_table", "predictions")


def latest_per_job(runs: list[JobRun]) -> list[JobRun]:
    """The last run of each job and task, by job and task."""
    latest = {(r.job, r.task): r for r in runs}  # runs are oldest first: the last one wins
    return [latest[key] for key in sorted(latest)]
