"""Settings of the monthly drift job, with the defaults it runs on and why they are what they are.

Meant to live in lakehouse/settings.py as `Settings.drift` (overridable per environment like every other
setting, e.g. `LAKEHOUSE_DRIFT__DRIFT_SHARE=0.1`); until then `drift_settings` falls back to these defaults.

Methods are fixed rather than left to Evidently's size-based choice, so a verdict does not change with the
sample size: a normed Wasserstein distance for numbers (the shift in units of the reference's standard
deviation; robust to the large samples where p-value tests flag every negligible difference) and the
Jensen-Shannon distance for categories, both with Evidently's threshold of 0.1. Any Evidently method name
works per column type or per column ("psi", "ks", "kl_div", "hellinger", "chisquare", ...).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ReferenceStrategy = Literal["champion", "previous_month"]


class DriftSettings(BaseModel):
    """What the drift job compares, how, and when it recommends retraining."""

    table: str = "ards"
    # None = every ARDS feature (ml.features.definitions); columns not in the table are reported, not skipped silently
    columns: list[str] | None = None
    # tenure and age grow with the calendar: against a reference months back they always "drift"
    exclude_columns: list[str] = ["tenure_days", "age"]
    num_method: str = "wasserstein"
    cat_method: str = "jensenshannon"
    num_threshold: float | None = Field(0.1, gt=0)  # None = the method's own default
    cat_threshold: float | None = Field(0.1, gt=0)
    per_column_method: dict[str, str] = {}
    per_column_threshold: dict[str, float] = {}
    # dataset drift (the retraining signal) = at least this share of the columns drifted. Lower than Evidently's
    # 0.5: the ARDS has ~30 correlated features and a real change (e.g. prices) moves 3-5 of them
    drift_share: float = Field(0.05, gt=0, le=1)
    # rows per window handed to Evidently: hash-sampled in Spark (see quality.drift.sample)
    sample_rows: int = Field(50_000, gt=0)
    seed: int = 42
    reference: ReferenceStrategy = "champion"  # the champion's training window; else / on failure: previous month
    # a current month with fewer days than this share is refused; fewer than all days is a warning
    min_day_coverage: float = Field(0.5, ge=0, le=1)
    # prediction drift of the scores (the `predictions` table) and model performance on matured labels
    predictions_table: str = "predictions"
    prediction_method: str = "wasserstein"
    prediction_threshold: float | None = Field(0.1, gt=0)

    def column_method(self, column: str, categorical: bool) -> tuple[str, float | None]:
        """The method and threshold of one column; a column's own method without its own threshold gets the
        method's default (a p-value test must not inherit a distance threshold)."""
        if column in self.per_column_threshold:
            threshold = self.per_column_threshold[column]
        elif column in self.per_column_method:
            threshold = None
        else:
            threshold = self.cat_threshold if categorical else self.num_threshold
        return self.per_column_method.get(column, self.cat_method if categorical else self.num_method), threshold


def drift_settings(settings: Any) -> DriftSettings:
    """`settings.drift` once lakehouse/settings.py has it, else the defaults above."""
    return getattr(settings, "drift", None) or DriftSettings()
