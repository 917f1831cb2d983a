"""The champion/challenger gate: decisions as a pure function, then the aliases and tags in a real registry."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date, timedelta

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2
import pytest
from threadpoolctl import threadpool_limits

from ml import registry, tracking, uc_tags
from lakehouse.job_settings import GateSettings, TrainingSettings
from ml.serialization import log_model_kwargs
from ml.synthetic import synthetic_tables
from ml.training.metrics import evaluate
from ml.training.pipeline import build_pipeline, model_input

GATE = GateSettings(metric="roc_auc", min_improvement=0.01, minimums={"roc_auc": 0.6}, maximums={"brier": 0.2})


def metrics(roc_auc: float, brier: float = 0.05) -> dict[str, float]:
    return {"roc_auc": roc_auc, "pr_auc": 0.3, "log_loss": 0.2, "brier": brier, "lift_at_k": 3.0}


# -- decisions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("challenger", "champion", "promote", "reason"),
    [
        (metrics(0.80), metrics(0.75), True, "beats champion"),
        (metrics(0.75), metrics(0.80), False, "does not beat"),
        (metrics(0.80), metrics(0.80), False, "does not beat"),  # a tie never promotes
        (metrics(0.805), metrics(0.80), False, "does not beat"),  # better, but by less than the margin
        (metrics(0.90), metrics(0.70, brier=0.5), True, "beats champion"),
        (metrics(0.55), metrics(0.50), False, "roc_auc 0.5500 below minimum 0.6"),  # better, fails a minimum
        (metrics(0.90, brier=0.3), metrics(0.70), False, "brier 0.3000 above maximum 0.2"),
        (metrics(0.70), None, True, "first model"),
        (metrics(0.55), None, False, "below minimum"),
        (metrics(math.nan), None, False, "roc_auc nan below minimum"),
        (metrics(0.6), None, True, "first model"),  # exactly at a minimum passes
        (metrics(0.7, brier=0.2), None, True, "first model"),  # exactly at a maximum passes
    ],
)
def test_gate_decisions(challenger, champion, promote, reason):
    decision = registry.decide(challenger, champion, GATE)
    assert decision.promote is promote
    assert reason in decision.reason


def test_a_gain_of_exactly_the_margin_promotes():
    """`min_improvement` is the least gain that promotes (values exact in binary floating point)."""
    gate = GATE.model_copy(update={"min_improvement": 0.125})
    decision = registry.decide(metrics(0.75), metrics(0.625), gate)
    assert decision.promote and "roc_auc 0.7500 beats champion 0.6250 by the required 0.125 (gain +0.1250)" == decision.reason
    assert not registry.decide(metrics(0.75), metrics(0.625 + 1e-9), gate).promote


class _Registry:
    """A client whose alias lookup fails with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_model_version_by_alias(self, name: str, alias: str):
        raise self.error


@pytest.mark.parametrize("code, message", [
    (databricks_pb2.RESOURCE_DOES_NOT_EXIST, "Registered Model with name=m not found"),
    (databricks_pb2.INVALID_PARAMETER_VALUE, "Registered model alias champion not found."),
])
def test_only_not_found_means_no_version(code, message):
    assert registry.current_version(_Registry(MlflowException(message, error_code=code)), "m", "champion") is None


@pytest.mark.parametrize("code, message, reason", [
    (databricks_pb2.INVALID_PARAMETER_VALUE, "alias must be a string", "alias must be a string"),
    (databricks_pb2.INTERNAL_ERROR, "database is locked\n(sqlite3.OperationalError)\ntraceback", "database is locked"),
    (databricks_pb2.INTERNAL_ERROR, "model m not found?", "model m not found?"),  # sorts before INVALID_PARAMETER_VALUE
    (databricks_pb2.TEMPORARILY_UNAVAILABLE, "the server said: not found", "the server said: not found"),
    (databricks_pb2.TEMPORARILY_UNAVAILABLE, "  ", "TEMPORARILY_UNAVAILABLE"),  # no message: the code
])
def test_any_other_registry_failure_raises_a_transient_error(code, message, reason):
    with pytest.raises(registry.RegistryUnavailable) as caught:
        registry.current_version(_Registry(MlflowException(message, error_code=code)), "m", "champion")
    assert str(caught.value) == f"the model registry could not be read (m@champion): {reason}"
    assert caught.value.transient  # the job runner retries it


# -- registry -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(base_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    settings = base_settings.model_copy(update={
        "storage_root": root / "warehouse", "mlflow_tracking_uri": uri, "mlflow_registry_uri": uri,
        "experiment_name": "gate-tests", "model_name": "gate_model"})
    client = tracking.configure(settings)
    mlflow.set_experiment(experiment_id=tracking.experiment_id(settings))
    return client


@pytest.fixture(scope="module")
def data():
    """Train and held-out rows of synthetic ARDS data: churn within 14 days."""
    tables = synthetic_tables(300, date(2026, 1, 1), 40, seed=5)
    ards = tables["ards"].merge(tables["silver_churn"], on="customer_id", how="left")
    horizon = ards["feature_date"] + timedelta(days=14)
    ards["churned"] = (ards["churn_date"].notna() & (ards["churn_date"] <= horizon)).astype(int)
    train = ards[ards["feature_date"] < date(2026, 1, 25)]
    held = ards[ards["feature_date"] >= date(2026, 2, 1)]
    return model_input(train), train["churned"], model_input(held), held["churned"]


@pytest.fixture(scope="module")
def logged(client, data):
    """A strong model and one fitted on shuffled labels (no better than chance), each logged once:
    {kind: (model_uri, metrics on the held-out rows)}."""
    X, y, X_held, y_held = data
    cfg = TrainingSettings(params={"hist_gradient_boosting": {"max_iter": 30, "max_leaf_nodes": 7}}, threads=1)
    models = {}
    for kind, labels in (("strong", y), ("weak", y.sample(frac=1.0, random_state=1).to_numpy())):
        with threadpool_limits(limits=1):
            model = build_pipeline(cfg).fit(X, labels)
            held_metrics = evaluate(y_held.to_numpy(), model.predict_proba(X_held)[:, 1], 5.0)
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(model, name="model", **log_model_kwargs(model, X.head(3)))
        models[kind] = (info.model_uri, held_metrics)
    return models


def _alias(client, alias: str) -> str | None:
    found = registry.current_version(client, "gate_model", alias)
    return found and str(found.version)


def _tags(client, version: str) -> dict[str, str]:
    return client.get_model_version("gate_model", version).tags


def test_gate_moves_aliases_and_records_every_decision(client, data, logged):
    _, _, X_held, y_held = data
    lenient = GATE.model_copy(update={"minimums": {"roc_auc": 0.3}})

    def new_version(kind: str) -> tuple[str, dict[str, float]]:
        uri, held_metrics = logged[kind]
        return registry.register(client, "gate_model", uri, {}), held_metrics

    def run_gate(version: str, held_metrics: dict[str, float], gate: GateSettings) -> registry.GateDecision:
        return registry.gate(client, "gate_model", version, X_held, y_held, held_metrics, gate, 5.0)

    # The first model only has to pass the thresholds.
    weak, weak_metrics = new_version("weak")
    first = run_gate(weak, weak_metrics, lenient)
    assert first.outcome == "promoted", first.reason
    assert _alias(client, "champion") == weak == _alias(client, "challenger")

    # Dry run: a better challenger is recorded as such, but no alias moves.
    strong, strong_metrics = new_version("strong")
    decision = run_gate(strong, strong_metrics, lenient.model_copy(update={"mode": "dry-run"}))
    assert (decision.promote, decision.outcome, _alias(client, "champion")) == (True, "would promote", weak)
    assert _alias(client, "challenger") == strong
    assert _tags(client, strong)[uc_tags.GATE_MODE] == "dry-run"

    # Enabled: the better challenger, compared on the same held-out rows, becomes champion.
    decision = run_gate(strong, strong_metrics, GATE)
    assert decision.outcome == "promoted" and decision.champion_version == weak
    assert decision.champion["rows"] == decision.challenger["rows"] == len(y_held)
    assert _alias(client, "champion") == strong
    tags = _tags(client, strong)
    assert tags[uc_tags.GATE_OUTCOME] == "promoted" and tags[uc_tags.GATE_CHAMPION_VERSION] == weak
    auc = {side: float(tags[uc_tags.gate_metric_key(side, "roc_auc")]) for side in ("challenger", "champion")}
    assert auc["challenger"] > auc["champion"] + GATE.min_improvement

    # An equal challenger (the same model) and a worse one are held, with the reason on the version.
    for kind, gate in (("strong", GATE), ("weak", lenient)):
        version, held_metrics = new_version(kind)
        assert run_gate(version, held_metrics, gate).outcome == "held"
        assert (_alias(client, "champion"), _alias(client, "challenger")) == (strong, version)
        assert "does not beat champion" in _tags(client, version)[uc_tags.GATE_REASON]

    # A better model that fails an absolute threshold is held too.
    version, held_metrics = new_version("strong")
    strict = GATE.model_copy(update={"minimums": {"roc_auc": 0.999}, "min_improvement": 1e-9})
    assert "fails thresholds" in run_gate(version, held_metrics, strict).reason
    assert _alias(client, "champion") == strong

    # Every version the gate tagged carries only tags Unity Catalog accepts.
    for found in client.search_model_versions("name = 'gate_model'"):
        uc_tags.check_all(found.tags)


def test_the_registry_refuses_a_tag_unity_catalog_refuses_and_writes_nothing(client, logged):
    """The audit's case (B7): `gate.mode` on a model version. Unity Catalog answers INVALID_PARAMETER_VALUE;
    the local registry, which would store it, is held to the same rule by the seam every tag goes through."""
    uri, _ = logged["strong"]
    version = registry.register(client, "gate_model", uri, {uc_tags.RUN_DATE: "2026-02-01"})
    with pytest.raises(uc_tags.TagRefused) as refused:
        registry.set_version_tags(client, "gate_model", version, {uc_tags.GATE_OUTCOME: "held", "gate.mode": "enabled"})
    assert str(refused.value) == ("INVALID_PARAMETER_VALUE: Tag name gate.mode contains one or more of the reserved "
                                  "characters: List(., ,, -, =, /, :)")
    assert _tags(client, version) == {uc_tags.RUN_DATE: "2026-02-01"}  # not even the valid tag before it

    count = len(client.search_model_versions("name = 'gate_model'"))
    with pytest.raises(uc_tags.TagRefused, match="Tag name run.date contains"):
        registry.register(client, "gate_model", uri, {"run.date": "2026-02-01"})
    assert len(client.search_model_versions("name = 'gate_model'")) == count  # no version registered

    registry.set_version_tags(client, "gate_model", version, {f"t{i}": "v" for i in range(uc_tags.MAX_TAGS - 1)})
    with pytest.raises(uc_tags.TagRefused, match="would have 51 tags"):  # run_date + 49 + 1
        registry.set_version_tags(client, "gate_model", version, {"one_more": "v"})
    assert len(_tags(client, version)) == uc_tags.MAX_TAGS


def test_runs_left_running_by_dead_processes_are_closed_as_killed(client):
    experiment = mlflow.get_experiment_by_name("gate-tests").experiment_id
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    ours = tracking.process_tags()
    dead = client.create_run(experiment, tags={**ours, tracking.RUN_PID: gone.stdout.strip()})
    alive = client.create_run(experiment, tags=ours)
    elsewhere = client.create_run(experiment, tags={tracking.RUN_HOST: "another-host", tracking.RUN_PID: gone.stdout.strip()})
    assert tracking.close_dead_runs(client, experiment) == [dead.info.run_id]
    status = {r: client.get_run(r.info.run_id).info.status for r in (dead, alive, elsewhere)}
    assert status == {dead: "KILLED", alive: "RUNNING", elsewhere: "RUNNING"}
    assert "killed or crashed" in client.get_run(dead.info.run_id).data.tags[tracking.INTERRUPTED]
    for run in (alive, elsewhere):
        client.set_terminated(run.info.run_id)
