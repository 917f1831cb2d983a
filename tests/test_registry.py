"""The champion/challenger gate: decisions as a pure function, then the aliases and tags in a real registry."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2
from sklearn.metrics import average_precision_score, roc_auc_score
from threadpoolctl import threadpool_limits

from lakehouse.core.job_settings import GateSettings, TrainingSettings
from lakehouse.platform import tracking
from ml import registry, uc_tags
from ml.evaluation.paired import HeldOut, Interval, paired_bootstrap, weighted_metric
from ml.serialization import log_model
from ml.synthetic import synthetic_tables
from ml.training.pipeline import build_pipeline, model_input

GATE = GateSettings(metric="roc_auc", min_improvement=0.01, minimums={"roc_auc": 0.6}, maximums={"brier": 0.2},
                    min_positives=5)
SAMPLE = HeldOut(rows=2000, positives=120, customers=400, positive_customers=60)  # enough to decide


def metrics(roc_auc: float, brier: float = 0.05) -> dict[str, float]:
    return {"roc_auc": roc_auc, "pr_auc": 0.3, "log_loss": 0.2, "brier": brier, "lift_at_k": 3.0}


def interval(difference: float, lower: float, upper: float) -> Interval:
    return Interval("roc_auc", difference, lower, upper, 0.95, 2000)


# -- decisions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("challenger", "champion", "gain", "promote", "reason"),
    [
        (metrics(0.80), metrics(0.75), interval(0.05, 0.03, 0.07), True, "beats champion"),
        (metrics(0.75), metrics(0.80), interval(-0.05, -0.07, -0.03), False, "does not beat"),
        (metrics(0.80), metrics(0.80), interval(0.0, 0.0, 0.0), False, "does not beat"),  # a tie never promotes
        # a point gain far above the margin whose interval reaches below it: noise, held, with the interval shown
        (metrics(0.83), metrics(0.80), interval(0.03, 0.005, 0.055), False,
         "gain +0.0300, 95% CI [+0.0050, +0.0550] (its lower bound is below the margin: the gain may be noise)"),
        (metrics(0.90), metrics(0.70, brier=0.5), interval(0.2, 0.15, 0.25), True, "beats champion"),
        (metrics(0.55), metrics(0.50), interval(0.05, 0.03, 0.07), False, "roc_auc 0.5500 below minimum 0.6"),
        (metrics(0.90, brier=0.3), metrics(0.70), interval(0.2, 0.15, 0.25), False, "brier 0.3000 above maximum 0.2"),
        (metrics(0.70), None, None, True, "first model"),
        (metrics(0.55), None, None, False, "below minimum"),
        (metrics(math.nan), None, None, False, "roc_auc nan below minimum"),
        (metrics(0.6), None, None, True, "first model"),  # exactly at a minimum passes
        (metrics(0.7, brier=0.2), None, None, True, "first model"),  # exactly at a maximum passes
    ],
)
def test_gate_decisions(challenger, champion, gain, promote, reason):
    decision = registry.decide(challenger, champion, GATE, SAMPLE, gain)
    assert decision.promote is promote
    assert reason in decision.reason
    assert decision.interval == gain and decision.sample == SAMPLE


def test_a_lower_bound_of_exactly_the_margin_promotes():
    """`min_improvement` is the least lower bound that promotes (values exact in binary floating point)."""
    gate = GATE.model_copy(update={"min_improvement": 0.125})
    decision = registry.decide(metrics(0.875), metrics(0.625), gate, SAMPLE, interval(0.25, 0.125, 0.375))
    assert decision.promote and decision.reason == (
        "roc_auc 0.8750 beats champion 0.6250 by the required 0.125: gain +0.2500, 95% CI [+0.1250, +0.3750]")
    assert not registry.decide(metrics(0.875), metrics(0.625), gate, SAMPLE, interval(0.25, 0.125 - 1e-9, 0.375)).promote


@pytest.mark.parametrize("champion", [None, metrics(0.70)])
def test_too_few_positives_decides_nothing(champion):
    """Below `min_positives` positive customers neither a first model nor a large gain is promoted, and the
    reason says why; a customer positive on several as-of dates counts once."""
    few = HeldOut(rows=2000, positives=28, customers=400, positive_customers=4)
    decision = registry.decide(metrics(0.95), champion, GATE, few, interval(0.25, 0.2, 0.3) if champion else None)
    assert not decision.promote
    assert decision.reason == ("too few positives to decide: 4 positive customers (28 positive rows of 2000) in the "
                               "held-out rows, at least 5 needed")
    assert registry.decide(metrics(0.95), champion, GATE, replace(few, positive_customers=5),
                           interval(0.25, 0.2, 0.3) if champion else None).promote


# -- the interval on crafted scores ---------------------------------------------------------------
def crafted(customers: int, positive_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a champion's scores with real but imperfect signal (AUC about 0.8)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(customers) < positive_share).astype(int)
    return y, rng.normal(size=customers) + 1.2 * y


def test_a_tiny_noisy_gain_is_held_with_its_interval_and_a_large_real_gain_promotes():
    """The demo's failure: ROC AUC gains of 0.003-0.007 on ~130 positives promoted. Here two models of the same
    true quality (the same signal and shared noise, each with its own noise) differ by +0.004 on these 121
    positives by chance: the old rule (point gain >= 0.002) promoted it; the interval spans zero, so it is held
    and the reason shows the interval. A challenger that sees more of the signal promotes."""
    rng = np.random.default_rng(1)
    y = (rng.random(5000) < 0.026).astype(int)
    shared = 1.2 * y + rng.normal(scale=0.8, size=len(y))

    def model(seed: int) -> np.ndarray:
        return shared + np.random.default_rng(seed).normal(scale=0.6, size=len(y))

    champion, twin = model(0), model(14)
    better = twin + 0.8 * y
    sample = HeldOut.of(y)
    gate = GATE.model_copy(update={"min_improvement": 0.002, "minimums": {}, "maximums": {}})
    decisions = {}
    for kind, scores in (("twin", twin), ("better", better)):
        gain = paired_bootstrap("roc_auc", y, scores, champion, None, 2000, 0.95, seed=0)
        decisions[kind] = registry.decide({"roc_auc": roc_auc_score(y, scores)}, {"roc_auc": roc_auc_score(y, champion)},
                                          gate, sample, gain)
    noise = decisions["twin"]
    assert sample.positive_customers == 121 and 0.003 <= noise.interval.difference <= 0.007  # the demo's case
    assert noise.interval.difference == pytest.approx(roc_auc_score(y, twin) - roc_auc_score(y, champion))
    assert noise.interval.lower < 0 < noise.interval.upper and not noise.promote
    assert registry.describe(noise.interval) in noise.reason and "the gain may be noise" in noise.reason
    assert decisions["better"].promote and decisions["better"].interval.lower > 0.002


def test_the_interval_resamples_customers_not_rows():
    """Daily as-of dates put each customer in the test split up to 7 times with the same label: 7 copies carry
    the information of one row. Resampling customers gives the copies the interval of the original rows;
    resampling rows would narrow it by about sqrt(7) and promote on noise again."""
    y, champion = crafted(1500, 0.05, seed=3)
    challenger = champion + np.random.default_rng(4).normal(scale=0.5, size=len(y))
    once = paired_bootstrap("roc_auc", y, challenger, champion, None, 1000, 0.95, seed=0)
    copies = np.repeat(np.arange(len(y)), 7)
    by_customer = paired_bootstrap("roc_auc", y[copies], challenger[copies], champion[copies], copies, 1000, 0.95, 0)
    by_row = paired_bootstrap("roc_auc", y[copies], challenger[copies], champion[copies], None, 1000, 0.95, 0)
    width = {kind: i.upper - i.lower for kind, i in (("once", once), ("customer", by_customer), ("row", by_row))}
    assert width["customer"] == pytest.approx(width["once"], rel=0.15)
    assert width["row"] < width["once"] / 2
    assert HeldOut.of(y[copies], copies) == HeldOut(len(copies), 7 * int(y.sum()), len(y), int(y.sum()))


@pytest.mark.parametrize("metric, reference", [("roc_auc", roc_auc_score), ("pr_auc", average_precision_score)])
def test_resampled_metrics_equal_scikit_learns(metric, reference):
    """The bootstrap's vectorised metric is scikit-learn's, ties included, for unit and resampling weights."""
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.1).astype(int)
    p = np.round(rng.random(3000) + 0.4 * y, 2)  # many ties
    weights = np.vstack([np.ones(3000), rng.integers(0, 3, size=(3, 3000))])
    found = weighted_metric(metric, y, p, weights)
    np.testing.assert_allclose(found, [reference(y, p, sample_weight=w) for w in weights], rtol=0, atol=1e-12)
    assert np.isnan(weighted_metric(metric, y, p, np.where(y == 1, 0, 1)[None, :])[0])  # no positive drawn


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
    return model_input(train), train["churned"], model_input(held), held["churned"], held["customer_id"].to_numpy()


@pytest.fixture(scope="module")
def logged(client, data):
    """A strong model and one fitted on shuffled labels (no better than chance), each logged once:
    {kind: (model_uri, probabilities on the held-out rows)}."""
    X, y, X_held, _, _ = data
    cfg = TrainingSettings(params={"hist_gradient_boosting": {"max_iter": 30, "max_leaf_nodes": 7}}, threads=1)
    models = {}
    for kind, labels in (("strong", y), ("weak", y.sample(frac=1.0, random_state=1).to_numpy())):
        with threadpool_limits(limits=1):
            model = build_pipeline(cfg).fit(X, labels)
            held_scores = model.predict_proba(X_held)[:, 1]
        with mlflow.start_run():
            info = log_model(model, X.head(3))
        models[kind] = (info.model_uri, held_scores)
    return models


def _alias(client, alias: str) -> str | None:
    found = registry.current_version(client, "gate_model", alias)
    return found and str(found.version)


def _tags(client, version: str) -> dict[str, str]:
    return client.get_model_version("gate_model", version).tags


def test_gate_moves_aliases_and_records_every_decision(client, data, logged):
    _, _, X_held, y_held, customers = data
    lenient = GATE.model_copy(update={"minimums": {"roc_auc": 0.3}})

    def new_version(kind: str) -> tuple[str, np.ndarray]:
        uri, held_scores = logged[kind]
        return registry.register(client, "gate_model", uri, {}), held_scores

    def run_gate(version: str, held_scores: np.ndarray, gate: GateSettings) -> registry.GateDecision:
        return registry.gate(client, "gate_model", version, X_held, y_held, held_scores, gate, 5.0, customers)

    # The first model only has to pass the thresholds.
    weak, weak_scores = new_version("weak")
    first = run_gate(weak, weak_scores, lenient)
    assert first.outcome == "promoted", first.reason
    assert _alias(client, "champion") == weak == _alias(client, "challenger")

    # Dry run: a better challenger is recorded as such, but no alias moves.
    strong, strong_scores = new_version("strong")
    decision = run_gate(strong, strong_scores, lenient.model_copy(update={"mode": "dry-run"}))
    assert (decision.promote, decision.outcome, _alias(client, "champion")) == (True, "would promote", weak)
    assert _alias(client, "challenger") == strong
    assert _tags(client, strong)[uc_tags.GATE_MODE] == "dry-run"

    # Enabled: the better challenger, compared on the same held-out rows, becomes champion.
    decision = run_gate(strong, strong_scores, GATE)
    assert decision.outcome == "promoted" and decision.champion_version == weak
    assert decision.champion["rows"] == decision.challenger["rows"] == len(y_held)
    assert _alias(client, "champion") == strong
    tags = _tags(client, strong)
    assert tags[uc_tags.GATE_OUTCOME] == "promoted" and tags[uc_tags.GATE_CHAMPION_VERSION] == weak
    auc = {side: float(tags[uc_tags.gate_metric_key(side, "roc_auc")]) for side in ("challenger", "champion")}
    # the version records the interval test: difference, bounds above the margin, level, method, sample sizes
    assert float(tags[uc_tags.GATE_DIFFERENCE]) == pytest.approx(auc["challenger"] - auc["champion"], abs=2e-6)
    lower, upper = float(tags[uc_tags.GATE_LOWER]), float(tags[uc_tags.GATE_UPPER])
    assert GATE.min_improvement <= lower < float(tags[uc_tags.GATE_DIFFERENCE]) < upper
    assert (tags[uc_tags.GATE_CONFIDENCE], tags[uc_tags.GATE_MIN_IMPROVEMENT]) == ("0.95", "0.01")
    assert tags[uc_tags.GATE_METHOD] == "paired customer bootstrap, percentile; 2000 resamples; seed 0"
    sample = HeldOut.of(y_held.to_numpy(), customers)
    assert [int(tags[k]) for k in (uc_tags.GATE_ROWS, uc_tags.GATE_POSITIVES, uc_tags.GATE_CUSTOMERS,
                                   uc_tags.GATE_POSITIVE_CUSTOMERS)] == [len(y_held), int(y_held.sum()),
                                                                        len(set(customers)), sample.positive_customers]
    assert sample.customers < sample.rows and decision.sample == sample  # customers repeat over the as-of dates
    assert f"95% CI [{lower:+.4f}, {upper:+.4f}]" in tags[uc_tags.GATE_REASON]
    recorded = registry.recorded_decision(tags, decision.challenger)  # what a reused training returns
    assert (recorded.promote, recorded.outcome, recorded.champion_version, recorded.sample) == (True, "promoted", weak, sample)
    assert (recorded.interval.lower, recorded.interval.upper) == (lower, upper)

    # An equal challenger (the same model) and a worse one are held, with the reason on the version.
    for kind, gate in (("strong", GATE), ("weak", lenient)):
        version, held_scores = new_version(kind)
        assert run_gate(version, held_scores, gate).outcome == "held"
        assert (_alias(client, "champion"), _alias(client, "challenger")) == (strong, version)
        assert "does not beat champion" in _tags(client, version)[uc_tags.GATE_REASON]

    # A better model that fails an absolute threshold is held too.
    version, held_scores = new_version("strong")
    strict = GATE.model_copy(update={"minimums": {"roc_auc": 0.999}, "min_improvement": 1e-9})
    assert "fails thresholds" in run_gate(version, held_scores, strict).reason
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


def test_the_interval_is_computed_from_exactly_min_positives_positive_customers(client, data, logged):
    """The bootstrap runs when the held-out rows hold at least `min_positives` positive customers (5 here): with
    exactly 5 the decision carries an interval, with 4 it carries none (nothing is decided, no resampling)."""
    _, _, X_held, y_held, customers = data
    y, ids = y_held.to_numpy(), np.asarray(customers)
    positive = list(pd.unique(ids[y == 1]))
    negative = [c for c in pd.unique(ids) if c not in set(positive)][:40]
    uri, strong_scores = logged["strong"]
    first = registry.register(client, "gate_boundary", uri, {})
    assert registry.gate(client, "gate_boundary", first, X_held, y_held, strong_scores, GATE, 5.0,
                         customers).outcome == "promoted"

    def gated(positives: int) -> registry.GateDecision:
        rows = np.isin(ids, positive[:positives] + negative)
        version = registry.register(client, "gate_boundary", uri, {})
        return registry.gate(client, "gate_boundary", version, X_held[rows], y_held[rows], strong_scores[rows],
                             GATE, 5.0, ids[rows])

    at_the_minimum = gated(5)
    assert at_the_minimum.sample.positive_customers == 5 and at_the_minimum.interval is not None
    below = gated(4)
    assert below.sample.positive_customers == 4 and below.interval is None


@pytest.mark.parametrize(("recorded", "champion_version"), [("none", None), ("7", "7")])
def test_a_recorded_decision_names_its_champion_only_when_there_was_one(recorded, champion_version):
    """A version gated without a champion records `none`; read back, that is no champion version, not one named
    'none' (the UI and a reused training show the recorded decision)."""
    tags = {uc_tags.GATE_OUTCOME: "promoted", uc_tags.GATE_REASON: "r", uc_tags.GATE_CHAMPION_VERSION: recorded}
    assert registry.recorded_decision(tags, {}).champion_version == champion_version
