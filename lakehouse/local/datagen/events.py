"""The observable events of one day, drawn from that day's latent state.

Why: this is where behaviour becomes data. Risk lowers a customer's transaction rate and spend,
and raises support contacts, the share of billing and cancellation topics, unresolved contacts
and low ratings. Each source draws from its own stream of the day, so one source's volume
never shifts another's values. Frames hold codes and integers; render.py makes text of them.
"""

from __future__ import annotations

import numpy as np

from lakehouse.local.datagen import drift
from lakehouse.local.datagen.config import GeneratorConfig
from lakehouse.local.datagen.rng import Stream, categorical, choose, day_rng
from lakehouse.local.datagen.table import EPOCH_ORDINAL, Table, take
from lakehouse.local.datagen.world import DayState

ID_SEQUENCE = 10**8  # event ids are <yyyymmdd><8-digit sequence of the day>

WEEKDAY_FACTOR = np.array([0.92, 0.94, 0.96, 1.00, 1.10, 1.25, 0.83])  # Monday..Sunday, mean 1
HOUR_SHARES = np.array(
    [1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 3.5, 4.0, 4.2, 4.8,
     5.5, 5.0, 4.5, 4.3, 4.6, 5.2, 6.0, 6.0, 5.0, 3.8, 2.6, 1.6]
)  # fmt: skip

TX_RISK_EFFECT = 0.8  # rate factor exp(-effect * risk)
TX_RATE_SCALE = 0.94  # offsets the base's mean exp(-effect * risk) (measured): volume ~ customers x rate
SPEND_RISK_EFFECT = 0.1
CATEGORY_SHARES = np.array([0.35, 0.08, 0.17, 0.05, 0.15, 0.20])
CATEGORY_MEDIAN_CENTS = np.array([2800, 18000, 5500, 24000, 2500, 4500])
AMOUNT_SPREAD = 0.6  # sd of log amount within a category
PAYMENT_SHARES = np.array([0.6, 0.3, 0.1])

SUPPORT_BASE_RATE = 0.004  # contacts per customer-day at zero risk
SUPPORT_RISK_EFFECT = 0.9
SUPPORT_CHANNEL_SHARES = np.array([0.35, 0.30, 0.35])
TOPIC_SHARES = np.array([0.25, 0.35, 0.08, 0.32])  # billing, technical, cancellation, other
TOPIC_RISK_EFFECT = np.array([0.5, 0.0, 1.2, 0.0])
P_UNRATED = 0.35


def transactions(config: GeneratorConfig, state: DayState) -> Table:
    """Purchases of active customers, in event-time order, with their ids."""
    rng = day_rng(config.seed, state.day, Stream.TRANSACTIONS)
    rate = (
        config.transactions_per_customer_day
        * TX_RATE_SCALE
        * state.base_rate
        * np.exp(-TX_RISK_EFFECT * state.risk)
        * WEEKDAY_FACTOR[state.day.weekday()]
    )
    counts = rng.poisson(rate)
    customer = np.repeat(state.active, counts)
    risk = np.repeat(state.risk, counts)
    n = len(customer)
    second = _seconds_of_day(rng, n)
    category = categorical(rng, CATEGORY_SHARES, n)
    log_spread = AMOUNT_SPREAD * rng.standard_normal(n) - SPEND_RISK_EFFECT * risk
    cents = CATEGORY_MEDIAN_CENTS[category] * drift.amount_multipliers(config, state.day)[category]
    cents = np.maximum(1, np.rint(cents * np.exp(log_spread))).astype(np.int64)
    channel = categorical(rng, drift.channel_shares(config, state.day), n)
    payment = categorical(rng, PAYMENT_SHARES, n)
    order = np.argsort(second, kind="stable")
    events = {
        "customer": customer,
        "event_time": _epoch_seconds(state, second),
        "category": category,
        "cents": cents,
        "channel": channel,
        "payment": payment,
    }
    return {"id": _ids(state, n), **take(events, order)}


def support(config: GeneratorConfig, state: DayState) -> Table:
    """Support contacts of active customers, in event-time order; satisfaction -1 = unrated."""
    rng = day_rng(config.seed, state.day, Stream.SUPPORT)
    counts = rng.poisson(SUPPORT_BASE_RATE * np.exp(SUPPORT_RISK_EFFECT * state.risk))
    customer = np.repeat(state.active, counts)
    risk = np.repeat(state.risk, counts)
    n = len(customer)
    second = _seconds_of_day(rng, n)
    channel = categorical(rng, SUPPORT_CHANNEL_SHARES, n)
    topic = choose(rng, TOPIC_SHARES * np.exp(np.outer(risk, TOPIC_RISK_EFFECT)))
    resolved = rng.random(n) < 1 / (1 + np.exp(-(1.5 - 0.7 * risk)))
    rating = np.clip(np.rint(3.8 - 0.8 * risk + 0.9 * rng.standard_normal(n)), 1, 5).astype(np.int64)
    satisfaction = np.where(rng.random(n) < P_UNRATED, -1, rating)
    order = np.argsort(second, kind="stable")
    events = {
        "customer": customer,
        "event_time": _epoch_seconds(state, second),
        "channel": channel,
        "topic": topic,
        "resolved": resolved,
        "satisfaction": satisfaction,
    }
    return {"id": _ids(state, n), **take(events, order)}


def customers(config: GeneratorConfig, state: DayState) -> Table:
    """Profile records (full rows, CDC style) of everyone who signed up, changed or churned."""
    rng = day_rng(config.seed, state.day, Stream.CUSTOMERS)
    profile = {name: values for name, values in state.profile.items() if name != "churn"}
    records = {
        "customer": state.profiles,
        **profile,
        "churned": state.profile["churn"] == state.day.toordinal(),
        "updated_at": _epoch_seconds(state, rng.integers(0, 86400, len(state.profiles))),
    }
    return take(records, np.lexsort((records["customer"], records["updated_at"])))


def churn(state: DayState) -> Table:
    """One label per customer whose churn day is today."""
    churn_date = np.full(len(state.churned), state.day.toordinal())
    return {"customer": state.churned, "churn_date": churn_date, "reason": state.churn_reason}


def _seconds_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    return categorical(rng, HOUR_SHARES, n) * 3600 + rng.integers(0, 3600, n)


def _epoch_seconds(state: DayState, second: np.ndarray) -> np.ndarray:
    return (state.day.toordinal() - EPOCH_ORDINAL) * 86400 + second.astype(np.int64)


def _ids(state: DayState, n: int) -> np.ndarray:
    day_key = int(state.day.strftime("%Y%m%d"))
    return day_key * ID_SEQUENCE + np.arange(n, dtype=np.int64)
