"""The model page's registry view: every version of the churn model with its aliases, gate decision and
test metrics, read with two MLflow calls (versions, then the experiment's runs with their metrics).

A local registry that was never created (no training yet) reads as empty and is not created here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lakehouse.settings import Settings

CHAMPION, CHALLENGER = "champion", "challenger"  # the aliases ml/registry.py moves
TEST_PREFIX = "test_"  # run metrics on the held-out test split (ml/training/train.py)


@dataclass(frozen=True)
class Version:
    version: str
    created_at: datetime
    run_id: str | None
    aliases: tuple[str, ...]
    run_date: str | None
    gate_outcome: str | None
    gate_reason: str | None
    metrics: dict[str, float]  # test metrics without the prefix: roc_auc, pr_auc, ...


@dataclass(frozen=True)
class Registry:
    name: str
    versions: list[Version]  # newest first
    note: str | None = None  # why nothing is shown, when nothing is

    def alias(self, alias: str) -> Version | None:
        return next((v for v in self.versions if alias in v.aliases), None)

    @property
    def metric_names(self) -> list[str]:
        return sorted({m for v in self.versions for m in v.metrics})


def registry(settings: Settings) -> Registry:
    """The registered model's versions; empty (with a note) when there is no registry or model yet."""
    from ml.tracking import registered_model_name
    from ml.uc_tags import GATE_OUTCOME, GATE_REASON, RUN_DATE

    name = registered_model_name(settings)
    database = _sqlite_path(str(settings.mlflow_registry_uri))
    if database is not None and not database.exists():
        return Registry(name, [], f"No MLflow registry at {database} yet: train a model first.")
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri)
    try:
        aliases = client.get_registered_model(name).aliases
        found = client.search_model_versions(f"name = '{name}'")
        experiment = client.get_experiment_by_name(settings.experiment_name)
        runs = client.search_runs([experiment.experiment_id], max_results=1000) if experiment else []
    except MlflowException as exc:
        return Registry(name, [], f"Model {name} is not in the registry: {exc.message.splitlines()[0]}")
    metrics = {run.info.run_id: run.data.metrics for run in runs}
    versions = [
        Version(
            version=str(v.version),
            created_at=datetime.fromtimestamp(v.creation_timestamp / 1000, timezone.utc),
            run_id=v.run_id,
            aliases=tuple(sorted(a for a, n in aliases.items() if str(n) == str(v.version))),
            run_date=v.tags.get(RUN_DATE),
            gate_outcome=v.tags.get(GATE_OUTCOME),
            gate_reason=v.tags.get(GATE_REASON),
            metrics={k[len(TEST_PREFIX):]: float(m) for k, m in metrics.get(v.run_id, {}).items() if k.startswith(TEST_PREFIX)},
        )
        for v in found
    ]
    return Registry(name, sorted(versions, key=lambda v: int(v.version), reverse=True))


def _sqlite_path(uri: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(uri[len(prefix):]) if uri.startswith(prefix) else None
