"""The label spine: (customer, as-of date, churned within the horizon), using only data up to the run date.

A row for as-of date D exists for each customer signed up and not churned at the end of D (the same
population the MRDS scores), and `churned` = a churn date in (D, D + horizon]. Only as-of dates whose
horizon has fully passed by the run date are used (D + horizon <= run_date), and churn rows after the
run date are ignored, so a rerun or backfill for an old date sees exactly what that day could see.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.core.job_settings import TrainingSettings
from ml.errors import NotEnoughHistory
from ml.features.definitions import AS_OF, ENTITY_KEY

LABEL = "churned"


def as_of_dates(first_feature_date: date, run_date: date, cfg: TrainingSettings) -> list[date]:
    """Matured as-of dates, every `as_of_every_days` counted back from run_date - horizon, within the window."""
    last = run_date - timedelta(days=cfg.horizon_days)
    first = max(first_feature_date, run_date - timedelta(days=cfg.window_days))
    if last < first:
        raise NotEnoughHistory(
            f"no as-of date with a matured {cfg.horizon_days}-day label: features start {first_feature_date}, "
            f"the run date {run_date} allows as-of dates up to {last}"
        )
    steps = (last - first).days // cfg.as_of_every_days
    return [last - timedelta(days=i * cfg.as_of_every_days) for i in range(steps, -1, -1)]


def labeled_spine(customers: DataFrame, churn: DataFrame, dates: list[date], horizon_days: int,
                  run_date: date) -> DataFrame:
    """(customer_id, as_of_date, churned) for the customers active at the end of each as-of date."""
    if max(dates) + timedelta(days=horizon_days) > run_date:
        raise NotEnoughHistory(f"as-of date {max(dates)} has no matured label at {run_date}")
    spark = customers.sparkSession
    as_of = spark.createDataFrame([(d,) for d in dates], f"{AS_OF} date")
    known_churn = churn.where(F.col("churn_date") <= F.lit(run_date)).select(ENTITY_KEY, "churn_date")
    return (
        customers.select(ENTITY_KEY, "signup_date")
        .join(as_of, F.col("signup_date") <= F.col(AS_OF))
        .join(known_churn, ENTITY_KEY, "left")
        .where(F.col("churn_date").isNull() | (F.col("churn_date") > F.col(AS_OF)))
        .select(
            ENTITY_KEY,
            AS_OF,
            (F.col("churn_date").isNotNull() & (F.col("churn_date") <= F.date_add(AS_OF, horizon_days)))
            .cast("int")
            .alias(LABEL),
        )
    )
