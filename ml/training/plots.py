"""Evaluation plots logged with each run: ROC, precision-recall, calibration, feature importance.

Importance is permutation importance of the raw input columns on held-out rows: it works for every
model kind and names the columns the MRDS has, not the encoder's expanded ones.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: jobs and tests have no display

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.inspection import permutation_importance  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

IMPORTANCE_ROWS = 5_000
TOP_FEATURES = 20


def _axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig, ax


def curves(y: np.ndarray, p: np.ndarray, metrics: dict[str, float]) -> dict[str, Figure]:
    """ROC, PR and calibration figures of probabilities `p` against labels `y`."""
    fpr, tpr, _ = roc_curve(y, p)
    roc, ax = _axes(f"ROC (AUC {metrics['roc_auc']:.3f})", "false positive rate", "true positive rate")
    ax.plot(fpr, tpr)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    precision, recall, _ = precision_recall_curve(y, p)
    pr, ax = _axes(f"Precision-recall (AP {metrics['pr_auc']:.3f})", "recall", "precision")
    ax.plot(recall, precision)
    ax.axhline(float(np.mean(y)), linestyle="--", color="grey")
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    calibration, ax = _axes(f"Calibration (Brier {metrics['brier']:.4f})", "mean predicted probability", "observed churn rate")
    ax.plot(predicted, observed, marker="o")
    top = max(float(predicted.max()), float(observed.max()))
    ax.plot([0, top], [0, top], linestyle="--", color="grey")
    return {"roc_curve.png": roc, "pr_curve.png": pr, "calibration.png": calibration}


def feature_importance(model: object, X: pd.DataFrame, y: np.ndarray, seed: int) -> pd.Series:
    """Mean drop in ROC AUC when each raw column is shuffled, on up to IMPORTANCE_ROWS held-out rows
    (empty when the rows have a single class, where AUC is undefined)."""
    rows = np.random.default_rng(seed).permutation(len(X))[:IMPORTANCE_ROWS]
    labels = np.asarray(y)[rows]
    if len(np.unique(labels)) < 2:
        return pd.Series(dtype="float64")
    result = permutation_importance(model, X.iloc[rows], labels, scoring="roc_auc", n_repeats=3, random_state=seed)
    return pd.Series(result.importances_mean, index=X.columns).sort_values(ascending=False)


def importance_figure(importance: pd.Series) -> Figure:
    top = importance.head(TOP_FEATURES)[::-1]
    fig, ax = _axes("Permutation importance (held-out)", "mean ROC AUC drop", "")
    ax.barh(top.index, top.to_numpy())
    fig.tight_layout()
    return fig
