"""Trended checks: a day's volume and distribution against the same check's metric on earlier days.

The earlier metrics come from the results table (quality.history), so no earlier data is read:
the day's aggregates ride along in the table's one pass like every other check's. Robust statistics
(median, MAD) keep one bad earlier day from widening the band enough to hide the next one. With
fewer than `history.min_days` earlier days a check is skipped, and says so, but still records its
metric so the history builds up.
"""

from __future__ import annotations

import math
from datetime import date
from statistics import median
from typing import ClassVar, Literal

from pydantic import Field
from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse.core.source_contract import DOMAINS
from quality.checks import Check, Observed, Point, TableContext
from quality.results import CheckResult

OTHER = "(other)"


def robust_z(value: float, past: list[float], floor: float) -> float:
    """Distance from the median of `past` in robust standard deviations (1.4826 x MAD, at least `floor`)."""
    centre = median(past)
    spread = max(1.4826 * median(abs(x - centre) for x in past), floor, 1e-12)
    return abs(value - centre) / spread


MIN_WEEKDAY_POINTS = 2


def weekday_adjusted(history: list[Point], day: date) -> tuple[list[float], float] | None:
    """Earlier counts divided by their weekday's factor, and the factor of `day`'s weekday; None while
    `day`'s weekday has fewer than MIN_WEEKDAY_POINTS earlier counts.

    A weekday's factor is the median of its earlier counts over the median of all of them (1 for a
    weekday not seen often enough). Business volume has a weekly rhythm (Saturdays ~30% above the
    week's median in the generated data), which would otherwise read as a 5-sigma outlier every weekend.
    """
    points = [(p.run_date.weekday(), p.metric) for p in history if p.metric is not None]
    overall = median(m for _, m in points) or 1.0
    factors = {}
    for weekday in range(7):
        same = [m for w, m in points if w == weekday]
        factors[weekday] = (median(same) / overall or 1.0) if len(same) >= MIN_WEEKDAY_POINTS else None
    factor = factors[day.weekday()]
    if factor is None:
        return None
    return [m / (factors[w] or 1.0) for w, m in points], factor


class Volume(Check):
    """Row count against the trailing days' counts (robust z-score); at least `min_rows` always.

    The spread is at least the square root of the median: a count's own Poisson noise, which
    matters for sources with a handful of rows a day. With `weekly` (the default) counts are compared
    after removing the weekly rhythm (`weekday_adjusted`); until the history holds the run date's weekday
    MIN_WEEKDAY_POINTS times, the z-score is skipped (the `min_rows` floor always applies).
    """

    type: Literal["volume"]
    category: ClassVar[str] = "volume"
    max_z: float = Field(gt=0)
    min_rows: int = Field(1, ge=0)
    weekly: bool = True

    def judge(self, seen: Observed, ctx: TableContext) -> CheckResult:
        past = seen.past_metrics
        threshold = f">= {self.min_rows:,} rows, robust z <= {self.max_z:g}"
        if seen.total < self.min_rows:
            return self.result(ctx.table, False, seen.total, threshold, f"{seen.total:,} rows, fewer than {self.min_rows:,}")
        if lacking := ctx.history.lacking(len(past)):
            return self.result(ctx.table, None, seen.total, threshold, f"{seen.total:,} rows; {lacking}")
        factor = 1.0
        if self.weekly:
            adjusted = weekday_adjusted(seen.history, ctx.run_date)
            if adjusted is None:
                return self.result(ctx.table, None, seen.total, threshold,
                                   f"{seen.total:,} rows; fewer than {MIN_WEEKDAY_POINTS} earlier {ctx.run_date:%A}s "
                                   "in the history to allow for the weekly rhythm")
            past, factor = adjusted
        centre = median(past) * factor
        z = robust_z(seen.total / factor, past, max(ctx.history.min_relative_spread * centre, math.sqrt(centre), 1.0) / factor)
        expected = f"a {ctx.run_date:%A} median of {centre:,.0f}" if factor != 1.0 else f"a median of {centre:,.0f}"
        message = f"{seen.total:,} rows vs {expected} over {len(past)} earlier days (robust z {z:.1f})"
        return self.result(ctx.table, z <= self.max_z, seen.total, threshold, message,
                           {"z": z, "median": centre, "weekday_factor": factor})


class DistributionMean(Check):
    """Mean of a numeric column against its trailing daily means (robust z-score)."""

    type: Literal["distribution_mean"]
    category: ClassVar[str] = "distribution"
    column: str
    max_z: float = Field(gt=0)

    def default_name(self) -> str:
        return f"mean:{self.column}"

    def extras(self, ctx: TableContext) -> dict[str, Column]:
        return {"mean": F.avg(f"`{self.column}`")}

    def judge(self, seen: Observed, ctx: TableContext) -> CheckResult:
        mean, past = seen.extras["mean"], seen.past_metrics
        threshold = f"robust z <= {self.max_z:g}"
        why = "no values" if mean is None or not math.isfinite(mean) else ctx.history.lacking(len(past))
        if why:
            return self.result(ctx.table, None, None if why == "no values" else mean, threshold, f"mean {self.column}: {why}")
        centre = median(past)
        z = robust_z(mean, past, ctx.history.min_relative_spread * abs(centre))
        message = f"mean {self.column} {mean:,.4g} vs a median of {centre:,.4g} over {len(past)} earlier days (robust z {z:.1f})"
        return self.result(ctx.table, z <= self.max_z, mean, threshold, message, {"z": z, "median": centre})


class DistributionShares(Check):
    """Shares of a categorical column's values against the trailing days' median shares (total variation)."""

    type: Literal["distribution_shares"]
    category: ClassVar[str] = "distribution"
    column: str
    max_tvd: float = Field(gt=0, le=1)
    values: list[str] | None = None

    def default_name(self) -> str:
        return f"shares:{self.column}"

    def allowed(self, ctx: TableContext) -> list[str]:
        return self.values or list(DOMAINS[ctx.source][self.column])

    def extras(self, ctx: TableContext) -> dict[str, Column]:
        column = F.col(f"`{self.column}`")
        counts = {f"={value}": F.count_if(column == F.lit(value)) for value in self.allowed(ctx)}
        return {"n": F.count(column), **counts}

    def judge(self, seen: Observed, ctx: TableContext) -> CheckResult:
        n = int(seen.extras["n"])
        counts = {v: int(seen.extras[f"={v}"]) for v in self.allowed(ctx)}
        shares = {v: c / n for v, c in counts.items()} if n else {}
        if shares:
            shares[OTHER] = max(1.0 - sum(shares.values()), 0.0)
        past = [p.details["shares"] for p in seen.history if p.details.get("shares")]
        threshold = f"total variation <= {self.max_tvd:g}"
        why = "no values" if not shares else ctx.history.lacking(len(past))
        if why:
            return self.result(ctx.table, None, None, threshold, f"shares of {self.column}: {why}", {"shares": shares})
        baseline = {v: median(p.get(v, 0.0) for p in past) for v in shares}
        tvd = 0.5 * sum(abs(shares[v] - baseline[v]) for v in shares)
        moved = max(shares, key=lambda v: abs(shares[v] - baseline[v]))
        message = (f"shares of {self.column} moved by {tvd:.3f} (total variation) from the median of {len(past)} "
                   f"earlier days; most: {moved} {baseline[moved]:.1%} -> {shares[moved]:.1%}")
        return self.result(ctx.table, tvd <= self.max_tvd, tvd, threshold, message,
                           {"shares": shares, "baseline": baseline})
