"""A confidence interval for the difference of two models' gate metric on the same held-out rows.

Method: a paired cluster bootstrap with a percentile interval. Each resample draws customers with replacement
(all held-out rows of a drawn customer come along, as many times as it is drawn) and recomputes the metric of
both models on that same resample, so the difference keeps the pairing: both models are judged on exactly the
same rows, and what they share (an easy or a hard customer) cancels out of the difference.

Why this method and not another:
- DeLong's test (DeLong, DeLong & Clarke-Pearson 1988, Biometrics 44:837) is the classic paired comparison of
  two ROC AUCs, but its variance assumes independent rows. Our held-out rows are customers x as-of dates: with
  daily as-of dates the same customer is in the test split up to `test_days` times with nearly the same
  features and label, so DeLong's variance would be too small and the gate would again promote on noise. The
  bootstrap resamples the independent unit, the customer (Field & Welsh 2007, "Bootstrapping clustered data",
  JRSS B 69:369; Davison & Hinkley 1997, section 3.8), which is the clustered-ROC remedy Obuchowski (1997,
  Biometrics 53:567) gives too.
- It works for every gate metric (ROC AUC and PR AUC / average precision), where DeLong is for ROC AUC only.
- Paired resampling for comparing AUCs is what pROC's `roc.test(method="bootstrap")` does (Robin et al. 2011,
  BMC Bioinformatics 12:77). The percentile interval (Efron & Tibshirani 1993, ch. 13) is used since the
  difference of two AUCs on the same rows is close to symmetric; with the default 2000 resamples the Monte
  Carlo error of a 2.5% quantile is small against the interval's width, and a fixed seed makes the same data
  give the same decision.

The metrics are computed for a whole block of resamples at once, from per-tie-group sums of the resample
weights (a row drawn k times has weight k), so 2000 resamples of 10,000 rows take about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

GateMetric = Literal["roc_auc", "pr_auc"]
METHOD = "paired customer bootstrap, percentile"
BLOCK = 200  # resamples computed at once: BLOCK x rows weights in memory


@dataclass(frozen=True)
class Interval:
    """challenger - champion on the held-out rows, with its two-sided `confidence` interval."""

    metric: str
    difference: float  # on all held-out rows
    lower: float
    upper: float
    confidence: float  # e.g. 0.95
    resamples: int  # resamples the interval was computed from (those with both classes)
    method: str = METHOD


@dataclass(frozen=True)
class HeldOut:
    """The held-out sample's size: rows, positive rows, customers (the resampling unit), positive customers."""

    rows: int
    positives: int
    customers: int
    positive_customers: int

    @staticmethod
    def of(y: np.ndarray, customers: np.ndarray | None = None) -> "HeldOut":
        """Sizes of labels `y` whose rows belong to `customers` (None: every row is its own customer)."""
        y = np.asarray(y).astype(bool)
        ids = np.arange(len(y)) if customers is None else np.asarray(customers)
        return HeldOut(len(y), int(y.sum()), int(pd.unique(ids).size), int(pd.unique(ids[y]).size))


def weighted_metric(metric: GateMetric, y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`metric` of scores `p` against labels `y` for each row of `weights` (resamples x rows), NaN where a
    resample has no positive or no negative. With weights of ones it equals scikit-learn's `roc_auc_score`
    (ties count one half) and `average_precision_score` (precision at each distinct score, no interpolation)."""
    order = np.argsort(-np.asarray(p, dtype="float64"), kind="stable")
    ranked = np.asarray(p, dtype="float64")[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])  # tie groups, highest score first
    w = np.atleast_2d(weights)[:, order].astype("float64")
    positive = np.asarray(y)[order].astype(bool)
    pos = np.add.reduceat(np.where(positive, w, 0.0), starts, axis=1)
    neg = np.add.reduceat(np.where(positive, 0.0, w), starts, axis=1)
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "roc_auc":  # pairs with the positive ranked above the negative, ties one half
            below = total_neg[:, None] - np.cumsum(neg, axis=1)
            value = (pos * (below + 0.5 * neg)).sum(axis=1) / (total_pos * total_neg)
        else:
            tp, seen = np.cumsum(pos, axis=1), np.cumsum(pos + neg, axis=1)
            precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
            value = (pos * precision).sum(axis=1) / total_pos
    return np.where((total_pos > 0) & (total_neg > 0), value, np.nan)


def paired_bootstrap(metric: GateMetric, y: np.ndarray, challenger: np.ndarray, champion: np.ndarray,
                     customers: np.ndarray | None, resamples: int, confidence: float, seed: int) -> Interval:
    """The interval of challenger - champion `metric`, resampling customers (None: rows) with a fixed seed."""
    y = np.asarray(y)
    codes = np.arange(len(y)) if customers is None else pd.factorize(np.asarray(customers))[0]
    clusters = int(codes.max()) + 1 if len(codes) else 0
    ones = np.ones((1, len(y)))
    difference = float((weighted_metric(metric, y, challenger, ones) - weighted_metric(metric, y, champion, ones))[0])
    rng = np.random.default_rng(seed)
    differences = []
    for start in range(0, resamples, BLOCK):
        drawn = rng.multinomial(clusters, np.full(clusters, 1.0 / clusters), size=min(BLOCK, resamples - start))
        weights = drawn[:, codes]
        differences.append(weighted_metric(metric, y, challenger, weights) - weighted_metric(metric, y, champion, weights))
    found = np.concatenate(differences)
    found = found[~np.isnan(found)]
    tail = (1.0 - confidence) / 2
    lower, upper = (np.quantile(found, [tail, 1.0 - tail]) if found.size else (np.nan, np.nan))
    return Interval(metric, difference, float(lower), float(upper), confidence, int(found.size))
