"""Latent daily state of every customer, simulated day by day from world_start.

Why: churn must depend on behaviour, with real but imperfect signal. Each customer carries a
latent risk: a mean-reverting walk around their own level, pushed up for weeks during a
disengagement episode. Risk lowers their transaction rate and raises support contacts (see
events.py) and the churn hazard (here). The state is always simulated from world_start with
one random stream per day, so a day's state never depends on which days were requested.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

import numpy as np

from lakehouse.local.datagen import drift
from lakehouse.local.datagen.config import GeneratorConfig
from lakehouse.local.datagen.names import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES
from lakehouse.local.datagen.rng import Stream, categorical, choose, day_rng
from lakehouse.local.datagen.table import EPOCH_ORDINAL

NEVER = np.iinfo(np.int32).max  # churn ordinal of a customer who has not churned
INITIAL_TENURE_DAYS = 3 * 365  # the initial base signed up over this many days before world_start

PLAN_SHARES = np.array([0.50, 0.35, 0.15])
REGION_SHARES = np.array([0.22, 0.20, 0.20, 0.18, 0.20])
ACQUISITION_SHARES = np.array([0.50, 0.30, 0.20])
AGE_RANGE = (18, 80)
RATE_SPREAD = 0.6  # sd of log base transaction rate across customers

# Latent risk walk (one step per day).
REVERSION = 0.05
NOISE = 0.12
LEVEL_SD = 0.4
P_DISENGAGE = 0.0015  # daily chance that an engaged customer starts disengaging
P_RECOVER = 0.015  # daily chance that a disengaged customer recovers
DISENGAGE_LEVEL = (1.5, 3.0)  # extra risk level of an episode, uniform
INITIAL_EPISODE_SHARE = 0.05  # share of the base in an episode in steady state (measured)

# Daily churn hazard = sigmoid(logit).
HAZARD_BASE = -9.8
HAZARD_RISK = 3.0
HAZARD_PLAN = np.array([0.3, 0.0, -0.6])
HAZARD_FEE_PER_EUR = 0.02
HAZARD_NEW = 0.6  # tenure under 90 days
HAZARD_LOYAL = -0.3  # tenure over 2 years

# Daily chance of each profile change of an active customer.
P_PLAN_CHANGE = 0.002
P_REGION_MOVE = 0.0005
P_EMAIL_CHANGE = 0.001


@dataclass
class Population:
    """Every customer ever created, one array per attribute; index i is customer number i + 1."""

    signup: np.ndarray  # day ordinal
    churn: np.ndarray  # day ordinal of the churn day, NEVER while active
    plan: np.ndarray  # code into DOMAINS["customers"]["plan"]
    fee_cents: np.ndarray
    region: np.ndarray
    acquisition: np.ndarray
    birth_year: np.ndarray
    first_name: np.ndarray  # index into names.FIRST_NAMES
    last_name: np.ndarray
    email_domain: np.ndarray
    email_version: np.ndarray  # 0 for the signup address, +1 per change
    base_rate: np.ndarray  # relative transaction rate at zero risk (mean 1)
    level: np.ndarray  # the customer's own long-run risk
    episode: np.ndarray  # extra long-run risk while disengaged, else 0
    risk: np.ndarray

    def __len__(self) -> int:
        return len(self.signup)

    def extend(self, other: Population) -> None:
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))


PROFILE_FIELDS = (
    "signup", "churn", "plan", "fee_cents", "region", "acquisition", "birth_year",
    "first_name", "last_name", "email_domain", "email_version",
)  # fmt: skip


@dataclass(frozen=True)
class DayState:
    """What the events of one day are drawn from; arrays are copies, safe to keep."""

    day: date
    active: np.ndarray  # customers active during the day, ascending (includes today's churners)
    risk: np.ndarray  # latent risk of `active`
    base_rate: np.ndarray  # base transaction rate of `active`
    profiles: np.ndarray  # customers with a profile record today, ascending
    profile: dict[str, np.ndarray]  # PROFILE_FIELDS of `profiles` at the end of the day
    churned: np.ndarray  # customers whose churn day is today, ascending
    churn_reason: np.ndarray  # code into DOMAINS["churn"]["reason"]


class World:
    """Steps the population one day at a time, starting on config.world_start."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.day: date | None = None
        self.pop: Population | None = None
        self._expected_churn = 0.0

    def advance(self) -> DayState:
        """Simulate the next day and return its state."""
        cfg = self.config
        day = cfg.world_start if self.day is None else self.day + timedelta(days=1)
        t = day.toordinal()
        rng = day_rng(cfg.seed, day, Stream.WORLD)
        if self.pop is None:
            signup = t - rng.integers(1, INITIAL_TENURE_DAYS + 1, cfg.customers)
            self.pop = _new_customers(rng, signup, drift.fees_cents(cfg, day), initial=True)
            touched = np.arange(cfg.customers)
        else:
            existing = len(self.pop)
            updated = self._update_profiles(rng, day)
            n_new = int(rng.poisson(self._expected_churn))
            signup = np.full(n_new, t)
            self.pop.extend(_new_customers(rng, signup, drift.fees_cents(cfg, day), initial=False))
            touched = np.concatenate([updated, np.arange(existing, existing + n_new)])
        pop = self.pop

        active = np.flatnonzero(pop.churn == NEVER)
        hazard = self._hazard(active, t)
        leaving = rng.random(len(active)) < hazard
        churned = active[leaving]
        reasons = _churn_reasons(rng, pop.risk[churned], pop.fee_cents[churned])
        pop.churn[churned] = t
        self._expected_churn = float(hazard.sum())

        profiles = np.union1d(touched, churned)
        state = DayState(
            day=day,
            active=active,
            risk=pop.risk[active],
            base_rate=pop.base_rate[active],
            profiles=profiles,
            profile={name: getattr(pop, name)[profiles] for name in PROFILE_FIELDS},
            churned=churned,
            churn_reason=reasons,
        )
        self._evolve_risk(rng, active[~leaving])
        self.day = day
        return state

    def _hazard(self, idx: np.ndarray, t: int) -> np.ndarray:
        pop = self.pop
        tenure = t - pop.signup[idx]
        logit = (
            HAZARD_BASE
            + HAZARD_RISK * pop.risk[idx]
            + HAZARD_PLAN[pop.plan[idx]]
            + HAZARD_FEE_PER_EUR * pop.fee_cents[idx] / 100
            + np.where(tenure < 90, HAZARD_NEW, 0.0)
            + np.where(tenure > 730, HAZARD_LOYAL, 0.0)
        )
        return 1 / (1 + np.exp(-logit))

    def _update_profiles(self, rng: np.random.Generator, day: date) -> np.ndarray:
        """Plan changes, region moves and email changes of today; returns who changed."""
        pop = self.pop
        idx = np.flatnonzero(pop.churn == NEVER)
        u = rng.random((4, len(idx)))
        n_plans, n_regions = len(PLAN_SHARES), len(REGION_SHARES)

        plan_idx = idx[u[0] < P_PLAN_CHANGE]
        down = u[3][u[0] < P_PLAN_CHANGE] < 1 / (1 + np.exp(-pop.risk[plan_idx]))
        step = np.where(down, -1, 1)
        plan = pop.plan[plan_idx]
        step = np.where((plan + step < 0) | (plan + step >= n_plans), -step, step)
        pop.plan[plan_idx] = plan + step
        pop.fee_cents[plan_idx] = drift.fees_cents(self.config, day)[pop.plan[plan_idx]]

        move_idx = idx[u[1] < P_REGION_MOVE]
        pop.region[move_idx] = (pop.region[move_idx] + rng.integers(1, n_regions, len(move_idx))) % n_regions

        email_idx = idx[u[2] < P_EMAIL_CHANGE]
        pop.email_version[email_idx] += 1
        pop.email_domain[email_idx] = rng.integers(0, len(EMAIL_DOMAINS), len(email_idx))

        return np.union1d(np.union1d(plan_idx, move_idx), email_idx)

    def _evolve_risk(self, rng: np.random.Generator, idx: np.ndarray) -> None:
        pop = self.pop
        u = rng.random((2, len(idx)))
        episode = pop.episode[idx]
        starting = (episode == 0) & (u[0] < P_DISENGAGE)
        low, high = DISENGAGE_LEVEL
        episode = np.where(starting, low + (high - low) * u[1], episode)
        episode = np.where(~starting & (episode > 0) & (u[0] < P_RECOVER), 0.0, episode)
        pop.episode[idx] = episode
        risk = pop.risk[idx]
        noise = NOISE * rng.standard_normal(len(idx))
        pop.risk[idx] = risk + REVERSION * (pop.level[idx] + episode - risk) + noise


def _new_customers(
    rng: np.random.Generator, signup: np.ndarray, fees: np.ndarray, *, initial: bool
) -> Population:
    """Customers signing up on the given day ordinals; the initial base starts in steady state."""
    n = len(signup)
    plan = categorical(rng, PLAN_SHARES, n)
    level = LEVEL_SD * rng.standard_normal(n)
    episode = np.zeros(n)
    ramp = np.zeros(n)
    if initial:
        in_episode = rng.random(n) < INITIAL_EPISODE_SHARE
        episode = np.where(in_episode, rng.uniform(*DISENGAGE_LEVEL, n), 0.0)
        ramp = episode * rng.random(n)  # how far each episode has pushed risk up so far
    stationary_sd = NOISE / np.sqrt(2 * REVERSION - REVERSION**2)
    birth_year = _year(signup) - rng.integers(AGE_RANGE[0], AGE_RANGE[1], n, endpoint=True)
    return Population(
        signup=signup.astype(np.int32),
        churn=np.full(n, NEVER, dtype=np.int32),
        plan=plan,
        fee_cents=fees[plan],
        region=categorical(rng, REGION_SHARES, n),
        acquisition=categorical(rng, ACQUISITION_SHARES, n),
        birth_year=birth_year,
        first_name=rng.integers(0, len(FIRST_NAMES), n),
        last_name=rng.integers(0, len(LAST_NAMES), n),
        email_domain=rng.integers(0, len(EMAIL_DOMAINS), n),
        email_version=np.zeros(n, dtype=np.int64),
        base_rate=rng.lognormal(-RATE_SPREAD**2 / 2, RATE_SPREAD, n),
        level=level,
        episode=episode,
        risk=level + ramp + stationary_sd * rng.standard_normal(n),
    )


def _churn_reasons(rng: np.random.Generator, risk: np.ndarray, fee_cents: np.ndarray) -> np.ndarray:
    """Why customers leave: price with the fee, service and competitor with risk, the rest not."""
    n = len(risk)
    weights = np.column_stack(
        [
            0.25 * fee_cents / 2000,
            0.20 * np.exp(0.5 * risk),
            0.20 * np.exp(0.3 * risk),
            np.full(n, 0.15),
            np.full(n, 0.20),
        ]
    )
    return choose(rng, weights)


def _year(ordinals: np.ndarray) -> np.ndarray:
    days = (ordinals - EPOCH_ORDINAL).astype("datetime64[D]")
    return days.astype("datetime64[Y]").astype(np.int64) + 1970
