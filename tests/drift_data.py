"""A small ARDS-shaped table for the drift tests: per-customer levels plus daily noise, optionally shifted."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from lakehouse.core.storage import TableStore
from ml.features.definitions import COMPLETENESS_NAMES

COLUMNS = ["plan", "monthly_fee", "spend_30d", "txn_count_30d", "avg_amount_30d"]
PLANS = ["basic", "standard", "premium"]


def ards_frame(start: date, days: int, customers: int = 150, seed: int = 1, spend_factor: float = 1.0,
               plan_shares: tuple[float, ...] = (0.5, 0.35, 0.15)) -> pd.DataFrame:
    """One row per (customer, day); `spend_factor` and `plan_shares` shift the distribution (drift)."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, 400.0, customers)
    plan = rng.choice(PLANS, customers, p=plan_shares)
    rows = []
    for i in range(days):
        noise = rng.normal(1.0, 0.05, customers)
        spend = base * noise * spend_factor
        count = np.maximum(1, (base * noise / 40).round()).astype("int64")
        rows.append(pd.DataFrame({
            "customer_id": [f"C{n:07d}" for n in range(customers)], "feature_date": start + timedelta(days=i),
            "plan": plan, "monthly_fee": np.select([plan == p for p in PLANS], [9.99, 19.99, 34.99]),
            "spend_30d": spend, "txn_count_30d": count, "avg_amount_30d": spend / count,
            **dict.fromkeys(COMPLETENESS_NAMES, True),  # a long history: every window complete
        }))
    return pd.concat(rows, ignore_index=True)


def write_ards(store: TableStore, *frames: pd.DataFrame, table: str = "ards") -> None:
    data = pd.concat(frames, ignore_index=True)
    store.overwrite(store.spark.createDataFrame(data), table, partition_by=["feature_date"])
