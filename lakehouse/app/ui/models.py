"""The model page's registry view: every version of the churn model with its aliases, gate decision and
test metrics, read with two MLflow calls (versions, then the experiment's runs with their metrics).

The gate's decision is a statistical one (ml/registry.py), so the page shows what a person needs to judge it
next to the outcome: the gain with its confidence interval and the margin its lower bound had to reach, and
the held-out sample it was measured on (rows, positives, customers), all read from the version's tags.

A local registry that was never created (no training yet) reads as empty and is not created here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lakehouse.core.settings import Settings

CHAMPION, CHALLENGER = "champion", "challenger"  # the aliases ml/registry.py moves
TEST_PREFIX = "test_"  # run metrics on the held-out test split (ml/training/train.py)
COUNTS = frozenset({"rows"})  # test metrics that count rows (ml/evaluation/metrics.py): never scores, whatever their value


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
    gate_interval: str | None = None  # "roc_auc gain +0.0040, 95% CI [-0.0080, +0.0160], margin 0.002"
    gate_sample: str | None = None  # "2,000 held-out rows, 130 positives, 412 customers (60 churners)"
    gate_method: str | None = None  # how the interval was computed


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
    from lakehouse.platform.tracking import registered_model_name
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
            **_gate_evidence(v.tags),
        )
        for v in found
    ]
    return Registry(name, sorted(versions, key=lambda v: int(v.version), reverse=True))


def _gate_evidence(tags: dict[str, str]) -> dict[str, str | None]:
    """The interval, sample and method texts of a version's gate tags (none for versions gated before the
    gate recorded them, or never gated)."""
    from ml.registry import describe, recorded_decision
    from ml.uc_tags import GATE_MIN_IMPROVEMENT

    decision = recorded_decision(tags, {})
    if decision is None:
        return {}
    found: dict[str, str | None] = {}
    if decision.interval is not None:
        gain = decision.interval
        found["gate_interval"] = (f"{gain.metric} gain {gain.difference:+.4f}, {describe(gain)}, "
                                  f"margin {tags.get(GATE_MIN_IMPROVEMENT, '?')}")
        found["gate_method"] = gain.method
    if decision.sample is not None:
        n = decision.sample
        found["gate_sample"] = (f"{n.rows:,} held-out rows, {n.positives:,} positives, {n.customers:,} customers "
                                f"({n.positive_customers:,} churners)")
    return found


def _sqlite_path(uri: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(uri[len(prefix):]) if uri.startswith(prefix) else None
