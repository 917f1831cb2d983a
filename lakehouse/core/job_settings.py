"""Settings blocks of the jobs (training, promotion gate, scoring, drift), with the defaults the jobs run on.

They are fields of `lakehouse.core.settings.Settings` (`settings.training`, `settings.scoring`), so every value
can be set per environment in `lakehouse/core/conf/<env>.yaml` or overridden by a variable such as
`LAKEHOUSE_TRAINING__HORIZON_DAYS=14`.

Drift methods are fixed rather than left to Evidently's size-based choice, so a verdict does not change
with the sample size: a normed Wasserstein distance for numbers (the shift in units of the reference's
standard deviation; robust to the large samples where p-value tests flag every negligible difference)
and the Jensen-Shannon distance for categories, both with Evidently's threshold of 0.1. Any Evidently
method name works per column type or per column ("psi", "ks", "kl_div", "hellinger", "chisquare", ...).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Metric = Literal["roc_auc", "pr_auc", "log_loss", "brier", "lift_at_k"]
# What a job does with ARDS/MRDS rows whose feature windows reach back before the data history
# (`window_complete_<days>d` false, see ml/features/definitions.py): leave them out, or use them.
IncompleteWindows = Literal["exclude", "include"]


class GateSettings(BaseModel):
    """When a challenger becomes champion: better on the same held-out data beyond noise, and good enough on its own.

    "Better" is a statistical decision (ml/evaluation/paired.py): the lower bound of the `confidence` interval of
    challenger - champion (paired bootstrap over customers, `resamples` draws, seeded) must reach
    `min_improvement`. A held-out set with fewer than `min_positives` positive customers decides nothing: the
    model is held and the reason says so. The default 50: with fewer churners the standard error of a ROC AUC
    of 0.8 exceeds about 0.04 (Hanley & McNeil 1982), too wide to judge even the absolute minimum of 0.65."""

    mode: Literal["enabled", "dry-run"] = "enabled"
    metric: Literal["roc_auc", "pr_auc"] = "roc_auc"
    min_improvement: float = Field(0.002, gt=0)  # the interval's lower bound must reach this; a tie never promotes
    confidence: float = Field(0.95, gt=0.5, lt=1)  # two-sided level of the interval on the difference
    resamples: int = Field(2000, ge=100)  # bootstrap resamples (Monte Carlo error of the bounds ~1/sqrt of it)
    seed: int = 0  # the bootstrap's: the same held-out rows and scores give the same decision
    min_positives: int = Field(50, ge=1)  # positive customers (distinct churners) needed to decide at all
    minimums: dict[Metric, float] = {"roc_auc": 0.65, "lift_at_k": 1.5}  # for higher-is-better metrics
    maximums: dict[Metric, float] = {"brier": 0.1}  # for lower-is-better metrics (a sanity ceiling)


class TrainingSettings(BaseModel):
    """Labels, training window, time split and model hyper-parameters (seeded: same data, same model)."""

    horizon_days: int = Field(14, gt=0)  # label: churn within (as_of, as_of + horizon]
    window_days: int = Field(365, gt=0)  # as-of dates considered, ending at run_date - horizon
    as_of_every_days: int = Field(1, gt=0)  # spacing of as-of dates (7 at 100k+ customers keeps the set small)
    validation_days: int = Field(7, gt=0)
    test_days: int = Field(7, gt=0)
    gap_days: int | None = Field(None, ge=0)  # between splits; None = horizon_days, so no label window crosses a split
    model: Literal["hist_gradient_boosting", "logistic_regression"] = "hist_gradient_boosting"
    params: dict[str, dict[str, Any]] = {  # per model; max_iter of boosting is the cap for early stopping
        "hist_gradient_boosting": {"learning_rate": 0.1, "max_iter": 200, "max_leaf_nodes": 15,
                                   "min_samples_leaf": 50, "l2_regularization": 1.0},
        "logistic_regression": {"C": 0.5, "max_iter": 2000},
    }
    clip_quantile: float = Field(0.995, gt=0.5, le=1.0)  # heavy-tailed counts and amounts are capped here
    top_k_percent: float = Field(5.0, gt=0, le=100)  # lift is measured on this share of highest scores
    seed: int = 42
    threads: int | None = Field(None, gt=0)  # native threads while fitting; None = all cores (1 on a busy 2-core box)
    # "exclude": as-of dates start at the first feature date whose windows are all complete, and a looked-up row
    # with an incomplete window is dropped: the model never learns from truncated windows production never shows
    incomplete_windows: IncompleteWindows = "exclude"
    gate: GateSettings = GateSettings()

    @property
    def gap(self) -> int:
        return self.horizon_days if self.gap_days is None else self.gap_days

    @property
    def model_params(self) -> dict[str, Any]:
        return dict(self.params.get(self.model, {}))


class ScoringSettings(BaseModel):
    """The daily batch scoring job: which features, where the predictions go, which decision rule."""

    feature_table: str = "mrds"
    predictions_table: str = "predictions"
    threshold: float | None = Field(0.5, gt=0, lt=1)  # decision = probability >= threshold ...
    top_k_percent: float | None = Field(None, gt=0, le=100)  # ... or the top k% of the day's scores
    # "include": rows with an incomplete window are scored and flagged (predictions.features_complete false, and
    # counted); "exclude": they get no prediction (counted). A young warehouse still needs its scores
    incomplete_windows: IncompleteWindows = "include"

    @model_validator(mode="after")
    def _one_decision_rule(self) -> "ScoringSettings":
        if (self.threshold is None) == (self.top_k_percent is None):
            raise ValueError("set exactly one of scoring.threshold and scoring.top_k_percent")
        return self


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
    # "exclude": both windows compare only feature dates whose windows are all complete (the excluded dates are
    # reported); truncated windows at the start of the history differ from full ones without any drift
    incomplete_windows: IncompleteWindows = "exclude"
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
