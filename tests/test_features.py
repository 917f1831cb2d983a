"""ARDS features equal hand-computed values on a tiny dataset, and never use later data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from ml.features.definitions import COMPLETENESS_NAMES, FEATURE_NAMES, Completeness, completeness_for
from ml.features.transforms import ards, customer_daily

D = date.fromisoformat


@pytest.fixture
def sources(spark):
    updates = spark.createDataFrame(
        [
            ("C1", D("2026-01-01"), "basic", 10.0, "north", "web", 1990, "active", datetime(2026, 1, 1, 0, 0)),
            ("C1", D("2026-01-01"), "premium", 30.0, "north", "web", 1990, "active", datetime(2026, 1, 5, 10, 0)),
            ("C2", D("2026-01-03"), "standard", 20.0, "south", "store", 2000, "active", datetime(2026, 1, 3, 9, 0)),
            ("C3", D("2026-01-01"), "basic", 10.0, "east", "partner", 1980, "active", datetime(2026, 1, 1, 0, 0)),
            ("C4", D("2026-01-06"), "basic", 10.0, "east", "partner", 1980, "active", datetime(2026, 1, 6, 0, 0)),
        ],
        "customer_id string, signup_date date, plan string, monthly_fee double, region string, "
        "acquisition_channel string, birth_year int, status string, updated_at timestamp",
    )
    tx = spark.createDataFrame(
        [
            ("C1", D("2025-12-29"), 1.0),
            ("C1", D("2026-01-01"), 10.0),
            ("C1", D("2026-01-01"), 5.0),
            ("C1", D("2026-01-04"), 20.0),
            ("C1", D("2026-01-06"), 7.0),  # after the last feature date: must never count
            ("C2", D("2026-01-03"), 100.0),
            ("C3", D("2026-01-02"), 50.0),
        ],
        "customer_id string, event_date date, amount double",
    )
    support = spark.createDataFrame(
        [("C1", D("2026-01-02"), "cancellation", 1, False), ("C2", D("2026-01-06"), "billing", 5, True)],
        "customer_id string, event_date date, topic string, satisfaction int, resolved boolean",
    )
    churn = spark.createDataFrame([("C3", D("2026-01-04"))], "customer_id string, churn_date date")
    return updates, tx, support, churn


def _ards(sources, start, end):
    updates, tx, support, churn = sources
    daily = customer_daily(tx, support, D("2025-10-01"), D("2026-01-31"))
    rows = ards(daily, updates, churn, start, end).collect()
    return {(r.customer_id, r.feature_date.isoformat()): r.asDict() for r in rows}


def test_customer_daily_counts_per_day(spark, sources):
    _, tx, support, _ = sources
    daily = {(r.customer_id, r.activity_date.isoformat()): r for r in
             customer_daily(tx, support, D("2026-01-01"), D("2026-01-02")).collect()}
    assert set(daily) == {("C1", "2026-01-01"), ("C1", "2026-01-02"), ("C3", "2026-01-02")}
    assert (daily[("C1", "2026-01-01")].txn_count, daily[("C1", "2026-01-01")].spend) == (2, 15.0)
    c1 = daily[("C1", "2026-01-02")]
    assert (c1.txn_count, c1.support_contacts, c1.cancellation_contacts, c1.low_satisfaction_contacts,
            c1.unresolved_contacts) == (0, 1, 1, 1, 1)


def test_ards_matches_hand_computed_values(spark, sources):
    got = _ards(sources, D("2026-01-04"), D("2026-01-05"))
    # C3 churned on 01-04 and C4 signs up on 01-06: neither is in the ARDS for these dates.
    assert set(got) == {("C1", "2026-01-04"), ("C1", "2026-01-05"), ("C2", "2026-01-04"), ("C2", "2026-01-05")}
    c1 = got[("C1", "2026-01-05")]
    assert list(c1) == ["customer_id", "feature_date", *FEATURE_NAMES, *COMPLETENESS_NAMES]
    assert (c1["plan"], c1["monthly_fee"], c1["tenure_days"], c1["age"]) == ("premium", 30.0, 4, 36)
    # 7-day window of 01-05 is 12-30..01-05: the 12-29 transaction falls out, the 30-day window keeps it.
    assert (c1["txn_count_7d"], c1["spend_7d"], c1["txn_count_30d"], c1["spend_30d"]) == (3, 35.0, 4, 36.0)
    assert (c1["active_days_7d"], c1["active_days_30d"], c1["days_since_last_txn"]) == (2, 3, 1)
    assert (c1["support_contacts_7d"], c1["cancellation_contacts_30d"], c1["low_satisfaction_contacts_90d"],
            c1["unresolved_contacts_7d"]) == (1, 1, 1, 1)
    assert c1["avg_amount_30d"] == pytest.approx(9.0)
    assert c1["txn_trend_7d_30d"] == pytest.approx((3 / 7) / (4 / 30))
    assert c1["spend_trend_7d_30d"] == pytest.approx((35 / 7) / (36 / 30))
    c1_before = got[("C1", "2026-01-04")]
    assert (c1_before["plan"], c1_before["txn_count_7d"], c1_before["spend_7d"], c1_before["days_since_last_txn"]) == (
        "basic", 4, 36.0, 0)
    c2 = got[("C2", "2026-01-05")]
    assert (c2["tenure_days"], c2["txn_count_90d"], c2["days_since_last_txn"], c2["support_contacts_90d"]) == (2, 1, 2, 0)


def test_no_customer_without_transactions_gets_a_recency(spark, sources):
    updates, tx, support, churn = sources
    only_support = tx.where("customer_id = 'nobody'")
    daily = customer_daily(only_support, support, D("2025-10-01"), D("2026-01-31"))
    rows = ards(daily, updates, churn, D("2026-01-05"), D("2026-01-05")).collect()
    assert {r.customer_id for r in rows} == {"C1", "C2"}
    assert all(r.days_since_last_txn is None and r.txn_count_90d == 0 and r.avg_amount_30d is None for r in rows)


def test_later_data_never_changes_earlier_feature_dates(spark, sources):
    updates, tx, support, churn = sources
    before = _ards(sources, D("2026-01-04"), D("2026-01-05"))
    later_tx = tx.union(spark.createDataFrame([("C1", D("2026-01-07"), 999.0)], tx.schema))
    later_updates = updates.union(spark.createDataFrame(
        [("C1", D("2026-01-01"), "basic", 5.0, "west", "web", 1990, "active", datetime(2026, 1, 8))], updates.schema))
    later_churn = churn.union(spark.createDataFrame([("C2", D("2026-01-09"))], churn.schema))
    after = _ards((later_updates, later_tx, support, later_churn), D("2026-01-04"), D("2026-01-05"))
    assert after == before


def test_open_bounds_compute_every_date_of_the_data(spark, sources):
    updates, tx, support, churn = sources
    daily = customer_daily(tx, support)
    rows = ards(daily, updates, churn).collect()
    dates = sorted({r.feature_date.isoformat() for r in rows})
    assert dates[0] == "2026-01-01" and dates[-1] == "2026-01-06"  # first and last activity date
    bounded = _ards(sources, D("2026-01-04"), D("2026-01-05"))
    full = {(r.customer_id, r.feature_date.isoformat()): r.asDict() for r in rows}
    assert {k: full[k] for k in bounded} == bounded


def test_a_daily_update_s_few_dates_equal_the_full_recompute_of_those_dates(spark):
    """The bucket plan (a daily update: bounded, few dates) gives exactly the pair plan's rows (full refresh),
    also at every window edge: activity 6/7, 29/30 and 89/90 days before a feature date, gaps, support-only days,
    negative and zero amounts. Amounts are multiples of 0.25, so every sum is exact in any order."""
    import random

    rng = random.Random(7)
    first = D("2025-09-01")
    days = [first + timedelta(days=i) for i in range(130)]
    customers = [f"C{i}" for i in range(12)]
    tx, support = [], []
    for n, c in enumerate(customers):
        active = [d for d in days if rng.random() < (0.05, 0.3, 0.9)[n % 3]]
        tx += [(c, d, rng.choice((-2.5, 0.0, 0.25, 7.75, 40.0))) for d in active for _ in range(rng.randint(1, 3))]
        support += [(c, d, rng.choice(("billing", "cancellation")), rng.randint(1, 5), rng.random() < 0.5)
                    for d in days if rng.random() < 0.1]
    end = days[-1]
    edges = [end - timedelta(days=a) for a in (6, 7, 29, 30, 89, 90, 91, 92)]
    tx += [("C0", d, 1.25) for d in edges] + [("C1", end - timedelta(days=95), 3.0)]  # C1's only old transaction
    updates = spark.createDataFrame(
        [(c, first, "basic", 10.0, "north", "web", 1990, "churned" if c == "C5" else "active", datetime(2025, 9, 1))
         for c in customers],
        "customer_id string, signup_date date, plan string, monthly_fee double, region string, "
        "acquisition_channel string, birth_year int, status string, updated_at timestamp",
    )
    churn = spark.createDataFrame([("C4", end - timedelta(days=1))], "customer_id string, churn_date date")
    daily = customer_daily(
        spark.createDataFrame(tx, "customer_id string, event_date date, amount double"),
        spark.createDataFrame(support, "customer_id string, event_date date, topic string, satisfaction int, "
                                       "resolved boolean"),
    )
    full = {(r.customer_id, r.feature_date): r.asDict() for r in ards(daily, updates, churn).collect()}
    for start, stop in [(end, end), (end - timedelta(days=2), end), (end - timedelta(days=6), end),
                        (days[0], days[2]), (days[95], days[97])]:
        bounded = {(r.customer_id, r.feature_date): r.asDict() for r in ards(daily, updates, churn, start, stop).collect()}
        expected = {k: v for k, v in full.items() if start <= k[1] <= stop}
        assert len(expected) >= 10 * ((stop - start).days + 1)
        assert bounded == expected, (start, stop)


@pytest.mark.parametrize(("feature_date", "window_days", "complete"), [
    ("2026-01-01", 1, True),    # the history's first day holds a whole 1-day window
    ("2026-01-06", 7, False),   # 12-31..01-06: one day before the history
    ("2026-01-07", 7, True),    # 01-01..01-07: exactly the first 7 days
    ("2026-01-30", 30, True),
    ("2026-01-29", 30, False),
    ("2026-03-31", 90, True),   # 01-01 + 89 days
    ("2026-03-30", 90, False),
])
def test_a_window_is_complete_exactly_when_all_its_days_are_inside_the_history(feature_date, window_days, complete):
    assert Completeness(window_days).complete(D(feature_date), D("2026-01-01")) is complete


def test_completeness_comes_from_the_data_s_first_activity_date_not_the_customer_s_tenure(spark, sources):
    """The history starts at the first activity of the data (C1's 12-29 transaction): the 7-day window of 01-04
    (12-29..01-04) is complete, that of 01-03 is not; C2, signed up on 01-03, has the same completeness as C1
    (before signup there is no activity, which is the true value). The bucket plan (a bounded update) and the
    pair plan (full refresh) agree, and no 30- or 90-day window is complete in a week of history."""
    updates, tx, support, churn = sources
    daily = customer_daily(tx, support)
    full = {(r.customer_id, r.feature_date.isoformat()): r.asDict() for r in ards(daily, updates, churn).collect()}
    bounded = _ards(sources, D("2026-01-03"), D("2026-01-05"))
    assert {k: full[k] for k in bounded} == bounded
    expected_7d = {"2026-01-01": False, "2026-01-02": False, "2026-01-03": False, "2026-01-04": True,
                   "2026-01-05": True, "2026-01-06": True}
    for (customer, day), row in full.items():
        assert row["window_complete_7d"] is expected_7d[day], (customer, day)
        assert row["window_complete_30d"] is False and row["window_complete_90d"] is False
    assert full[("C2", "2026-01-04")]["window_complete_7d"] is full[("C1", "2026-01-04")]["window_complete_7d"] is True
    assert list(bounded[("C1", "2026-01-05")])[-len(COMPLETENESS_NAMES):] == list(COMPLETENESS_NAMES)


def test_the_completeness_covering_a_feature_set_is_that_of_its_longest_window():
    assert completeness_for(["txn_count_7d", "plan"]).name == "window_complete_7d"
    assert completeness_for(["avg_amount_30d", "spend_7d"]).name == "window_complete_30d"  # derived from 30-day sums
    assert completeness_for(FEATURE_NAMES).name == "window_complete_90d"
    assert completeness_for(["plan", "tenure_days"]) is None
