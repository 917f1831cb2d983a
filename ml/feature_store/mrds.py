"""The MRDS (Model Ready Data Set): each active customer's latest ARDS row as of a date, as the model takes it.

Population: the customers active at the end of the as-of date (signed up, not churned), computed from
the silver tables independently of the ARDS, so a customer missing from the ARDS shows up as a row
without features instead of silently disappearing. Each gets its latest ARDS row from the
`SEARCH_DAYS` before the as-of date, typed as ml/features/definitions.py declares.

Model contract on nulls: nothing is filled. The features in `NULLABLE` (ml/features/definitions.py) are null by definition when there
is no activity (e.g. no transaction in 30 days has no average amount), the training set carries the
same nulls from the ARDS, and the model's own pipeline imputes them; filling them here would make
scoring inputs differ from training inputs. Every other feature must be present.

Window completeness (`window_complete_<days>d`) comes with the ARDS row: it is not a reason to drop a row,
since a new warehouse has only incomplete rows for its first months; scoring scores and flags them.

Expectations: rows the model cannot score correctly are dropped and counted (`drop_rules`: key present,
features found, fresh, complete); implausible values are counted but kept (`warn_rules`), since the ARDS
rules already flag them upstream and dropping would silently remove customers from scoring.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.core.source_contract import DOMAINS
from ml.features.definitions import (
    AS_OF,
    COMPLETENESS_NAMES,
    ENTITY_KEY,
    FEATURE_NAMES,
    FEATURES,
    LOOKBACK_DAYS,
    NULLABLE,
    TIMESERIES_KEY,
)
from ml.features.transforms import active_spine

SEARCH_DAYS = 7  # how far back a customer's latest row is looked for; older counts as not found
REQUIRED = tuple(name for name in FEATURE_NAMES if name not in NULLABLE)
COLUMNS = {
    ENTITY_KEY: "customer identifier (primary key)",
    AS_OF: "the date the row is model-ready for: features as of the end of this day",
    TIMESERIES_KEY: "the ARDS feature_date the features come from (equals as_of_date when fresh)",
}
DESCRIPTION = (
    "Model Ready Data Set: the latest model-ready feature row per active customer as of as_of_date, "
    f"primary key {ENTITY_KEY}; published to the online store."
)


def drop_rules(max_staleness_days: int = 0) -> dict[str, str]:
    """Rules whose failing rows cannot be scored; a NULL result passes, hence the explicit IS NOT NULL."""
    return {
        "customer_id_present": f"{ENTITY_KEY} IS NOT NULL",
        "features_found": f"{TIMESERIES_KEY} IS NOT NULL",
        "features_fresh": f"{TIMESERIES_KEY} >= date_sub({AS_OF}, {int(max_staleness_days)})",
        "required_features_present": " AND ".join(f"{name} IS NOT NULL" for name in REQUIRED),
    }


def warn_rules() -> dict[str, str]:
    """Plausible value ranges, one rule per feature that has one (NULL passes)."""
    domains = DOMAINS["customers"]
    rules = {f"{c}_known": f"{c} IN ({', '.join(repr(v) for v in domains[c])})" for c in ("plan", "region", "acquisition_channel")}
    rules.update({"monthly_fee_not_negative": "monthly_fee >= 0", "tenure_not_negative": "tenure_days >= 0",
                  "age_plausible": "age BETWEEN 0 AND 120",
                  "days_since_last_txn_in_lookback": f"days_since_last_txn BETWEEN 0 AND {LOOKBACK_DAYS - 1}",
                  "trends_not_negative": "txn_trend_7d_30d >= 0 AND spend_trend_7d_30d >= 0"})
    for feature in FEATURES:
        if feature.kind == "window":
            upper = f" AND {feature.name} <= {feature.window_days}" if feature.name.startswith("active_days") else ""
            rules[f"{feature.name}_in_range"] = f"{feature.name} >= 0{upper}"
    return rules


def model_ready(ards: DataFrame, customer_updates: DataFrame, churn: DataFrame, as_of: date | None) -> DataFrame:
    """The MRDS rows as of `as_of` (None: the latest ARDS feature_date), before expectations."""
    if as_of is None:
        as_of_frame = ards.agg(F.max(TIMESERIES_KEY).alias(AS_OF))
    else:
        as_of_frame = ards.sparkSession.range(1).select(F.lit(as_of).alias(AS_OF))
        ards = ards.where(F.col(TIMESERIES_KEY).between(as_of - timedelta(days=SEARCH_DAYS), as_of))
    active = active_spine(customer_updates, churn, as_of_frame.select(F.col(AS_OF).alias(TIMESERIES_KEY)))
    in_window = ards.crossJoin(as_of_frame).where(
        F.col(TIMESERIES_KEY).between(F.date_sub(F.col(AS_OF), SEARCH_DAYS), F.col(AS_OF))
    )
    newest_first = Window.partitionBy(ENTITY_KEY).orderBy(F.col(TIMESERIES_KEY).desc())
    latest = in_window.withColumn("_rank", F.row_number().over(newest_first)).where("_rank = 1")
    rows = active.select(ENTITY_KEY, F.col(TIMESERIES_KEY).alias(AS_OF)).join(
        latest.select(ENTITY_KEY, TIMESERIES_KEY, *FEATURE_NAMES, *COMPLETENESS_NAMES), ENTITY_KEY, "left"
    )
    return rows.select(ENTITY_KEY, AS_OF, TIMESERIES_KEY, *[F.col(f.name).cast(f.dtype).alias(f.name) for f in FEATURES],
                       *COMPLETENESS_NAMES)
