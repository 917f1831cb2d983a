"""Which ARDS rows are compared: the current month and the reference window, and how complete each is.

Reference (DriftSettings.reference): "champion" = the dates the current @champion was fitted on (its MLflow
run's `lineage.train_as_of` .. `lineage.validation_as_of`; the final model is refitted on train + validation),
cut off before the current month; when there is no champion, no lineage, or no ARDS rows in that window, the
previous calendar month, with a warning saying why. Coverage (rows and days per window, non-null values per
column) comes from one aggregate per window; an empty current month or reference is an error, a partial one
a warning, so an incomplete comparison never passes silently.

Incomplete feature windows (DriftSettings.incomplete_windows, default "exclude"): a window then keeps only the
rows whose compared features' windows lie inside the data history (`window_complete_<days>d`, the longest
window of the compared columns), in its coverage and in its sample alike (`Window.where`). At the start of a
warehouse's history a 90-day count over a few days differs from a full one with no drift at all; the dates
left out are reported (`incomplete_days`), never silently missing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.core.errors import LakehouseError
from lakehouse.core.job_settings import DriftSettings
from lakehouse.core.settings import Settings
from ml.features.definitions import TIMESERIES_KEY, completeness_for

CHAMPION, PREVIOUS_MONTH, CURRENT = "champion training window", "previous month", "current month"


class DriftInputError(LakehouseError):
    """The data cannot support a drift comparison (empty month or reference, too few days)."""


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive
    source: str
    detail: str = ""
    complete: str | None = None  # the completeness column a row must have true (None: every row counts)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> Any:
        return F.col(TIMESERIES_KEY).between(F.lit(self.start), F.lit(self.end))

    def where(self) -> Any:
        """The rows the window compares: its dates, and only complete ones when it requires completeness."""
        return self.dates() & F.col(self.complete) if self.complete else self.dates()

    def describe(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "source": self.source, "detail": self.detail}


@dataclass(frozen=True)
class Coverage:
    """What a window holds: rows, the dates present, non-null values per column."""

    window: Window
    rows: int
    dates: tuple[date, ...]  # the dates compared
    non_null: dict[str, int] = field(default_factory=dict)
    incomplete: tuple[date, ...] = ()  # dates with rows, all left out for incomplete windows

    @property
    def missing_days(self) -> list[date]:
        """Dates without any row (not those left out as incomplete)."""
        present = {*self.dates, *self.incomplete}
        return [d for d in (self.window.start + timedelta(days=i) for i in range(self.window.days)) if d not in present]

    def incomplete_warnings(self) -> list[str]:
        """What the report must say about the dates left out for incomplete windows (nothing when none were)."""
        if not self.incomplete:
            return []
        return [f"{self.window.source} {self.window.start}..{self.window.end}: {len(self.incomplete)} day(s) left out, "
                f"their feature windows reach back before the data history ({self.window.complete} false): "
                f"{', '.join(_ranges(list(self.incomplete)))}"]

    def null_share(self, column: str) -> float | None:
        return None if not self.rows or column not in self.non_null else 1 - self.non_null[column] / self.rows

    def describe(self) -> dict[str, Any]:
        missing = self.missing_days
        return {**self.window.describe(), "rows": self.rows, "days_present": len(self.dates),
                "days_expected": self.window.days, "missing_days": _ranges(missing),
                "incomplete_days": _ranges(list(self.incomplete)), "requires": self.window.complete or "every row"}


def month_window(month: date) -> Window:
    first = month.replace(day=1)
    return Window(first, first.replace(day=calendar.monthrange(first.year, first.month)[1]), CURRENT)


def last_complete_month(data_through: date) -> date:
    """The latest month whose last day is at or before `data_through` (the run date: data is complete through it)."""
    return ((data_through + timedelta(days=1)).replace(day=1) - timedelta(days=1)).replace(day=1)


def previous_month(month: Window, why: str = "") -> Window:
    prior = month_window(month.start - timedelta(days=1))
    return Window(prior.start, prior.end, PREVIOUS_MONTH, why)


def champion_window(settings: Settings, before: date) -> tuple[Window | None, str]:
    """The champion's training window ending before `before`, or None and the reason it cannot be used."""
    try:
        from lakehouse.platform import tracking
        from ml import registry

        client = tracking.configure(settings)
        name = tracking.registered_model_name(settings)
        held = registry.current_version(client, name, registry.CHAMPION)
        if held is None:
            return None, f"model {name} has no @{registry.CHAMPION}"
        tags = client.get_run(held.run_id).data.tags
    except Exception as exc:  # noqa: BLE001 - MLflow unreachable or broken: fall back, and say so
        return None, f"the registry could not be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    try:
        start = date.fromisoformat(tags["lineage.train_as_of"].split("..")[0])
        end = date.fromisoformat(tags.get("lineage.validation_as_of", tags["lineage.train_as_of"]).split("..")[1])
    except (KeyError, IndexError, ValueError):
        return None, f"{name} version {held.version} (run {held.run_id}) has no lineage.train_as_of tag"
    detail = f"{name} version {held.version}, run {held.run_id}, fitted on as-of dates {start}..{end}"
    end = min(end, before - timedelta(days=1))
    if end < start:
        return None, f"{name} version {held.version} was trained on dates from {start}, not before {before}"
    return Window(start, end, CHAMPION, detail), ""


def required_completeness(frame: DataFrame, cfg: DriftSettings, columns: list[str], table: str,
                          warnings: list[str]) -> str | None:
    """The completeness column both windows require (None: every row counts), by `cfg.incomplete_windows`.

    A table without it (written before completeness existed, or not an ARDS) is compared whole, with a warning."""
    needed = completeness_for(columns)
    if cfg.incomplete_windows == "include" or needed is None:
        return None
    if needed.name not in frame.columns:
        warnings.append(f"{table} has no {needed.name} column: window completeness unknown, every date compared")
        return None
    return needed.name


def coverage(frame: DataFrame, window: Window, columns: list[str], complete: str | None = None) -> Coverage:
    """Rows, dates and non-null counts of `columns` in `window`, keeping only rows with `complete` true when
    given (the returned coverage's window then requires it): one aggregate, one row per date."""
    window = replace(window, complete=complete)
    keep = F.col(complete) if complete else F.lit(True)
    present = [c for c in columns if c in frame.columns]
    per_day = (frame.where(window.dates()).groupBy(TIMESERIES_KEY)
               .agg(F.count(F.when(keep, 1)).alias("_rows"), *[F.count(F.when(keep, F.col(c))).alias(c) for c in present])
               .collect())
    kept = [r for r in per_day if r["_rows"]]
    return Coverage(window, sum(r["_rows"] for r in kept), tuple(sorted(r[TIMESERIES_KEY] for r in kept)),
                    {c: sum(r[c] for r in kept) for c in present},
                    tuple(sorted(r[TIMESERIES_KEY] for r in per_day if not r["_rows"])))


def _ranges(days: list[date]) -> list[str]:
    """Consecutive dates collapsed: ['2026-05-03', '2026-05-10..2026-05-12']."""
    out: list[list[date]] = []
    for d in days:
        if out and d - out[-1][-1] == timedelta(days=1):
            out[-1].append(d)
        else:
            out.append([d])
    return [str(r[0]) if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in out]
