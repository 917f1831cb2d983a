"""Correctness on generated data: the generator's drift scenario (prices of three categories up 35% from
`drift_start`) is flagged in the month after it starts, with the spend columns it affects; clean months and
unaffected columns are not, including a month compared with a champion fitted at the very start of the
history, whose 30- and 90-day window features were computed over a few days of data (issue 19: the drift
job must not read truncated windows as drift). The world starts 2026-01-01, so 90-day windows are complete
from 2026-03-31 on. One generated world for the module: its build is most of the runtime."""

from __future__ import annotations

from datetime import date

import pytest

from lakehouse.core.settings import Settings
from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.pipelines import run_pipeline
from quality.drift.job import detect_drift
from tests.conftest import own_mlflow
from tests.test_drift import CONFIG, local
from tests.test_drift_model import make_champion

SPEND = {"spend_7d", "spend_30d", "spend_90d", "avg_amount_30d", "spend_trend_7d_30d", "monthly_fee"}
DEFAULTS = CONFIG.model_copy(update={"columns": None, "sample_rows": 50_000})
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(spark, base_settings, tmp_path_factory) -> Settings:
    """1,000 customers from 2026-01-01 to 2026-07-31, the drift scenario from 2026-06-10, the ARDS built."""
    root = tmp_path_factory.mktemp("drift_world")
    settings = base_settings.model_copy(update={"storage_root": root / "warehouse", "landing_path": str(root / "landing"),
                                                "schema_name": "drift_world"})
    settings = own_mlflow(local(settings, root), root)
    generate_range(GeneratorConfig(customers=1000, seed=42, drift_start=date(2026, 6, 10)), settings.landing,
                   date(2026, 1, 1), date(2026, 7, 31))
    assert run_pipeline(spark, settings, "offline_features", date(2026, 7, 31), full_refresh=True).ok
    return settings


def test_a_clean_month_is_not_drift(spark, world):
    clean = detect_drift(spark, world, date(2026, 5, 1), DEFAULTS)
    assert clean.drifted_columns == [] and not clean.retrain_recommended


def test_a_clean_month_against_a_champion_fitted_at_the_start_of_the_history_is_not_drift(spark, world):
    make_champion(world, "2026-01-06..2026-02-09", "2026-02-17..2026-02-23")  # as the demo's first model
    result = detect_drift(spark, world, date(2026, 4, 1), DEFAULTS.model_copy(update={"reference": "champion"}))
    assert result.drifted_columns == [] and not result.dataset_drift and not result.retrain_recommended


def test_generator_drift_is_flagged_in_the_month_after_it_starts(spark, world):
    make_champion(world, "2026-04-01..2026-05-06", "2026-05-21..2026-05-27")  # fitted before the drift
    after = detect_drift(spark, world, date(2026, 7, 1), DEFAULTS.model_copy(update={"reference": "champion"}))
    assert after.reference["source"] == "champion training window"
    assert after.retrain_recommended and after.dataset_drift
    assert {"spend_7d", "avg_amount_30d"} <= set(after.drifted_columns) <= SPEND
