"""The demo's story: which days it runs and what happens on them (defects, the incident, the drifted month).

Its own module because both the demo that stages the story and the summary that reads it back need it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from lakehouse.core.errors import LakehouseError
from lakehouse.local.datagen import GeneratorConfig
from ml.features.definitions import LOOKBACK_DAYS
from quality.drift.windows import last_complete_month

DAILY_DAYS = 7
DEFECT_RATE = 0.002  # about 1 record in 500 broken: quarantine and warnings every day, far below the gate's limits
INCIDENT_RUN = 3  # the incident is the third of the daily runs, its recovery the fourth


@dataclass(frozen=True)
class Story:
    """The days the demo runs and what happens on them."""

    config: GeneratorConfig
    first_deployment: date
    daily: tuple[date, ...]
    incident_day: date
    clean_month: date  # first day of the month checked for drift before the drifted one
    drift_month: date

    @property
    def recovery_day(self) -> date:
        return self.incident_day + timedelta(days=1)

    @property
    def last(self) -> date:
        return self.daily[-1]


def story(config: GeneratorConfig, days: int) -> Story:
    """The demo's days and the generator configuration that stages them: defects at DEFECT_RATE (unless configured),
    the incident on the INCIDENT_RUN-th daily day, drift from the first day of the last complete month.

    The clean month's drift reference (the champion's training dates before it) must hold a month of complete feature
    windows, so the history needs the longest feature window, then that reference month, the clean month and the
    drifted month; fewer days are refused, naming the fewest that suffice."""
    last = config.world_start + timedelta(days=days - 1)
    drift_month = last_complete_month(last)
    clean_month = last_complete_month(drift_month - timedelta(days=1))
    first_complete = config.world_start + timedelta(days=LOOKBACK_DAYS - 1)
    if _month_before(clean_month) < first_complete:
        reference = first_complete if first_complete.day == 1 else _month_after(first_complete)
        enough = (_month_after(_month_after(_month_after(reference))) - config.world_start).days
        raise LakehouseError(f"the demo's clean month needs a month of complete {LOOKBACK_DAYS}-day feature windows "
                             f"before it and a drifted month after it: {days} days from {config.world_start} are too "
                             f"few, give at least {enough} (--days)")
    daily = tuple(last - timedelta(days=offset) for offset in range(DAILY_DAYS - 1, -1, -1))
    staged = replace(config, defect_rate=config.defect_rate or DEFECT_RATE, drift_start=config.drift_start or drift_month,
                     incident_day=daily[INCIDENT_RUN - 1])
    return Story(staged, last - timedelta(days=DAILY_DAYS), daily, daily[INCIDENT_RUN - 1], clean_month, drift_month)


def _month_before(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def _month_after(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
