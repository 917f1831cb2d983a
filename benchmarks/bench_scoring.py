"""Benchmark: batch scoring paths against plain pandas predict_proba of the same model, in one process.

Why: the scoring job must not be much slower than the model itself (target: rows/s >= 0.8 x pandas
predict_proba on rows already in memory). Measured on the same Delta table of MRDS-shaped rows
(synthetic, ml/synthetic.py; the real generator takes long at 1M customers), all reduced to the same
sum and count of probabilities, which are checked equal:
  job path      ml.scoring.predict: mapInArrow, the pipeline shipped inside the function
  map_in_pandas the same with mapInPandas (the engine converts each batch to pandas)
  driver pandas toPandas of the table, one predict_proba, createDataFrame of the result
  spark_udf     mlflow.pyfunc.spark_udf on the registered model (pyfunc with schema enforcement)
plus the whole `score()` job (champion load, checks, prediction, decision, Delta partition write).

Run: `python benchmarks/bench_scoring.py --rows 100000 1000000`; writes benchmarks/results/scoring.{md,json}.
Medians of --repeat runs after one warm-up run of each path; CPU seconds are this process's (Sail runs
in it). The model: the project pipeline with the default hyper-parameters, 50 boosting rounds (the
daily runs on generated data chose 22-35), fitted on 20,000 synthetic rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, write_results  # noqa: E402

from lakehouse.core.engine import start_engine  # noqa: E402
from lakehouse.core.job_settings import TrainingSettings  # noqa: E402
from lakehouse.core.settings import load_settings  # noqa: E402
from lakehouse.core.storage import TableStore  # noqa: E402
from lakehouse.platform import tracking  # noqa: E402
from ml import registry  # noqa: E402
from ml.features.definitions import ENTITY_KEY  # noqa: E402
from ml.scoring import PREDICTION_SCHEMA, predict, predict_batches, score  # noqa: E402
from ml.serialization import ALLOW_LOAD, log_model  # noqa: E402
from ml.synthetic import synthetic_tables, write_tables  # noqa: E402
from ml.training.pipeline import INPUT_COLUMNS, build_pipeline, model_input  # noqa: E402

DAY = date(2026, 3, 1)
COLUMNS = list(INPUT_COLUMNS)


def fit_model() -> Any:
    frame = synthetic_tables(20_000, DAY, 1, seed=1)["ards"]
    labels = (frame["cancellation_contacts_30d"] + np.random.default_rng(0).poisson(0.3, len(frame)) > 0).astype(int)
    cfg = TrainingSettings(params={"hist_gradient_boosting": {**TrainingSettings().model_params, "max_iter": 50}})
    return build_pipeline(cfg).fit(model_input(frame), labels)


def register_champion(model: Any) -> str:
    import mlflow

    with mlflow.start_run():
        info = log_model(model, model_input(synthetic_tables(5, DAY, 1)["ards"]))
    client = mlflow.MlflowClient()
    version = registry.register(client, "bench_model", info.model_uri, {})
    client.set_registered_model_alias("bench_model", registry.CHAMPION, version)
    return f"models:/bench_model/{version}"


def map_in_pandas(df: DataFrame, model: Any) -> DataFrame:
    return df.select(ENTITY_KEY, *COLUMNS).mapInPandas(partial(predict_batches, model), PREDICTION_SCHEMA)


def driver_pandas(df: DataFrame, model: Any) -> DataFrame:
    rows = df.select(ENTITY_KEY, *COLUMNS).toPandas()
    return df.sparkSession.createDataFrame(next(predict_batches(model, iter([rows]))), PREDICTION_SCHEMA)


def spark_udf(df: DataFrame, uri: str) -> DataFrame:
    import mlflow

    udf = mlflow.pyfunc.spark_udf(df.sparkSession, uri, result_type="array<double>", env_manager="local")
    return df.select(ENTITY_KEY, udf(F.struct(*COLUMNS))[1].alias("probability"))


def timed(action: Callable[[], Any], repeat: int) -> tuple[dict[str, float], Any]:
    """Median wall and CPU seconds of `repeat` runs after a warm-up run; the last result."""
    result = action()
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        result = action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"seconds": statistics.median(walls), "cpu_seconds": statistics.median(cpus), "samples": walls}, result


def totals(predictions: DataFrame) -> tuple[float, int]:
    row = predictions.agg(F.sum("probability"), F.count(F.lit(1))).first()
    return float(row[0]), int(row[1])


def measure(spark: Any, settings: Any, model: Any, uri: str, rows: int, repeat: int) -> list[dict[str, Any]]:
    store = TableStore(spark, settings)
    ards = synthetic_tables(rows, DAY, 1, seed=2)["ards"]
    write_tables(spark, store, {"mrds": ards.assign(as_of_date=DAY)})
    table = store.read("mrds")
    in_memory = table.toPandas()
    baselines = {}
    for threads in (None, 1):  # the baseline is the faster of the library default and one native thread
        with threadpool_limits(limits=threads):
            baselines[threads], proba = timed(lambda: model.predict_proba(in_memory)[:, 1], repeat)
    baseline = min(baselines.values(), key=lambda b: b["seconds"])
    expected = (float(proba.sum()), len(proba))
    paths = {
        "job path (mapInArrow)": lambda: totals(predict(table, model, COLUMNS)),
        "mapInPandas": lambda: totals(map_in_pandas(table, model)),
        "driver pandas": lambda: totals(driver_pandas(table, model)),
        "spark_udf": lambda: totals(spark_udf(table, uri)),
    }
    results = [{"rows": len(in_memory), "path": f"pandas predict_proba, {'default threads' if t is None else '1 thread'}",
                **b, "ratio": baseline["seconds"] / b["seconds"], "equal": True} for t, b in baselines.items()]
    for name, action in paths.items():
        timing, (total, count) = timed(action, repeat)
        equal = count == expected[1] and abs(total - expected[0]) <= 1e-9 * max(1.0, abs(expected[0]))
        results.append({"rows": count, "path": name, **timing, "ratio": baseline["seconds"] / timing["seconds"], "equal": equal})
    job, result = timed(lambda: score(spark, settings, DAY), repeat)
    results.append({"rows": result.rows, "path": "score() job, end to end", **job, "ratio": baseline["seconds"] / job["seconds"],
                    "equal": result.rows == expected[1]})
    return results


def markdown(info: dict[str, Any], params: dict[str, Any], results: list[dict[str, Any]]) -> str:
    lines = [
        "# Scoring benchmark: scoring paths vs plain pandas predict_proba of the same model",
        "",
        f"`python benchmarks/bench_scoring.py --rows {' '.join(map(str, params['rows']))} --repeat {params['repeat']}`: "
        "MRDS-shaped synthetic rows (ml/synthetic.py) in a Delta table, scored by the project pipeline "
        "(HistGradientBoosting, 50 rounds). Median of the repeats after a warm-up run.",
        "",
        f"Machine: {info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs, {info['memory_gib']} GiB, 1-min load "
        f"{info['load_average_1m_at_start']} at start, {params['load_at_end']} at end (shared machine); Python "
        f"{info['python']}, " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f". Date: {info['date']}. "
        f"Commit: {info['git_commit']}.",
        "",
        "| rows | path | seconds | rows/s | ratio to pandas predict | CPU s | same result |",
        "|---:|---|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        lines.append(f"| {r['rows']:,} | {r['path']} | {r['seconds']:.2f} | {r['rows'] / r['seconds']:,.0f} | "
                     f"{r['ratio']:.2f} | {r['cpu_seconds']:.2f} | {'yes' if r['equal'] else 'NO'} |")
    lines += [
        "",
        "Ratio = baseline seconds / path seconds on the same rows (= rows/s ratio; target >= 0.8), where the baseline "
        "is the faster of the two pandas predict_proba rows (native threads as the library defaults, or one): "
        "one call on rows already in memory, in this process; every path starts from the Delta table and ends with the "
        "probabilities' sum and count computed by the engine (checked equal to the baseline's). The `score()` row "
        "is the whole daily job: champion loaded from the registry, feature table and signature checks, prediction, "
        "decision, replaceWhere of the date's partition. All samples are in scoring.json.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    info = machine_info(("pysail", "pyspark", "scikit-learn", "mlflow", "pandas", "pyarrow"))
    os.environ[ALLOW_LOAD] = "true"  # spark_udf loads the model inside the engine's Python workers
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        settings = load_settings("local", storage_root=Path(tmp) / "warehouse", landing_path=str(Path(tmp) / "landing"),
                                 mlflow_tracking_uri=uri, mlflow_registry_uri=uri, model_name="bench_model")
        engine = start_engine(settings)
        try:
            tracking.configure(settings)
            import mlflow

            mlflow.set_experiment(experiment_id=tracking.experiment_id(settings))
            model = fit_model()
            uri = register_champion(model)
            results = [r for rows in args.rows for r in measure(engine.spark, settings, model, uri, rows, args.repeat)]
        finally:
            engine.stop()
    params = {"rows": args.rows, "repeat": args.repeat, "load_at_end": round(os.getloadavg()[0], 2)}
    json_path, md_path = write_results("scoring", {"machine": info, "params": params, "results": results},
                                       markdown(info, params, results))
    print(md_path.read_text())


if __name__ == "__main__":
    main()
