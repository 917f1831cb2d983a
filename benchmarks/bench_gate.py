"""Benchmark: does the promotion gate ignore noise and see a real improvement? (issue 19, part 2)

Why: a gate that promotes on noise makes the champion flip on unchanged data (the demo's champion once
changed 4 times in 7 daily trainings), and one that never promotes keeps a stale model. Both are rates, so
they are measured over generated scenarios with several seeds and reported with their uncertainty:

- unchanged data: N consecutive daily trainings on data from one unchanging process (each day one more day
  of history); how often the champion changes after the first model (target 0). The same comparisons are
  also judged by the old rule (point gain >= min_improvement) to show what the interval test prevents.
- a generated improvement: ml/synthetic.py's generator, plus from `--improve-from` days after the start a
  feature made more predictive: `unresolved_contacts_7d` of a customer who churns within the label horizon
  gets Poisson(`--boost`) more contacts (before that date the feature carries only the generator's weak,
  risk-driven signal). The champion is trained before the change; daily trainings from the change on report
  after how many days the gate promotes.

Each training is the training job after its data is loaded (`ml.training.train.train_on`: fit with early
stopping and refit, plots, MLflow run in SQLite, registration, the real gate with the default GateSettings),
on a training set built in pandas from the generated ARDS the way the job builds it (the job's `as_of_dates`
and `time_split`, labels = churn within the horizon after the as-of date): the Spark point-in-time join is
skipped because the generated ARDS has one row per customer and day, so the join would return the same rows.

Run: `python benchmarks/bench_gate.py` (defaults below: a few minutes on 2 cores); writes
benchmarks/results/gate.{md,json}.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, write_results  # noqa: E402

from lakehouse.core.job_settings import GateSettings, TrainingSettings  # noqa: E402
from lakehouse.platform import tracking  # noqa: E402
from ml.features.definitions import ENTITY_KEY, TIMESERIES_KEY  # noqa: E402
from ml.synthetic import synthetic_tables  # noqa: E402
from ml.training.dataset import TrainingData  # noqa: E402
from ml.training.labels import AS_OF, LABEL, as_of_dates  # noqa: E402
from ml.training.split import time_split  # noqa: E402
from ml.training.train import train_on  # noqa: E402

START = date(2026, 1, 1)
BOOSTED = "unresolved_contacts_7d"


def settings(window_days: int) -> TrainingSettings:
    """Small, fast training settings (1 thread, few boosting rounds) with the default gate."""
    return TrainingSettings(horizon_days=7, validation_days=7, test_days=7, window_days=window_days, threads=1,
                            params={"hist_gradient_boosting": {"max_iter": 60, "max_leaf_nodes": 7}},
                            gate=GateSettings())


def generated(customers: int, days: int, seed: int, improve_from: date | None, boost: float,
              horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The generator's ARDS and churn, with the boosted feature from `improve_from` on (None: unchanged)."""
    tables = synthetic_tables(customers, START, days, seed=seed)
    ards, churn = tables["ards"], tables["silver_churn"]
    if improve_from is not None:
        churn_date = ards[ENTITY_KEY].map(churn.set_index(ENTITY_KEY)["churn_date"])
        soon = (churn_date.notna() & (pd.to_datetime(churn_date) <= pd.to_datetime(ards[TIMESERIES_KEY])
                                      + pd.Timedelta(days=horizon))).to_numpy()
        after = (ards[TIMESERIES_KEY] >= improve_from).to_numpy()
        extra = np.random.default_rng(seed + 1000).poisson(boost, len(ards)) * (soon & after)
        ards[BOOSTED] = (ards[BOOSTED] + extra).astype(ards[BOOSTED].dtype)
    return ards, churn


def training_data(ards: pd.DataFrame, churn: pd.DataFrame, run_date: date, cfg: TrainingSettings) -> TrainingData:
    """What `load_training_data` returns for `run_date`, built in pandas: as-of dates, split, labels."""
    split = time_split(as_of_dates(START, run_date, cfg), cfg)
    frame = ards[ards[TIMESERIES_KEY].isin({*split.train, *split.validation, *split.test})].copy()
    frame[AS_OF] = frame[TIMESERIES_KEY]
    churn_date = pd.to_datetime(frame[ENTITY_KEY].map(churn.set_index(ENTITY_KEY)["churn_date"]))
    frame[LABEL] = (churn_date.notna() & (churn_date <= pd.to_datetime(frame[AS_OF])
                                          + pd.Timedelta(days=cfg.horizon_days))).astype(int)
    frame = frame.sort_values([AS_OF, ENTITY_KEY], kind="stable", ignore_index=True)
    frame["part"] = frame[AS_OF].map(split.part_of)
    return TrainingData(frame, split, {"run_date": str(run_date), **split.windows()})


@dataclass
class Day:
    run_date: str
    outcome: str
    promoted: bool
    difference: float | None
    lower: float | None
    upper: float | None
    positive_customers: int
    old_rule_promotes: bool | None  # point gain >= min_improvement: what the gate did before the interval test
    seconds: float


def trainings(ards: pd.DataFrame, churn: pd.DataFrame, days: list[date], cfg: TrainingSettings, root: Path,
              stop_at_promotion: bool) -> list[Day]:
    """Daily trainings for `days` in a fresh MLflow registry; the first one is the first model."""
    uri = f"sqlite:///{root / 'mlflow.db'}"
    from lakehouse.core.settings import load_settings

    s = load_settings("local").model_copy(update={"mlflow_tracking_uri": uri, "mlflow_registry_uri": uri,
                                                  "experiment_name": "bench-gate", "model_name": "bench_gate",
                                                  "storage_root": root / "warehouse"})
    client = tracking.configure(s)
    experiment = tracking.experiment_id(s)
    out = []
    for i, day in enumerate(days):
        began = time.perf_counter()
        result = train_on(training_data(ards, churn, day, cfg), cfg, client, "bench_gate", experiment, day)
        d = result.decision
        gain = d.interval
        old = None if d.champion is None else bool(
            d.challenger[cfg.gate.metric] - d.champion[cfg.gate.metric] >= cfg.gate.min_improvement)
        out.append(Day(str(day), str(d.outcome), d.promote, gain and gain.difference, gain and gain.lower,
                       gain and gain.upper, d.sample.positive_customers if d.sample else 0, old,
                       time.perf_counter() - began))
        print(f"  {day} {d.outcome}: {d.reason[:160]}", flush=True)
        if stop_at_promotion and i > 0 and d.promote:
            break
    return out


def days_until_seen(change: date, cfg: TrainingSettings, part: str) -> int | None:
    """Days after `change` until the `part` of a training's split first holds an as-of date on or after it."""
    for days in range(0, 120):
        split = time_split(as_of_dates(START, change + timedelta(days=days), cfg), cfg)
        if max(getattr(split, part)) >= change:
            return days
    return None


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a rate k/n (sensible at k = 0, where it is [0, 3.8/n] roughly)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3, help="independent generated worlds per scenario")
    parser.add_argument("--stable-days", type=int, default=8, help="daily trainings on unchanged data (incl. the first)")
    parser.add_argument("--improve-from", type=int, default=70, help="day (from the start) the feature improves")
    parser.add_argument("--boost", type=float, default=1.5, help="mean extra contacts of a soon-churner after it")
    parser.add_argument("--max-days", type=int, default=36, help="daily trainings after the change, at most")
    parser.add_argument("--window-days", type=int, default=42, help="training.window_days (bounds the fit's size)")
    args = parser.parse_args()
    cfg = settings(args.window_days)
    info = machine_info(("scikit-learn", "mlflow", "numpy"))
    change = START + timedelta(days=args.improve_from)
    first_day = START + timedelta(days=args.improve_from - 1)  # the champion: trained the day before the change
    days_total = args.improve_from + args.max_days + 1
    began = time.perf_counter()
    stable: dict[int, list[Day]] = {}
    improved: dict[int, list[Day]] = {}
    for seed in range(args.seeds):
        ards, churn = generated(args.customers, days_total, seed, None, 0.0, cfg.horizon_days)
        print(f"seed {seed}: unchanged data", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            stable[seed] = trainings(ards, churn, [first_day + timedelta(days=i) for i in range(args.stable_days)],
                                     cfg, Path(tmp), stop_at_promotion=False)
        ards, churn = generated(args.customers, days_total, seed, change, args.boost, cfg.horizon_days)
        print(f"seed {seed}: improvement from {change}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            improved[seed] = trainings(ards, churn, [first_day + timedelta(days=i) for i in range(args.max_days + 1)],
                                       cfg, Path(tmp), stop_at_promotion=True)
    seconds = time.perf_counter() - began

    comparisons = [d for days in stable.values() for d in days[1:]]
    flips = sum(d.promoted for d in comparisons)
    old_flips = sum(bool(d.old_rule_promotes) for d in comparisons)
    first_ok = sum(days[0].promoted for days in stable.values())
    to_promote = {seed: next((i for i, d in enumerate(days) if i > 0 and d.promoted), None) for seed, days in improved.items()}
    found = [n for n in to_promote.values() if n is not None]
    command = "python benchmarks/bench_gate.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items())
    low, high = wilson(flips, len(comparisons))
    old_low, old_high = wilson(old_flips, len(comparisons))
    report: dict[str, Any] = {
        "machine": info, "command": command, "args": vars(args), "seconds": round(seconds, 1),
        "settings": cfg.model_dump(), "change_date": str(change),
        "unchanged": {"first_models_promoted": first_ok, "worlds": args.seeds, "comparisons": len(comparisons),
                      "champion_changes": flips, "rate": flips / len(comparisons), "rate_95ci": [low, high],
                      "old_rule_changes": old_flips, "old_rule_rate_95ci": [old_low, old_high],
                      "days": {s: [vars(d) for d in days] for s, days in stable.items()}},
        "improvement": {"days_to_promote": to_promote, "promoted_in": len(found), "worlds": args.seeds,
                        "days": {s: [vars(d) for d in days] for s, days in improved.items()}},
    }
    per_training = np.mean([d.seconds for days in (*stable.values(), *improved.values()) for d in days])
    lines = [
        "# Promotion gate: flip rate on unchanged data, time to promote a real improvement", "",
        f"`{command}`", "",
        f"Machine: {info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs, 1-min load {info['load_average_1m_at_start']} "
        f"at start (shared machine); scikit-learn {info['versions']['scikit-learn']}, mlflow {info['versions']['mlflow']}. "
        f"Date: {info['date']}. Commit: {info['git_commit']}. Wall time {seconds:.0f} s, {per_training:.1f} s per training.", "",
        f"Data: ml/synthetic.py's generator, {args.customers:,} customers, {args.seeds} independent worlds (seeds 0..{args.seeds - 1}). "
        f"Training: horizon 7 days, validation and test 7 daily as-of dates each, window {args.window_days} days, "
        "hist gradient boosting (60 rounds max, early stopping), default gate (ROC AUC, 95% paired customer bootstrap, "
        f"2000 resamples, lower bound >= {cfg.gate.min_improvement}, at least {cfg.gate.min_positives} positive customers, "
        "ROC AUC >= 0.65, lift >= 1.5, Brier <= 0.1).", "",
        "## Unchanged data", "",
        f"{args.stable_days} consecutive daily trainings per world from {first_day}; the first model was promoted in "
        f"{first_ok} of {args.seeds} worlds.", "",
        "| gate | champion changes after the first model | rate | 95% CI (Wilson) |", "|---|---:|---:|---|",
        f"| interval test (this gate) | {flips} of {len(comparisons)} | {flips / len(comparisons):.3f} | [{low:.3f}, {high:.3f}] |",
        f"| old rule (point gain >= {cfg.gate.min_improvement}), same comparisons | {old_flips} of {len(comparisons)} | "
        f"{old_flips / len(comparisons):.3f} | [{old_low:.3f}, {old_high:.3f}] |", "",
        "The old rule's count judges the same challenger/champion pairs (the champion the interval test kept), so it is "
        "what the old gate would have done on each comparison, not a replay of its own champion history.", "",
        "| world | day | outcome | gain | 95% CI | positive customers |", "|---:|---|---|---:|---|---:|",
    ]
    for seed, days in stable.items():
        for d in days:
            gain = "—" if d.difference is None else f"{d.difference:+.4f}"
            ci = "—" if d.lower is None else f"[{d.lower:+.4f}, {d.upper:+.4f}]"
            lines.append(f"| {seed} | {d.run_date} | {d.outcome} | {gain} | {ci} | {d.positive_customers} |")
    lines += [
        "", "## A generated improvement", "",
        f"From {change} on, `{BOOSTED}` of a customer who churns within the horizon gets Poisson({args.boost}) more "
        f"contacts. Champion: trained on {first_day}; then one training a day from the change on, at most {args.max_days}.", "",
        "| world | days after the change until the gate promotes | gain | 95% CI |", "|---:|---:|---:|---|",
    ]
    for seed, n in to_promote.items():
        last = improved[seed][-1]
        ci = "—" if last.lower is None else f"[{last.lower:+.4f}, {last.upper:+.4f}]"
        gain = "—" if last.difference is None else f"{last.difference:+.4f}"
        lines.append(f"| {seed} | {'not within ' + str(args.max_days) if n is None else n - 1} | {gain} | {ci} |")
    seen = {part: days_until_seen(change, cfg, part) for part in ("test", "validation", "train")}
    report["improvement"]["days_until_in_part"] = seen
    if found:
        lines += ["", f"Promoted in {len(found)} of {args.seeds} worlds, after {min(found) - 1} to {max(found) - 1} days "
                      f"(median {float(np.median(found)) - 1:.0f}). As-of dates after the change are in the test split "
                      f"{seen['test']} days after it, in the validation part (which the final model is refitted on) "
                      f"{seen['validation']} days after and in the training part {seen['train']} days after (labels mature "
                      "after the 7-day horizon; 7-day gaps separate the parts). A promotion before the validation part "
                      "holds them is a challenger really better on the held-out rows (which by then include post-change "
                      "dates) without having learned the new signal, e.g. from more history: the gate measures \"better "
                      "on these rows\", not why."]
    write_results("gate", report, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
