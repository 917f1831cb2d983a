"""The ARDS features as data: each feature's name, type, meaning and how it is computed.

A window feature aggregates a per-day value of `customer_daily` over the trailing `window_days`
days ending at feature_date, inclusive: day F covers activity dates F-days+1 .. F, where `age`
(days between the activity date and F) is 0 .. days-1. Nothing after the end of feature_date is
ever used. The same list drives the transformation, the feature table's metadata and the model's
input columns.

Window completeness: a window is complete on feature_date F when all its days, F-days+1 .. F, lie inside the
warehouse's data history, i.e. on or after the first activity date in `customer_daily` (the history start).
Before that a window sums fewer days than it says (a 90-day count over 5 days of data) and its values are not
the ones production sees, so the ARDS and MRDS carry one `window_complete_<days>d` column per window length
(`COMPLETENESS`), computed from the data, never from a setting. A new customer's short tenure is not
incompleteness: the days before signup are in the history, with no activity, which is the true value.

This module is the one registry of feature properties ("features as data"): a feature's nullability
(`Feature.nullable`, read by the MRDS's rules and the model's input types), the features the model computes
itself (`MODEL_DERIVED`, read by ml/training/transformers.py) and the as-of rule (`AS_OF`, read by the labels,
the MRDS, training's point-in-time lookup and scoring) are stated here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

ENTITY_KEY = "customer_id"
TIMESERIES_KEY = "feature_date"
WINDOWS = (7, 30, 90)
LOOKBACK_DAYS = max(WINDOWS)
# The as-of rule: a row "as of" date D (a label's start, an MRDS row, a training example) takes the features of the
# latest feature_date <= D, i.e. only what was known at the end of day D; its label counts churn after D.
AS_OF = "as_of_date"


@dataclass(frozen=True)
class Feature:
    """One column of the ARDS. `expr` is Spark SQL over the columns the transformation provides."""

    name: str
    dtype: str
    description: str
    expr: str  # "window": the per-day value that `agg` aggregates; otherwise the column's SQL
    kind: str  # "attribute" (profile as of the date), "window" (trailing aggregate) or "derived"
    window_days: int | None = None  # the longest trailing window the value depends on (None: no window)
    agg: str = "sum"  # "window" only: sum (0 when no activity) or min (null when none)
    nullable: bool = False  # null by definition without activity (the model imputes it); else always present


@dataclass(frozen=True)
class WindowFeature(Feature):
    """A trailing aggregate (kind "window"): its window is always known."""

    window_days: int


def _window(name: str, value: str, days: int, what: str) -> WindowFeature:
    return WindowFeature(
        name=f"{name}_{days}d", dtype="double" if value == "spend" else "bigint",
        description=f"{what} over the {days} days ending at feature_date",
        expr=value, kind="window", window_days=days,
    )


ATTRIBUTES = (
    Feature("plan", "string", "subscription plan as of feature_date", "plan", "attribute"),
    Feature("region", "string", "customer region as of feature_date", "region", "attribute"),
    Feature("acquisition_channel", "string", "channel the customer signed up through", "acquisition_channel", "attribute"),
    Feature("monthly_fee", "double", "monthly fee as of feature_date", "monthly_fee", "attribute"),
    Feature("tenure_days", "int", "days since signup", "datediff(feature_date, signup_date)", "attribute"),
    Feature("age", "int", "age in years at feature_date (by birth year)", "year(feature_date) - birth_year", "attribute"),
)

WINDOW_FEATURES = tuple(
    feature
    for days in WINDOWS
    for feature in (
        _window("txn_count", "txn_count", days, "number of transactions"),
        _window("spend", "spend", days, "total amount spent"),
        _window("active_days", "CASE WHEN txn_count > 0 THEN 1 ELSE 0 END", days, "days with at least one transaction"),
        _window("support_contacts", "support_contacts", days, "support interactions"),
        _window("cancellation_contacts", "cancellation_contacts", days, "support interactions about cancellation"),
        _window("low_satisfaction_contacts", "low_satisfaction_contacts", days, "interactions rated 1 or 2"),
        _window("unresolved_contacts", "unresolved_contacts", days, "unresolved support interactions"),
    )
) + (
    WindowFeature("days_since_last_txn", "int",
                  f"days since the last transaction day; null when none in the last {LOOKBACK_DAYS} days",
                  "CASE WHEN txn_count > 0 THEN age END", "window", LOOKBACK_DAYS, agg="min", nullable=True),
)

DERIVED = (
    Feature("avg_amount_30d", "double", "average transaction amount over 30 days; null without transactions",
            "CASE WHEN txn_count_30d > 0 THEN spend_30d / txn_count_30d END", "derived", 30, nullable=True),
    Feature("txn_trend_7d_30d", "double", "daily transaction rate of the last 7 days over that of the last 30; null when no transactions in 30 days",
            "CASE WHEN txn_count_30d > 0 THEN (CAST(txn_count_7d AS DOUBLE) / 7) / (CAST(txn_count_30d AS DOUBLE) / 30) END", "derived", 30, nullable=True),
    Feature("spend_trend_7d_30d", "double", "daily spend of the last 7 days over that of the last 30; null when nothing spent in 30 days",
            "CASE WHEN spend_30d > 0 THEN (spend_7d / 7) / (spend_30d / 30) END", "derived", 30, nullable=True),
)

FEATURES: tuple[Feature, ...] = ATTRIBUTES + WINDOW_FEATURES + DERIVED
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
NULLABLE: frozenset[str] = frozenset(f.name for f in FEATURES if f.nullable)


@dataclass(frozen=True)
class ModelFeature:
    """A column the model's own pipeline computes from ARDS features (DerivedFeatures), so scoring can never drift
    from training; it is in no table. `inputs` are the ARDS features it reads."""

    name: str
    description: str
    inputs: tuple[str, ...]


MODEL_DERIVED: tuple[ModelFeature, ...] = (
    ModelFeature("activity_drop_7d_30d", "share of days active over 30 days minus that over the last 7",
                 ("active_days_7d", "active_days_30d")),
    ModelFeature("spend_per_fee_30d", "30-day spend over the monthly fee; missing when the fee is 0",
                 ("spend_30d", "monthly_fee")),
    ModelFeature("cancellation_share_90d", "share of 90-day support contacts about cancellation; missing without contacts",
                 ("cancellation_contacts_90d", "support_contacts_90d")),
    ModelFeature("unresolved_share_30d", "share of 30-day support contacts left unresolved; missing without contacts",
                 ("unresolved_contacts_30d", "support_contacts_30d")),
)


@dataclass(frozen=True)
class Completeness:
    """The column saying whether the `window_days`-day windows of a row lie inside the data history."""

    window_days: int

    @property
    def name(self) -> str:
        return f"window_complete_{self.window_days}d"

    @property
    def description(self) -> str:
        return (f"true when the {self.window_days} days ending at feature_date all lie inside the data history "
                f"(on or after the first activity date): the {self.window_days}-day window features are complete")

    def complete(self, feature_date: date, history_start: date) -> bool:
        """The rule itself, for one date (the Spark transform computes the same comparison per row)."""
        return (feature_date - history_start).days + 1 >= self.window_days


COMPLETENESS: tuple[Completeness, ...] = tuple(Completeness(days) for days in sorted({*WINDOWS, LOOKBACK_DAYS}))
COMPLETENESS_NAMES: tuple[str, ...] = tuple(c.name for c in COMPLETENESS)


def completeness_for(feature_names: Iterable[str]) -> Completeness | None:
    """The completeness column covering every window of `feature_names` (the longest); None when none has one.

    Windows are nested in time (the 90 days ending at F contain the 30 and the 7), so the longest complete
    means all are."""
    by_name = {f.name: f.window_days for f in FEATURES}
    longest = max((by_name.get(name) or 0 for name in feature_names), default=0)
    return Completeness(longest) if longest else None
