"""Correctness on generated data: the generator's drift scenario (prices of three categories up 35% from
`drift_start`) is flagged in the month after it starts, with the spend columns it affects; clean months and
unaffected columns are not. The world starts 2026-01-01, so 90-day windows are complete from April on."""

from __future__ import annotations

from datetime import date

import pytest

from lakehouse.datagen import GeneratorConfig, generate_range
from lakehouse.pipelines import run_pipeline
from quality.drift.job import detect_drift
from tests.test_drift import CONFIG, local
from tests.test_drift_model import make_champion

SPEND = {"spend_7d", "spend_30d", "spend_90d", "avg_amount_30d", "spend_trend_7d_30d", "monthly_fee"}


@pytest.mark.slow
def test_generator_drift_is_flagged_in_the_month_after_it_starts_and_clean_months_are_not(spark, settings, tmp_path):
    settings = local(settings, tmp_path)
    generate_range(GeneratorConfig(customers=1000, seed=42, drift_start=date(2026, 6, 10)), settings.landing,
                   date(2026, 1, 1), date(2026, 7, 31))
    assert run_pipeline(spark, settings, "offline_features", date(2026, 7, 31), full_refresh=True).ok
    config = CONFIG.model_copy(update={"columns": None, "sample_rows": 50_000})

    clean = detect_drift(spark, settings, date(2026, 5, 1), config)
    assert clean.drifted_columns == [] and not clean.retrain_recommended

    make_champion(settings, "2026-04-01..2026-05-06", "2026-05-21..2026-05-27")  # fitted before the drift
    after = detect_drift(spark, settings, date(2026, 7, 1), config.model_copy(update={"reference": "champion"}))
    assert after.reference["source"] == "champion training window"
    assert after.retrain_recommended and after.dataset_drift
    assert {"spend_7d", "avg_amount_30d"} <= set(after.drifted_columns) <= SPEND
