"""Benchmark: wall time of the daily training job at 100k customers.

Why: training runs every day before scoring; its cost must be known at the target scale. The data is
synthetic and ARDS-shaped (ml/synthetic.py: the same columns and types, a latent churn risk), because
the source generator takes long at 100k customers; the ARDS holds rows only on the as-of dates the job
reads (weekly, `as_of_every_days=7`, the setting meant for this scale), which is what the point-in-time
join touches anyway. The whole `train()` runs as in production: labels and spine, feature store
point-in-time join, fit with early stopping on the validation split and refit, evaluation and plots,
MLflow run, registration, gate. Its steps are timed by wrapping the functions the job calls.

Run: `python benchmarks/bench_training.py --customers 100000`; writes benchmarks/results/training.{md,json}.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, peak_rss_mib, write_results  # noqa: E402

import lakehouse.local  # noqa: E402, F401  the local feature store registers with the seam (docs/architecture.md)
import ml.training.train as job  # noqa: E402
from lakehouse.core.engine import start_engine  # noqa: E402
from lakehouse.core.job_settings import TrainingSettings  # noqa: E402
from lakehouse.core.settings import load_settings  # noqa: E402
from lakehouse.core.storage import TableStore  # noqa: E402
from ml.synthetic import synthetic_tables, write_tables  # noqa: E402
from ml.training.labels import as_of_dates  # noqa: E402

START = date(2026, 1, 1)


def timing(steps: dict[str, float], outputs: dict[str, Any], name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func`, adding its wall time to steps[name] and keeping its result in outputs[name]."""
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        outputs[name] = func(*args, **kwargs)
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - began
        return outputs[name]

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120, help="days of history")
    parser.add_argument("--threads", type=int, default=1, help="native threads while fitting (settings.training.threads)")
    args = parser.parse_args()
    info = machine_info(("pysail", "pyspark", "scikit-learn", "mlflow", "pandas"))
    cfg = TrainingSettings(as_of_every_days=7, threads=args.threads)
    run_date = START + timedelta(days=args.days - 1)
    dates = as_of_dates(START, run_date, cfg)
    began = time.perf_counter()
    tables = synthetic_tables(args.customers, START, args.days, seed=7, feature_dates=dates)
    generated = time.perf_counter() - began
    steps: dict[str, float] = {}
    outputs: dict[str, Any] = {}
    data_step, fit_step = "training set (spine, point-in-time join, toPandas)", "fit (train, early stopping on validation, refit)"
    job.load_training_data = timing(steps, outputs, data_step, job.load_training_data)
    job.fit = timing(steps, outputs, fit_step, job.fit)
    job._log_evaluation = timing(steps, outputs, "plots and permutation importance", job._log_evaluation)
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow/mlflow.db"
        settings = load_settings("local", storage_root=Path(tmp) / "warehouse", landing_path=str(Path(tmp) / "landing"),
                                 mlflow_tracking_uri=uri, mlflow_registry_uri=uri).model_copy(update={"training": cfg})
        engine = start_engine(settings)
        try:
            write_tables(engine.spark, TableStore(engine.spark, settings), tables)
            began = time.perf_counter()
            result = job.train(engine.spark, settings, run_date)
            total = time.perf_counter() - began
        finally:
            engine.stop()
    steps["MLflow run, model logging, registry, gate (rest)"] = total - sum(steps.values())
    split_rows = outputs[data_step].frame["part"].value_counts().to_dict()
    rounds = outputs[fit_step][2]
    report = {"machine": info, "params": {**vars(args), "as_of_dates": len(dates), "ards_rows": len(tables["ards"]),
                                          "load_at_end": round(os.getloadavg()[0], 2)},
              "split_rows": split_rows, "boosting_rounds": rounds,
              "seconds": {"generate_synthetic": generated, "train_total": total, **steps},
              "test_metrics": result.metrics, "gate": result.decision.reason, "peak_rss_mib": peak_rss_mib()}
    lines = [
        "# Training benchmark: the daily training job at 100k customers",
        "",
        f"`python benchmarks/bench_training.py --customers {args.customers} --days {args.days} --threads {args.threads}`: "
        f"synthetic ARDS-shaped data (ml/synthetic.py), {args.customers:,} customers, {args.days} days of history, ARDS rows on "
        f"the {len(dates)} weekly as-of dates only ({len(tables['ards']):,} rows); default training settings except "
        f"as_of_every_days=7 and threads={args.threads}.",
        "",
        f"Machine: {info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs, {info['memory_gib']} GiB, 1-min load "
        f"{info['load_average_1m_at_start']} at start, {report['params']['load_at_end']} at end (shared machine); Python "
        f"{info['python']}, " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f". Date: {info['date']}. "
        f"Commit: {info['git_commit']}.",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {name} | {seconds:.1f} |" for name, seconds in steps.items()],
        f"| **train() total** | **{total:.1f}** |",
        "",
        f"Rows: train {split_rows['train']:,}, validation {split_rows['validation']:,}, test {split_rows['test']:,}; "
        f"{rounds} boosting rounds chosen on validation. Test ROC AUC {result.metrics['roc_auc']:.3f}, PR AUC "
        f"{result.metrics['pr_auc']:.3f}, lift at top 5% {result.metrics['lift_at_k']:.2f}; gate: {result.decision.reason}. "
        f"Peak RSS {peak_rss_mib():,.0f} MiB (Sail runs in this process). Generating the synthetic tables took "
        f"{generated:.1f} s (not part of the job).",
    ]
    write_results("training", report, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
