"""Model registry steps: register a run's model as `challenger`, then the champion/challenger gate.

The gate scores the challenger and the current champion on the same held-out rows (this run's test
split). The challenger becomes `champion` only if it passes every absolute threshold and beats the
champion's gate metric by at least `min_improvement` (a tie never promotes); the first model only has
to pass the thresholds. Every decision, promoted or not, is written as tags on the challenger's version
(`gate_*`), so the registry says why a version is or is not serving. In dry-run mode the tags record
what would have happened and no alias moves.

Every model-version tag is written through `register` or `set_version_tags`, which hold it to Unity
Catalog's tag rules first (ml/uc_tags.py): on Databricks the version is a UC securable, and locally the
same key is refused the same way, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from lakehouse.errors import LakehouseError
from lakehouse.job_settings import GateSettings
from ml import uc_tags
from ml.training.metrics import evaluate

CHALLENGER, CHAMPION = "challenger", "champion"


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None = None
    champion_version: str | None = None
    outcome: str | None = None  # promoted / held, or would promote / would hold in dry-run


def decide(challenger: dict[str, float], champion: dict[str, float] | None, gate: GateSettings) -> GateDecision:
    """The gate as a pure function of the two models' metrics on the same rows (NaN never passes)."""
    failures = [f"{m} {challenger[m]:.4f} below minimum {t}" for m, t in gate.minimums.items() if not challenger[m] >= t]
    failures += [f"{m} {challenger[m]:.4f} above maximum {t}" for m, t in gate.maximums.items() if not challenger[m] <= t]
    if failures:
        return GateDecision(False, "fails thresholds: " + "; ".join(failures), challenger, champion)
    if champion is None:
        return GateDecision(True, "first model and passes the thresholds", challenger)
    new, old = challenger[gate.metric], champion[gate.metric]
    gain = new - old
    verdict = "beats" if gain >= gate.min_improvement else "does not beat"
    reason = f"{gate.metric} {new:.4f} {verdict} champion {old:.4f} by the required {gate.min_improvement} (gain {gain:+.4f})"
    return GateDecision(gain >= gate.min_improvement, reason, challenger, champion)


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


def gate(client: Any, name: str, version: str, X_test: pd.DataFrame, y_test: np.ndarray, challenger: dict[str, float],
         settings: GateSettings, top_k_percent: float) -> GateDecision:
    """Compare version `version` (metrics `challenger` on X_test) with the champion, tag the version, and
    move the `champion` alias when it wins and the gate is enabled."""
    from ml.serialization import load_model

    held = current_version(client, name, CHAMPION)
    champion = None
    if held is not None:
        champion_model = load_model(f"models:/{name}/{held.version}").get_raw_model()  # the Pipeline itself: no
        proba = champion_model.predict_proba(X_test)[:, 1]  # signature enforcement, so a retyped column still compares
        champion = evaluate(np.asarray(y_test), proba, top_k_percent)
    decision = decide(challenger, champion, settings)
    outcome = ("promoted" if decision.promote else "held") if settings.mode == "enabled" else (
        "would promote" if decision.promote else "would hold")
    decision = replace(decision, champion_version=held and str(held.version), outcome=outcome)
    tags = {uc_tags.GATE_MODE: settings.mode, uc_tags.GATE_METRIC: settings.metric, uc_tags.GATE_OUTCOME: outcome,
            uc_tags.GATE_REASON: uc_tags.fit(decision.reason),
            uc_tags.GATE_CHAMPION_VERSION: decision.champion_version or "none",
            uc_tags.gate_metric_key(CHALLENGER, settings.metric): f"{challenger[settings.metric]:.6f}"}
    if champion is not None:
        tags[uc_tags.gate_metric_key(CHAMPION, settings.metric)] = f"{champion[settings.metric]:.6f}"
    set_version_tags(client, name, version, tags)
    if decision.promote and settings.mode == "enabled":
        client.set_registered_model_alias(name, CHAMPION, version)
    return decision
