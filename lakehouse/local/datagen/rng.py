"""Random streams: one independent generator per (seed, day, stream).

Why: a day's data must not depend on which other days were generated, in which order, or in
which process. Seeding from the day ordinal and a fixed stream number (never hash() or time)
gives that, and separate streams keep e.g. defect injection from shifting the clean data.
"""

from __future__ import annotations

from datetime import date
from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """Stream numbers are part of the output: changing one changes the generated data."""

    WORLD = 1
    CUSTOMERS = 2
    TRANSACTIONS = 3
    SUPPORT = 4
    FILE_DEFECTS = 5
    DELIVERY_TRANSACTIONS = 6
    DELIVERY_SUPPORT = 7
    DEFECTS_CUSTOMERS = 10
    DEFECTS_TRANSACTIONS = 11
    DEFECTS_SUPPORT = 12
    DEFECTS_CHURN = 13


def day_rng(seed: int, day: date, stream: Stream) -> np.random.Generator:
    """The generator of one stream on one day."""
    return np.random.default_rng([seed, day.toordinal(), int(stream)])


def categorical(rng: np.random.Generator, shares: np.ndarray, n: int) -> np.ndarray:
    """n draws of a category code with the given shares."""
    cum = np.cumsum(shares)
    return np.searchsorted(cum, rng.random(n) * cum[-1], side="right")


def choose(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One category per row of a (rows, categories) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    return (cum < rng.random(len(weights))[:, None] * cum[:, -1:]).sum(axis=1)
