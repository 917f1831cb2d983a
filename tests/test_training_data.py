"""Where a training set's as-of dates may start, and what training refuses before it reads anything
(ml/training/dataset.py; the full set is tested in test_scoring.py and test_incomplete_windows.py)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from lakehouse.core.job_settings import TrainingSettings
from lakehouse.core.storage import TableStore
from ml.errors import NotEnoughHistory
from ml.features.definitions import ENTITY_KEY, FEATURE_NAMES, TIMESERIES_KEY, Completeness, completeness_for
from ml.synthetic import synthetic_tables, write_tables
from ml.training import dataset
from ml.training.dataset import first_as_of, load_training_data

COMPLETE = Completeness(3)
EXCLUDE, INCLUDE = TrainingSettings(), TrainingSettings(incomplete_windows="include")


def ards(spark, rows: list[tuple[date, bool | None]], columns: str = "feature_date date, window_complete_3d boolean"):
    return spark.createDataFrame(rows, columns)


def test_training_excludes_rows_by_the_completeness_of_the_longest_window_of_every_model_feature():
    """A shorter window's column would let rows with a truncated 90-day window pass as complete."""
    assert dataset.COMPLETE == completeness_for(FEATURE_NAMES) == Completeness(90)


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


# -- a small warehouse: a stale lookup, an empty split ---------------------------------------------------------
START, DAYS = date(2026, 1, 1), 40
RUN = START + timedelta(days=DAYS - 1)
SMALL = TrainingSettings(horizon_days=3, validation_days=3, test_days=3)


@pytest.fixture(scope="module")
def warehouse(spark, base_settings, tmp_path_factory):
    """30 customers over 40 days whose 90-day windows are complete from 01-20; customer STALE's ARDS rows stop on
    01-06 (its later lookups reach an incomplete row), and STALE never churns."""
    root = tmp_path_factory.mktemp("training-data")
    settings = base_settings.model_copy(update={"storage_root": root, "schema_name": f"s_{uuid.uuid4().hex[:8]}"})
    tables = synthetic_tables(30, START, DAYS, seed=5, history_start=START - timedelta(days=70))
    stale = tables["silver_customers"][ENTITY_KEY].iloc[0]
    ards = tables["ards"]
    tables["ards"] = ards[(ards[ENTITY_KEY] != stale) | (ards[TIMESERIES_KEY] <= START + timedelta(days=5))]
    tables["silver_churn"] = tables["silver_churn"][tables["silver_churn"][ENTITY_KEY] != stale]
    store = TableStore(spark, settings)
    write_tables(spark, store, tables)
    return settings, store, tables, stale


def test_a_stale_lookup_that_reaches_an_incomplete_row_is_left_out_by_default(spark, warehouse):
    settings, _, _, stale = warehouse
    default = load_training_data(spark, settings, RUN, SMALL)
    assert stale not in set(default.frame[ENTITY_KEY]) and default.frame["window_complete_90d"].all()
    everything = load_training_data(spark, settings, RUN, SMALL.model_copy(update={"incomplete_windows": "include"}))
    assert stale in set(everything.frame[ENTITY_KEY])


def test_a_split_part_without_labeled_rows_is_refused(spark, warehouse):
    """Every customer churns before the test window's as-of dates: no test rows, nothing to evaluate on; or signs
    up on the first validation date: no training rows, although the later parts have some."""
    settings, store, tables, _ = warehouse
    split = load_training_data(spark, settings, RUN, SMALL).split
    everyone = tables["silver_customers"][[ENTITY_KEY]].assign(churn_date=split.test[0] - timedelta(days=1),
                                                                reason="price")
    late = tables["silver_customers"].assign(signup_date=split.validation[0])
    try:
        write_tables(spark, store, {"silver_churn": everyone})
        with pytest.raises(NotEnoughHistory, match=f"^the test split has no labeled rows for run date {RUN}$"):
            load_training_data(spark, settings, RUN, SMALL)
        write_tables(spark, store, {"silver_churn": tables["silver_churn"], "silver_customers": late})
        with pytest.raises(NotEnoughHistory, match=f"^the train split has no labeled rows for run date {RUN}$"):
            load_training_data(spark, settings, RUN, SMALL)
    finally:
        write_tables(spark, store, {"silver_churn": tables["silver_churn"], "silver_customers": tables["silver_customers"]})
