"""Which ARDS rows are compared: the current month and the reference window, and how complete each is.

Reference (DriftSettings.reference): "champion" = the dates the current @champion was fitted on (its MLflow
run's `lineage.train_as_of` .. `lineage.validation_as_of`; the final model is refitted on train + validation),
cut off before the current month; when there is no champion, no lineage, or no ARDS rows in that window, the
previous calendar month, with a warning saying why. Coverage (rows and days per window, non-null values per
column) comes from one aggregate per window; an empty current month or reference is an error, a partial one
a warning, so an incomplete comparison never passes silently.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.errors import LakehouseError
from lakehouse.settings import Settings
from ml.features.definitions import TIMESERIES_KEY

CHAMPION, PREVIOUS_MONTH, CURRENT = "champion training window", "previous month", "current month"


class DriftInputError(LakehouseError):
    """The data cannot support a drift comparison (empty month or reference, too few days)."""


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive
    source: str
    detail: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def where(self) -> Any:
        return F.col(TIMESERIES_KEY).between(F.lit(self.start), F.lit(self.end))

    def describe(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "source": self.source, "detail": self.detail}


@dataclass(frozen=True)
class Coverage:
    """What a window holds: rows, the dates present, non-null values per column."""

    window: Window
    rows: int
    dates: tuple[date, ...]
    non_null: dict[str, int] = field(default_factory=dict)

    @property
    def missing_days(self) -> list[date]:
        present = set(self.dates)
        return [d for d in (self.window.start + timedelta(days=i) for i in range(self.window.days)) if d not in present]

    def null_share(self, column: str) -> float | None:
        return None if not self.rows or column not in self.non_null else 1 - self.non_null[column] / self.rows

    def describe(self) -> dict[str, Any]:
        missing = self.missing_days
        return {**self.window.describe(), "rows": self.rows, "days_present": len(self.dates),
                "days_expected": self.window.days, "missing_days": _ranges(missing)}


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
        from ml import registry, tracking

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


def coverage(frame: DataFrame, window: Window, columns: list[str]) -> Coverage:
    """Rows, dates and non-null counts of `columns` in `window`: one aggregate, one row per date."""
    present = [c for c in columns if c in frame.columns]
    per_day = (frame.where(window.where()).groupBy(TIMESERIES_KEY)
               .agg(F.count(F.lit(1)).alias("_rows"), *[F.count(F.col(c)).alias(c) for c in present]).collect())
    return Coverage(window, sum(r["_rows"] for r in per_day), tuple(sorted(r[TIMESERIES_KEY] for r in per_day)),
                    {c: sum(r[c] for r in per_day) for c in present})


def _ranges(days: list[date]) -> list[str]:
    """Consecutive dates collapsed: ['2026-05-03', '2026-05-10..2026-05-12']."""
    out: list[list[date]] = []
    for d in days:
        if out and d - out[-1][-1] == timedelta(days=1):
            out[-1].append(d)
        else:
            out.append([d])
    return [str(r[0]) if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in out]
