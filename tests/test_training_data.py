"""Where a training set's as-of dates may start, and what training refuses before it reads anything
(ml/training/dataset.py; the full set is tested in test_scoring.py and test_incomplete_windows.py)."""

from __future__ import annotations

from datetime import date

import pytest

from lakehouse.job_settings import TrainingSettings
from ml.errors import NotEnoughHistory
from ml.features.definitions import Completeness
from ml.training.dataset import first_as_of, load_training_data

COMPLETE = Completeness(3)
EXCLUDE, INCLUDE = TrainingSettings(), TrainingSettings(incomplete_windows="include")


def ards(spark, rows: list[tuple[date, bool | None]], columns: str = "feature_date date, window_complete_3d boolean"):
    return spark.createDataFrame(rows, columns)


def test_the_first_as_of_date_is_the_first_complete_feature_date_unless_incomplete_ones_are_included(spark):
    rows = [(date(2026, 1, 5), True), (date(2026, 1, 1), False), (date(2026, 1, 3), True), (date(2026, 1, 2), None)]
    assert first_as_of(ards(spark, rows), "ards", EXCLUDE, COMPLETE) == date(2026, 1, 3)
    assert first_as_of(ards(spark, rows), "ards", INCLUDE, COMPLETE) == date(2026, 1, 1)


def test_a_history_shorter_than_the_longest_window_is_refused_and_says_from_when_it_is_complete(spark):
    rows = [(date(2026, 1, 1), False), (date(2026, 1, 2), False)]
    with pytest.raises(NotEnoughHistory, match=r"^ards has no feature date with complete 3-day windows: its first "
                                               r"feature date is 2026-01-01, so they are complete from 2026-01-03 "):
        first_as_of(ards(spark, rows), "ards", EXCLUDE, COMPLETE)
    assert first_as_of(ards(spark, rows), "ards", INCLUDE, COMPLETE) == date(2026, 1, 1)


@pytest.mark.parametrize("cfg", [EXCLUDE, INCLUDE], ids=["exclude", "include"])
def test_an_empty_ards_or_one_without_completeness_is_refused(spark, cfg):
    with pytest.raises(NotEnoughHistory, match="^ards is empty$"):
        first_as_of(ards(spark, []), "ards", cfg, COMPLETE)
    with pytest.raises(NotEnoughHistory, match="^ards has no window_complete_3d column: run the offline_features"):
        first_as_of(ards(spark, [(date(2026, 1, 1),)], "feature_date date"), "ards", cfg, COMPLETE)


def test_training_without_its_tables_is_refused_naming_each(spark, settings, store):
    with pytest.raises(NotEnoughHistory) as refused:
        load_training_data(spark, settings, date(2026, 3, 1), EXCLUDE)
    assert str(refused.value) == (f"training needs table(s) {[store.name(t) for t in ('ards', 'silver_customers', 'silver_churn')]}"
                                  ": run offline_features first")
