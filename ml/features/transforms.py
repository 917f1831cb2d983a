"""The offline feature computations as plain DataFrame functions (no I/O, no `dlt`), so they run
unchanged inside the DLT pipeline, on Databricks, and in the engine parity tests.

Cost stays flat in history: a day's update aggregates only the new dates into `customer_daily`
and reads `LOOKBACK_DAYS` of it for the ARDS, never the raw transactions of the whole window.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ml.features.definitions import (
    ATTRIBUTES,
    COMPLETENESS,
    DERIVED,
    LOOKBACK_DAYS,
    WINDOW_FEATURES,
    Completeness,
    WindowFeature,
)

DAILY_METRICS = ("txn_count", "spend", "support_contacts", "cancellation_contacts",
                 "low_satisfaction_contacts", "unresolved_contacts")
BUCKET_PLAN_MAX_DATES = 7  # a daily update computes 1 + late_arrival_days dates
AGE = re.compile(r"\bage\b")
HISTORY_START = "history_start"
PROFILE_COLUMNS = ("signup_date", "plan", "monthly_fee", "region", "acquisition_channel", "birth_year", "status")


def _between(df: DataFrame, column: str, start: date | None, end: date | None) -> DataFrame:
    """Rows with `column` in [start, end]; an open bound (None) does not filter."""
    if start is not None:
        df = df.where(F.col(column) >= F.lit(start))
    if end is not None:
        df = df.where(F.col(column) <= F.lit(end))
    return df


def customer_daily(transactions: DataFrame, support: DataFrame, start: date | None = None,
                   end: date | None = None) -> DataFrame:
    """Per customer and activity date in [start, end] (all dates when open): counts and sums.

    `transactions` and `support` are the deduplicated silver tables (with `event_date`).
    """
    tx = (
        _between(transactions, "event_date", start, end)
        .groupBy("customer_id", F.col("event_date").alias("activity_date"))
        .agg(F.count(F.lit(1)).alias("txn_count"), F.sum("amount").alias("spend"))
    )
    sup = (
        _between(support, "event_date", start, end)
        .groupBy("customer_id", F.col("event_date").alias("activity_date"))
        .agg(
            F.count(F.lit(1)).alias("support_contacts"),
            F.count(F.when(F.col("topic") == "cancellation", 1)).alias("cancellation_contacts"),
            F.count(F.when(F.col("satisfaction") <= 2, 1)).alias("low_satisfaction_contacts"),
            F.count(F.when(~F.col("resolved"), 1)).alias("unresolved_contacts"),
        )
    )
    joined = tx.join(sup, ["customer_id", "activity_date"], "full_outer")
    return joined.select(
        "customer_id",
        "activity_date",
        *[
            F.coalesce(F.col(m), F.lit(0.0 if m == "spend" else 0)).cast("double" if m == "spend" else "bigint").alias(m)
            for m in DAILY_METRICS
        ],
    )


def feature_dates(daily: DataFrame, start: date | None, end: date | None) -> DataFrame:
    """One row per feature date in [start, end], never before the first nor after the last activity date,
    with the first activity date as `history_start` (where the data history begins).

    Open bounds are the first/last activity date, so an update bounded by the drops it ingested yields the
    same dates as a full refresh, and as the unbounded materialized view on Databricks (a drop holding no
    activity of its own day, e.g. only late records, adds no feature date there either). `daily` must be the
    whole of `customer_daily`: its first activity date is the history start on both sides, and it can only
    move within the dates an update recomputes (late records are at most the late-arrival window late).
    """
    first, last = F.min("activity_date"), F.max("activity_date")
    lo = F.greatest(F.lit(start).cast("date"), first) if start else first
    hi = F.least(F.lit(end).cast("date"), last) if end else last
    bounds = daily.agg(lo.alias("lo"), hi.alias("hi"), first.alias(HISTORY_START))
    return bounds.select(F.explode(F.sequence("lo", "hi")).alias("feature_date"), HISTORY_START)


def window_complete(completeness: Completeness) -> Column:
    """True when the window's first day, feature_date - (days - 1), is on or after `history_start`; false
    without any activity yet (a bounded update over customers only): nothing shows the window is covered."""
    first_day = F.date_sub(F.col("feature_date"), completeness.window_days - 1)
    return F.coalesce(first_day >= F.col(HISTORY_START), F.lit(False)).alias(completeness.name)


def profiles_as_of(customer_updates: DataFrame, dates: DataFrame) -> DataFrame:
    """Each customer's latest profile change made on or before each feature date (point in time)."""
    candidates = customer_updates.join(dates, F.to_date("updated_at") <= F.col("feature_date"))
    latest = Window.partitionBy("customer_id", "feature_date").orderBy(F.col("updated_at").desc())
    return (
        candidates.withColumn("_rank", F.row_number().over(latest))
        .where("_rank = 1")
        .select("customer_id", "feature_date", *PROFILE_COLUMNS)
    )


def active_spine(customer_updates: DataFrame, churn: DataFrame, dates: DataFrame) -> DataFrame:
    """Customers signed up and not churned at the end of each feature date, with their profile then."""
    profiles = profiles_as_of(customer_updates, dates)
    churned = churn.select("customer_id", "churn_date")
    return (
        profiles.where((F.col("signup_date") <= F.col("feature_date")) & (F.col("status") != "churned"))
        .join(churned, "customer_id", "left")
        .where(F.col("churn_date").isNull() | (F.col("churn_date") > F.col("feature_date")))
        .drop("churn_date", "status")
    )


def ards(daily: DataFrame, customer_updates: DataFrame, churn: DataFrame, start: date | None = None,
         end: date | None = None) -> DataFrame:
    """The ARDS rows for feature dates in [start, end]: one per active customer and date, with the
    features and, per window length, whether the window lies inside the data history (`COMPLETENESS`).

    Open bounds mean every date `daily` covers (what a full refresh computes). With a bound,
    `daily` must be all of `customer_daily` (its first date is the history start); only
    [start - LOOKBACK_DAYS + 1, end] of it is aggregated.
    A daily update's few dates take the bucket plan (cost: customers x lookback days, once);
    many dates take the pair plan. Both give the same rows (tests compare them).
    """
    dates = feature_dates(daily, start, end)
    spine = active_spine(customer_updates, churn, dates.select("feature_date"))
    lookback_start = start - timedelta(days=LOOKBACK_DAYS - 1) if start else None
    history = _between(daily, "activity_date", lookback_start, end)
    if start is not None and end is not None and (end - start).days < BUCKET_PLAN_MAX_DATES:
        windows = _windows_by_buckets(history, start, end)
    else:
        windows = _windows_by_pairs(spine, history)
    zero_when_empty = [
        (F.coalesce(F.col(f.name), F.lit(0)) if f.agg == "sum" else F.col(f.name)).cast(f.dtype).alias(f.name)
        for f in WINDOW_FEATURES
    ]
    base = spine.join(windows, ["customer_id", "feature_date"], "left").select(
        "customer_id", "feature_date", *[F.expr(f.expr).cast(f.dtype).alias(f.name) for f in ATTRIBUTES], *zero_when_empty
    )
    with_derived = base.select("*", *[F.expr(f.expr).cast(f.dtype).alias(f.name) for f in DERIVED])
    return with_derived.join(F.broadcast(dates), "feature_date").select(
        "customer_id", "feature_date", *[f.name for f in (*ATTRIBUTES, *WINDOW_FEATURES, *DERIVED)],
        *[window_complete(c) for c in COMPLETENESS],
    )


def _windows_by_pairs(spine: DataFrame, history: DataFrame) -> DataFrame:
    """Window features per spine row: the spine joined with its lookback's daily rows, one conditional aggregate.

    On Sail an order of magnitude faster than range window functions; its cost is customers x feature
    dates x active days in the lookback, so it suits a full refresh, where every date is computed anyway.
    """
    pairs = (
        spine.select("customer_id", "feature_date")
        .join(history, "customer_id")
        .where((F.col("activity_date") <= F.col("feature_date")) & (F.col("activity_date") > F.date_sub("feature_date", LOOKBACK_DAYS)))
        .withColumn("age", F.datediff("feature_date", "activity_date"))
    )
    aggregates = [
        getattr(F, f.agg)(F.when(F.col("age") < f.window_days, F.expr(f.expr))).alias(f.name) for f in WINDOW_FEATURES
    ]
    return pairs.groupBy("customer_id", "feature_date").agg(*aggregates)


def _windows_by_buckets(history: DataFrame, start: date, end: date) -> DataFrame:
    """Window features of the few feature dates in [start, end], reading each lookback row once.

    Ages count back from `end`; the date k days before `end` has the windows [k, k + days) of ages. Cutting
    the ages at every window edge of every date gives disjoint buckets: one pass of plain aggregates per
    (customer, bucket), buckets spread into columns per customer, and each window is the sum (or min) of its
    buckets; an age-valued min shifts by k. The pair plan re-reads every row once per date: at 3 dates and a
    60-day lookback (100k customers) this plan measured 2-3x faster on Sail.
    """
    dates = (end - start).days + 1
    edges = sorted({k + w for k in range(dates) for w in (0, *(f.window_days for f in WINDOW_FEATURES))})
    parts = list(dict.fromkeys((f.expr, f.agg) for f in WINDOW_FEATURES))
    if any(agg != "min" and AGE.search(expr) for expr, agg in parts):
        raise ValueError("only min window features may use `age`: a sum over buckets cannot shift it per date")
    bucket = F.lit(len(edges) - 2)
    for j in range(len(edges) - 2, 0, -1):
        bucket = F.when(F.col("age") < edges[j], F.lit(j - 1)).otherwise(bucket)
    per_bucket = (
        history.withColumn("age", F.datediff(F.lit(end), F.col("activity_date")))
        .groupBy("customer_id", bucket.alias("_bucket"))
        .agg(*[getattr(F, agg)(F.expr(expr)).alias(f"_p{i}") for i, (expr, agg) in enumerate(parts)])
    )
    spread = per_bucket.groupBy("customer_id").agg(*[
        getattr(F, agg)(F.when(F.col("_bucket") == j, F.col(f"_p{i}"))).alias(f"_p{i}_{j}")
        for i, (_, agg) in enumerate(parts) for j in range(len(edges) - 1)
    ])

    def window(feature: WindowFeature, k: int) -> Column:
        i = parts.index((feature.expr, feature.agg))
        cells = [F.col(f"_p{i}_{j}") for j in range(len(edges) - 1) if k <= edges[j] and edges[j + 1] <= k + feature.window_days]
        if feature.agg == "sum":
            return reduce(lambda acc, c: acc + F.coalesce(c, F.lit(0)), cells, F.lit(0))
        shift = k if AGE.search(feature.expr) else 0
        return (F.least(*cells) if len(cells) > 1 else cells[0]) - F.lit(shift)

    rows = [
        F.struct(F.lit(end - timedelta(days=k)).alias("feature_date"), *[window(f, k).alias(f.name) for f in WINDOW_FEATURES])
        for k in range(dates)
    ]
    return spread.select("customer_id", F.explode(F.array(*rows)).alias("_w")).select("customer_id", "_w.*")
