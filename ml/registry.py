"""Model registry steps: register a run's model as `challenger`, then the champion/challenger gate.

The gate scores the challenger and the current champion on the same held-out rows (this run's test
split) and makes a statistical decision. It holds, deciding nothing, when the held-out rows have fewer than
`min_positives` positive customers; else the challenger must pass every absolute threshold, and, when there
is a champion, the lower bound of the confidence interval of challenger - champion on the gate metric
(paired customer bootstrap, ml/evaluation/paired.py) must reach `min_improvement`: a gain the held-out sample
cannot tell from noise is held, however large its point estimate (the demo's champion once changed 4 times
in 7 days on unchanged data, on gains a fifth of the metric's standard error). The first model only has to
pass the thresholds. Every decision, promoted or not, is written as tags on the challenger's version
(`gate_*`: outcome, reason, the interval, its level and method, the sample sizes), so the registry says why
a version is or is not serving. In dry-run mode the tags record what would have happened and no alias moves.

Every model-version tag is written through `register` or `set_version_tags`, which hold it to Unity
Catalog's tag rules first (ml/uc_tags.py): on Databricks the version is a UC securable, and locally the
same key is refused the same way, before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from lakehouse.core.errors import LakehouseError
from lakehouse.core.job_settings import GateSettings
from ml import uc_tags
from ml.evaluation.metrics import evaluate
from ml.evaluation.paired import HeldOut, Interval, paired_bootstrap

CHALLENGER, CHAMPION = "challenger", "champion"
PROMOTING = frozenset({"promoted", "would promote"})


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None = None
    champion_version: str | None = None
    outcome: str | None = None  # promoted / held, or would promote / would hold in dry-run
    sample: HeldOut | None = None  # the held-out rows both models were scored on
    interval: Interval | None = None  # challenger - champion, None without a champion (or too few positives)


def decide(challenger: dict[str, float], champion: dict[str, float] | None, gate: GateSettings, sample: HeldOut,
           interval: Interval | None = None) -> GateDecision:
    """The gate as a pure function of the two models' metrics on the same rows, the sample's size and the
    interval of their difference (NaN never passes). Order: too few positives decides nothing, then the
    absolute thresholds, then, against a champion, the interval's lower bound against the margin."""
    def decision(promote: bool, reason: str) -> GateDecision:
        return GateDecision(promote, reason, challenger, champion, sample=sample, interval=interval)

    if sample.positive_customers < gate.min_positives:
        return decision(False, f"too few positives to decide: {sample.positive_customers} positive customers "
                               f"({sample.positives} positive rows of {sample.rows}) in the held-out rows, at least "
                               f"{gate.min_positives} needed")
    failures = [f"{m} {challenger[m]:.4f} below minimum {t}" for m, t in gate.minimums.items() if not challenger[m] >= t]
    failures += [f"{m} {challenger[m]:.4f} above maximum {t}" for m, t in gate.maximums.items() if not challenger[m] <= t]
    if failures:
        return decision(False, "fails thresholds: " + "; ".join(failures))
    if champion is None:
        return decision(True, "first model and passes the thresholds")
    if interval is None:
        raise ValueError("a challenger is compared with a champion through the interval of their difference")
    new, old = challenger[gate.metric], champion[gate.metric]
    real = interval.lower >= gate.min_improvement
    verdict = "beats" if real else "does not beat"
    return decision(real, f"{gate.metric} {new:.4f} {verdict} champion {old:.4f} by the required {gate.min_improvement}: "
                          f"gain {interval.difference:+.4f}, {describe(interval)}"
                          + ("" if real else " (its lower bound is below the margin: the gain may be noise)"))


def describe(interval: Interval) -> str:
    """`95% CI [+0.0012, +0.0143]`: how the interval reads in reasons and on the UI."""
    return f"{interval.confidence:.0%} CI [{interval.lower:+.4f}, {interval.upper:+.4f}]"


class RegistryUnavailable(LakehouseError):
    """The registry could not answer (store locked, server down): a retry may succeed."""

    transient = True


def current_version(client: Any, name: str, alias: str) -> Any | None:
    """The version an alias points to, None when the model or the alias does not exist.

    Only "not found" means None: any other failure raises, because a champion that merely could not be
    read would make scoring refuse with "no champion" and the gate promote any challenger unopposed."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or (
                exc.error_code == "INVALID_PARAMETER_VALUE" and "not found" in str(exc)):
            return None
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.error_code
        raise RegistryUnavailable(f"the model registry could not be read ({name}@{alias}): {reason}") from exc


def register(client: Any, name: str, model_uri: str, tags: dict[str, str]) -> str:
    """A new version of `name` from `model_uri` (it records the run), aliased `challenger`; returns its number.

    `tags` are checked before the version is created: a tag Unity Catalog refuses fails the registration
    on Databricks, so locally it registers nothing either."""
    import mlflow

    uc_tags.check_all(tags)
    version = str(mlflow.register_model(model_uri, name, tags=tags).version)
    client.set_registered_model_alias(name, CHALLENGER, version)
    return version


def set_version_tags(client: Any, name: str, version: str, tags: dict[str, str]) -> None:
    """Set `tags` on version `version` of `name`, all of them or, when Unity Catalog would refuse one, none
    (`uc_tags.TagRefused`, Databricks' error). The tags the version already has count towards UC's limit."""
    uc_tags.check_all(tags, existing=client.get_model_version(name, version).tags)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def decision_tags(decision: GateDecision, settings: GateSettings) -> dict[str, str]:
    """The version tags that record `decision` (keys from ml/uc_tags.py; values well under UC's length limit)."""
    metric, interval, sample = settings.metric, decision.interval, decision.sample
    tags = {uc_tags.GATE_MODE: settings.mode, uc_tags.GATE_METRIC: metric, uc_tags.GATE_OUTCOME: str(decision.outcome),
            uc_tags.GATE_REASON: uc_tags.fit(decision.reason),
            uc_tags.GATE_CHAMPION_VERSION: decision.champion_version or "none",
            uc_tags.GATE_MIN_IMPROVEMENT: str(settings.min_improvement),
            uc_tags.gate_metric_key(CHALLENGER, metric): f"{decision.challenger[metric]:.6f}"}
    if decision.champion is not None:
        tags[uc_tags.gate_metric_key(CHAMPION, metric)] = f"{decision.champion[metric]:.6f}"
    if sample is not None:
        tags.update({uc_tags.GATE_ROWS: str(sample.rows), uc_tags.GATE_POSITIVES: str(sample.positives),
                     uc_tags.GATE_CUSTOMERS: str(sample.customers),
                     uc_tags.GATE_POSITIVE_CUSTOMERS: str(sample.positive_customers)})
    if interval is not None:
        tags.update({uc_tags.GATE_DIFFERENCE: f"{interval.difference:.6f}", uc_tags.GATE_LOWER: f"{interval.lower:.6f}",
                     uc_tags.GATE_UPPER: f"{interval.upper:.6f}", uc_tags.GATE_CONFIDENCE: f"{interval.confidence:g}",
                     uc_tags.GATE_METHOD: f"{interval.method}; {interval.resamples} resamples; seed {settings.seed}"})
    return tags


def recorded_decision(tags: Mapping[str, str], metrics: Mapping[str, float]) -> GateDecision | None:
    """The decision a gated version's tags record (`metrics`: its run's test metrics), None when the version
    was never gated (a training killed between registering and gating): then there is no decision to reuse."""
    outcome = tags.get(uc_tags.GATE_OUTCOME)
    if outcome is None:
        return None
    def number(key: str) -> float:
        return float(tags[key]) if key in tags else float("nan")

    sample = None if uc_tags.GATE_ROWS not in tags else HeldOut(*(int(tags[k]) for k in (
        uc_tags.GATE_ROWS, uc_tags.GATE_POSITIVES, uc_tags.GATE_CUSTOMERS, uc_tags.GATE_POSITIVE_CUSTOMERS)))
    interval = None if uc_tags.GATE_LOWER not in tags else Interval(
        tags.get(uc_tags.GATE_METRIC, ""), number(uc_tags.GATE_DIFFERENCE), number(uc_tags.GATE_LOWER),
        number(uc_tags.GATE_UPPER), number(uc_tags.GATE_CONFIDENCE), 0, tags.get(uc_tags.GATE_METHOD, ""))
    champion = tags.get(uc_tags.GATE_CHAMPION_VERSION, "none")
    return GateDecision(outcome in PROMOTING, tags.get(uc_tags.GATE_REASON, ""), dict(metrics), None,
                        None if champion == "none" else champion, outcome, sample, interval)


def gate(client: Any, name: str, version: str, X_test: pd.DataFrame, y_test: np.ndarray, scores: np.ndarray,
         settings: GateSettings, top_k_percent: float, customers: np.ndarray | None = None) -> GateDecision:
    """Compare version `version` (its probabilities `scores` on X_test) with the champion on the same rows, tag
    the version, and move the `champion` alias when it wins and the gate is enabled.

    `customers`: the customer of each held-out row, the bootstrap's resampling unit (None: rows are independent)."""
    from ml.serialization import churn_probability, load_model

    y = np.asarray(y_test)
    challenger = evaluate(y, scores, top_k_percent)
    sample = HeldOut.of(y, customers)
    held = current_version(client, name, CHAMPION)
    champion = interval = None
    if held is not None:
        champion_model = load_model(f"models:/{name}/{held.version}").get_raw_model()  # the Pipeline itself: no
        proba = churn_probability(champion_model, X_test)  # signature enforcement, so a retyped column still compares
        champion = evaluate(y, proba, top_k_percent)
        if sample.positive_customers >= settings.min_positives:  # else nothing is decided: no resampling either
            interval = paired_bootstrap(settings.metric, y, np.asarray(scores), proba, customers, settings.resamples,
                                        settings.confidence, settings.seed)
    decision = decide(challenger, champion, settings, sample, interval)
    outcome = ("promoted" if decision.promote else "held") if settings.mode == "enabled" else (
        "would promote" if decision.promote else "would hold")
    decision = replace(decision, champion_version=held and str(held.version), outcome=outcome)
    set_version_tags(client, name, version, decision_tags(decision, settings))
    if decision.promote and settings.mode == "enabled":
        client.set_registered_model_alias(name, CHAMPION, version)
    return decision
