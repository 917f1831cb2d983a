"""Held-out metrics of a churn model: ranking (ROC AUC, PR AUC, lift at top k%) and probability quality
(log loss, Brier score), since the scores are used both to rank customers and as probabilities."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

HIGHER_IS_BETTER = frozenset({"roc_auc", "pr_auc", "lift_at_k"})


def lift_at_k(y: np.ndarray, p: np.ndarray, top_k_percent: float) -> float:
    """Churn rate among the top k% scores over the overall churn rate (ties broken by order, stable)."""
    y = np.asarray(y)
    n = max(1, int(round(len(y) * top_k_percent / 100)))
    top = np.argsort(-np.asarray(p), kind="stable")[:n]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def evaluate(y: np.ndarray, p: np.ndarray, top_k_percent: float) -> dict[str, float]:
    """All metrics of probabilities `p` against labels `y`; NaN for the ranking metrics when `y` has one class."""
    y = np.asarray(y)
    p = np.clip(np.asarray(p, dtype="float64"), 0.0, 1.0)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p, pos_label=1)),
        "lift_at_k": lift_at_k(y, p, top_k_percent),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "rows": float(len(y)),
    }
