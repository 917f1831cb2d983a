"""Time-based train / validation / test split of the as-of dates, with a gap between the parts.

Test is the latest `test_days` of as-of dates, validation the `validation_days` before it, train the
rest. Each part starts at least `gap` days (default: the label horizon) after the previous part's last
as-of date, so every label window of an earlier part, (D, D + horizon], has ended when the later part
begins: nothing a model is evaluated on happened inside its training labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from lakehouse.core.job_settings import TrainingSettings
from ml.errors import NotEnoughHistory

PARTS = ("train", "validation", "test")


@dataclass(frozen=True)
class TimeSplit:
    train: tuple[date, ...]
    validation: tuple[date, ...]
    test: tuple[date, ...]

    def part_of(self, day: date) -> str | None:
        """The part an as-of date belongs to; None for dates that fall in a gap."""
        return next((name for name in PARTS if day in getattr(self, name)), None)

    def windows(self) -> dict[str, str]:
        """First and last as-of date of each part, for lineage."""
        return {f"{name}_as_of": f"{min(days)}..{max(days)}" for name in PARTS if (days := getattr(self, name))}


def time_split(dates: Sequence[date], cfg: TrainingSettings) -> TimeSplit:
    """Split sorted as-of dates; raises NotEnoughHistory when a part would be empty."""
    days = sorted(set(dates))
    if not days:
        raise NotEnoughHistory("no as-of dates to split")
    test_start = days[-1] - timedelta(days=cfg.test_days - 1)
    test = [d for d in days if d >= test_start]
    validation_end = min(test) - timedelta(days=cfg.gap)
    validation = [d for d in days if validation_end - timedelta(days=cfg.validation_days - 1) <= d <= validation_end]
    train_end = (min(validation) if validation else validation_end) - timedelta(days=cfg.gap)
    train = [d for d in days if d <= train_end]
    if not (train and validation and test):
        raise NotEnoughHistory(
            f"as-of dates {days[0]}..{days[-1]} are too few for train + {cfg.validation_days}d validation + "
            f"{cfg.test_days}d test with {cfg.gap}-day gaps: {len(train)}/{len(validation)}/{len(test)} dates"
        )
    return TimeSplit(tuple(train), tuple(validation), tuple(test))
