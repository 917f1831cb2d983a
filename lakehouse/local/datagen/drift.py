"""The drift scenario: from config.drift_start on, prices rise and a new channel appears.

Why a module: monitoring is tested against this one scenario, so its size and shape live in
one place and are recorded in each manifest.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from lakehouse.local.datagen.config import GeneratorConfig
from lakehouse.local.datagen.schema import DOMAINS

FEES_CENTS = np.array([999, 1999, 3499])  # monthly fee by plan (basic, standard, premium)
DRIFT_FEES_CENTS = np.array([1199, 2399, 4199])  # for signups and plan changes after drift
AMOUNT_MULTIPLIER = {"electronics": 1.35, "travel": 1.35, "entertainment": 1.35}
CHANNEL_SHARES = np.array([0.50, 0.35, 0.15, 0.0])  # web, store, app_legacy, app
APP_SHARE = 0.25  # after drift "app" takes this share, the others shrink proportionally

_CATEGORIES = DOMAINS["transactions"]["category"]
_MULTIPLIERS = np.array([AMOUNT_MULTIPLIER.get(c, 1.0) for c in _CATEGORIES])


def active(config: GeneratorConfig, day: date) -> bool:
    """Whether the drifted world applies on this day."""
    return config.drift_start is not None and day >= config.drift_start


def fees_cents(config: GeneratorConfig, day: date) -> np.ndarray:
    """Monthly fee by plan code for customers who sign up or change plan on this day."""
    return DRIFT_FEES_CENTS if active(config, day) else FEES_CENTS


def amount_multipliers(config: GeneratorConfig, day: date) -> np.ndarray:
    """Price factor by category code on this day."""
    return _MULTIPLIERS if active(config, day) else np.ones(len(_CATEGORIES))


def channel_shares(config: GeneratorConfig, day: date) -> np.ndarray:
    """Probability of each transaction channel code on this day."""
    if not active(config, day):
        return CHANNEL_SHARES
    shares = CHANNEL_SHARES * (1 - APP_SHARE)
    shares[DOMAINS["transactions"]["channel"].index("app")] = APP_SHARE
    return shares


def describe(config: GeneratorConfig, day: date) -> dict[str, Any]:
    """The manifest's record of the scenario as it applies on this day."""
    return {
        "start": config.drift_start.isoformat() if config.drift_start else None,
        "active": active(config, day),
        "amount_multiplier": AMOUNT_MULTIPLIER,
        "new_channel": "app",
        "new_channel_share": APP_SHARE,
        "monthly_fee_new_signups": dict(
            zip(DOMAINS["customers"]["plan"], (int(c) / 100 for c in DRIFT_FEES_CENTS))
        ),
    }
