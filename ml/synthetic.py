"""Synthetic ARDS-shaped tables with a known churn signal, for tests and benchmarks at any scale.

The source generator (lakehouse.local.datagen) simulates transactions, which takes long at 100k customers;
this draws the ARDS feature columns directly, per customer and day, with the types of
ml/features/definitions.py. Each customer has a latent risk; churn hazard rises with it, and activity
fades as the churn day approaches, so a model can learn something and a better model wins.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lakehouse.core import table_metadata
from lakehouse.core.declared_schema import parse
from lakehouse.core.source_contract import DOMAINS
from lakehouse.core.storage import TableStore
from ml.feature_store.schemas import ARDS_SCHEMA, MRDS_SCHEMA
from ml.features.definitions import COMPLETENESS, ENTITY_KEY, FEATURES, TIMESERIES_KEY
from ml.training.pipeline import PANDAS_DTYPES

FEES = {"basic": 9.99, "standard": 19.99, "premium": 39.99}
ARDS_DTYPES = {f.name: "Int32" if f.nullable and f.dtype == "int" else PANDAS_DTYPES[f.dtype]  # Spark int with nulls
               for f in FEATURES}


def _customers(rng: np.random.Generator, n: int, start: date) -> pd.DataFrame:
    domains = DOMAINS["customers"]
    plan = rng.choice(domains["plan"], n)
    return pd.DataFrame({
        ENTITY_KEY: [f"S{i:07d}" for i in range(n)],
        "signup_date": [start - timedelta(days=int(d)) for d in rng.integers(30, 1500, n)],
        "plan": plan, "monthly_fee": pd.Series(plan).map(FEES).to_numpy(),
        "region": rng.choice(domains["region"], n), "acquisition_channel": rng.choice(domains["acquisition_channel"], n),
        "birth_year": rng.integers(1950, 2005, n).astype("int32"), "risk": rng.normal(size=n),
    })


def _features(rng: np.random.Generator, rows: pd.DataFrame) -> pd.DataFrame:
    """One ARDS row per (customer, day) in `rows` (with risk, days_to_churn and the profile)."""
    n = len(rows)
    fade = 1.0 - 0.7 * np.exp(-rows["days_to_churn"].to_numpy() / 10.0)
    rate = np.exp(0.8 - 0.4 * rows["risk"].to_numpy()) * fade  # transactions per day
    complaint = 0.02 * np.exp(0.8 * rows["risk"].to_numpy()) / fade
    profile = ("plan", "region", "acquisition_channel", "monthly_fee")
    out: dict[str, pd.Series | np.ndarray] = {name: rows[name] for name in profile}  # then arrays of the windows
    day = pd.to_datetime(rows[TIMESERIES_KEY])
    out["tenure_days"] = (day - pd.to_datetime(rows["signup_date"])).dt.days
    out["age"] = day.dt.year - rows["birth_year"]
    previous: dict[str, np.ndarray] = {}
    for days, extra in ((7, 7), (30, 23), (90, 60)):
        txn = previous.get("txn", 0) + rng.poisson(rate * extra)
        support = previous.get("support", 0) + rng.poisson(complaint * extra + 0.01 * extra)
        cancellation = previous.get("cancellation", 0) + rng.poisson(complaint * extra * 0.5)
        previous.update(txn=txn, support=support, cancellation=cancellation)
        out[f"txn_count_{days}d"] = txn
        out[f"spend_{days}d"] = np.round(txn * rng.gamma(4.0, 12.0, n), 2)
        out[f"active_days_{days}d"] = np.minimum(txn, days)
        out[f"support_contacts_{days}d"] = support
        out[f"cancellation_contacts_{days}d"] = np.minimum(cancellation, support)
        out[f"low_satisfaction_contacts_{days}d"] = rng.binomial(support, 0.3)
        out[f"unresolved_contacts_{days}d"] = rng.binomial(support, 0.2)
    since = np.minimum(rng.geometric(np.minimum(1.0, rate)) - 1, 89).astype("float64")
    out["days_since_last_txn"] = np.where(out["txn_count_90d"] > 0, since, np.nan)
    txn30, spend30 = out["txn_count_30d"].astype("float64"), out["spend_30d"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["avg_amount_30d"] = np.where(txn30 > 0, spend30 / txn30, np.nan)
        out["txn_trend_7d_30d"] = np.where(txn30 > 0, (out["txn_count_7d"] / 7) / (txn30 / 30), np.nan)
        out["spend_trend_7d_30d"] = np.where(spend30 > 0, (out["spend_7d"] / 7) / (spend30 / 30), np.nan)
    frame = pd.DataFrame({k: np.asarray(v) for k, v in out.items()})
    frame.insert(0, TIMESERIES_KEY, rows[TIMESERIES_KEY].to_numpy())
    frame.insert(0, ENTITY_KEY, rows[ENTITY_KEY].to_numpy())
    return frame.astype(ARDS_DTYPES)


def synthetic_tables(customers: int, start: date, days: int, seed: int = 0,
                     feature_dates: list[date] | None = None, history_start: date | None = None) -> dict[str, pd.DataFrame]:
    """silver_customers, silver_churn and ards for `days` days from `start`; ARDS rows only on
    `feature_dates` when given (a benchmark needs just the as-of dates).

    The window features are drawn as full windows, so every row is complete (`window_complete_*` true) unless
    `history_start` is given: then a row's windows are complete by the ARDS's rule for a history from that date
    (a test of what the jobs do with incomplete rows)."""
    rng = np.random.default_rng(seed)
    people = _customers(rng, customers, start)
    hazard = 1 / (1 + np.exp(-(-6.0 + 1.0 * people["risk"].to_numpy())))
    churn_day = rng.geometric(hazard)  # 1 = churns on `start`
    churn = people.loc[churn_day <= days, [ENTITY_KEY]].assign(
        churn_date=[start + timedelta(days=int(d) - 1) for d in churn_day[churn_day <= days]], reason="other")
    dates = feature_dates or [start + timedelta(days=i) for i in range(days)]
    offsets = np.array([(d - start).days + 1 for d in dates])
    grid_customer, grid_day = np.meshgrid(np.arange(customers), np.arange(len(dates)), indexing="ij")
    active = offsets[grid_day] < churn_day[grid_customer]
    rows = people.iloc[grid_customer[active]].reset_index(drop=True)
    rows[TIMESERIES_KEY] = np.asarray(dates, dtype=object)[grid_day[active]]
    rows["days_to_churn"] = churn_day[grid_customer[active]] - offsets[grid_day[active]]
    ards = _features(rng, rows)
    for completeness in COMPLETENESS:
        per_date = {d: history_start is None or completeness.complete(d, history_start) for d in dates}
        ards[completeness.name] = ards[TIMESERIES_KEY].map(per_date).astype(bool)
    return {"silver_customers": people.drop(columns="risk"), "silver_churn": churn, "ards": ards}


DECLARED = {"ards": ARDS_SCHEMA, "mrds": MRDS_SCHEMA}


def write_tables(spark: Any, store: TableStore, tables: dict[str, pd.DataFrame]) -> None:
    """Write pandas frames as Delta tables through Parquet files (no gRPC message size limit)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in tables.items():
            path = Path(tmp) / f"{name}.parquet"
            frame.to_parquet(path, index=False)
            store.overwrite(spark.read.parquet(str(path)), name, partition_by=[TIMESERIES_KEY] if name == "ards" else [])
            if name in DECLARED:  # what the pipeline that writes the real table declares (keys, comments)
                table_metadata.write(store, name, table_metadata.TableDeclaration(parse(DECLARED[name], store.name(name))))
