"""The trended checks' history: a day whose pipeline update failed is no point of it."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from quality.history import RESULTS_TABLE, SCHEMA, read_history

RUN = date(2026, 6, 28)


def row(day: date, check: str, category: str, outcome: str, metric: float | None) -> tuple:
    return ("run", day, "local", "silver_transactions", check, category, "error", outcome, "ok", metric, "", "", "{}",
            datetime.now(timezone.utc))


def test_a_day_whose_update_failed_is_left_out_of_the_trended_history(store):
    days = [RUN - timedelta(days=n) for n in (3, 2, 1)]  # the middle day is the incident
    rows = [row(d, "volume", "volume", "passed", metric) for d, metric in zip(days, (1000.0, 0.0, 990.0))]
    rows += [row(d, "pipeline_update", "expectations", outcome, None)
             for d, outcome in zip(days, ("passed", "failed", "passed"))]
    store.overwrite(store.spark.createDataFrame(rows, SCHEMA), RESULTS_TABLE, partition_by=["run_date"])

    kept = read_history(store, RUN, 28, ("pipeline_update",))[("silver_transactions", "volume")]
    assert [(p.run_date, p.metric) for p in kept] == [(days[0], 1000.0), (days[2], 990.0)]
    every = read_history(store, RUN, 28)[("silver_transactions", "volume")]  # no update check named: every day
    assert [p.metric for p in every] == [1000.0, 0.0, 990.0]
