"""Benchmark: one daily job (churn_daily) at N customers, and its data path against a framework-free script.

Why: the daily job is what runs every day; this gives its wall time and peak memory per task at scale
(issue 8) and prices the framework (issue 11): the job's data path (the offline_features and
online_features pipeline tasks: ingest, bronze, silver, gold, MRDS through the local DLT runtime)
against benchmarks/baseline_daily.py, the same data work as plain PySpark on the same engine, same data,
same process, each run from an identical copy of the state. The baseline's outputs are checked equal
to the framework's (silver row counts, the ARDS rows of the day's window value for value, the MRDS).

Setup (not timed, reused while the data and the code of the first deployment stay the same):
`--history` days of generated drops (defect rate 0: Sail cannot read malformed files without the
runtime's tolerant parser), one incremental offline update per day, then the daily job for the last history
day (features, data quality, first model trained and promoted), kept as a snapshot. Measured:
the daily job for the next day (every task), then `--repeat` alternating pairs of data path / baseline.

    .venv/bin/python benchmarks/bench_daily.py --customers 100000 [--history 45] [--repeat 2]
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline_daily import SILVER, Tables  # noqa: E402
from baseline_daily import run as run_baseline
from common import BENCHMARKS, Measured, machine_info, measured, write_results  # noqa: E402
from state import generate, log, restore  # noqa: E402

from lakehouse.core.engine import start_engine  # noqa: E402
from lakehouse.core.settings import Settings, load_settings  # noqa: E402
from lakehouse.local.datagen import GeneratorConfig  # noqa: E402
from lakehouse.local.jobs.runner import RunOptions, run_job  # noqa: E402
from lakehouse.local.jobs.spec import bundle_jobs  # noqa: E402
from lakehouse.local.pipelines import run_pipeline  # noqa: E402
from ml.features.definitions import ENTITY_KEY, TIMESERIES_KEY  # noqa: E402

JOB = "churn_daily"
DATA_PATH = ("offline_features", "online_features")


def work_dir(customers: int) -> Path:
    return BENCHMARKS / "work" / "daily" / str(customers)


def work_settings(root: Path, landing: Path) -> Settings:
    """Everything of a run under `root` (tables, MLflow, reports), so a copy of `root` is a complete state.

    Training includes feature dates with incomplete windows: the benchmark's history (45 days by default) is shorter
    than the longest feature window (90 days), and by default training refuses such a history (NotEnoughHistory);
    the job's cost is what is measured here, not the model."""
    uri = f"sqlite:///{root}/mlflow/mlflow.db"
    return load_settings("local", storage_root=root / "warehouse", landing_path=str(landing), mlflow_tracking_uri=uri,
                         mlflow_registry_uri=uri, blob={"local_dir": root / "blob"},
                         training={"incomplete_windows": "include"})


def tables_dir(settings: Settings) -> Path:
    return settings.storage_root / settings.catalog / settings.schema_name


def prepare(customers: int, history: int) -> dict[str, Any]:
    """Drops for history + 1 days and the state after the daily job of the last history day (reused).

    The history is built the way production builds it: one incremental offline update per day (in a fresh
    engine each, as a job process would), then the whole daily job for the last history day, which trains
    and promotes the first model. (A first deployment's full refresh of 45 days took 28 min at 100k
    customers; 45 daily updates take a fraction of that, and they leave the tables as daily runs do.)
    """
    work = work_dir(customers)
    config = GeneratorConfig(customers=customers)
    first = config.world_start
    day = first + timedelta(days=history)
    marker = work / "snapshot.json"
    key = {"config": config.to_dict(), "history": history, "built_by": "daily updates"}
    info = {"generator": generate(config, work / "landing", first, day)}
    if marker.exists() and json.loads(marker.read_text())["key"] == key and not info["generator"].get("seconds"):
        return {**json.loads(marker.read_text()), "reused": True}
    live, snapshot = work / "live", work / "snapshot"
    for path in (live, snapshot):
        shutil.rmtree(path, ignore_errors=True)
    settings = work_settings(live, work / "landing")
    updates = [history_update(settings, first + timedelta(days=i)) for i in range(history - 1)]
    engine = start_engine(settings)
    try:
        began = time.perf_counter()
        run = run_job(engine.spark, settings, bundle_jobs()[JOB], day - timedelta(days=1), RunOptions())
        seconds = time.perf_counter() - began
    finally:
        engine.stop()
    if not run.leaves_ok(bundle_jobs()[JOB]):
        raise RuntimeError(f"first job run failed: {run.failures() or run.status}")
    live.rename(snapshot)
    info |= {"key": key, "day": day.isoformat(), "history_updates": updates, "first_job_s": round(seconds, 1),
             "first_job_tasks": {k: round(r.duration_s, 1) for k, r in run.tasks.items()}}
    marker.write_text(json.dumps(info, default=str))
    return {**info, "reused": False}


def history_update(settings: Settings, day: date) -> dict[str, Any]:
    """One day's offline update in a fresh engine; its wall time shows whether cost grows with history."""
    seconds = data_path(settings, day, ("offline_features",))["seconds"]
    log(f"  history {day}: offline update {seconds:.1f} s")
    return {"day": day.isoformat(), "seconds": round(seconds, 2)}


def restore_state(snapshot: Path, live: Path) -> None:
    """`live` := the snapshot: hard links for the tables (their writers only add files or rename), a real copy
    of MLflow's SQLite database and artifacts (SQLite writes in place, which would change the snapshot)."""
    restore(snapshot, live)
    shutil.rmtree(live / "mlflow")
    shutil.copytree(snapshot / "mlflow", live / "mlflow")


def in_engine(settings: Settings, action: Callable[[Any], Any]) -> Measured:
    """`action(spark)` in a fresh engine (its start not timed): wall, CPU, peak RSS and the value."""
    engine = start_engine(settings)
    try:
        return measured(lambda: action(engine.spark))
    finally:
        engine.stop()


def job_run(settings: Settings, day: date, profile: Path | None = None) -> dict[str, Any]:
    """The whole job; with `profile`, under cProfile (stats written there; timings then include its overhead)."""
    def job(spark: Any) -> Any:
        if profile is None:
            return run_job(spark, settings, bundle_jobs()[JOB], day, RunOptions())
        profiler = cProfile.Profile()
        try:
            return profiler.runcall(run_job, spark, settings, bundle_jobs()[JOB], day, RunOptions())
        finally:
            profiler.dump_stats(profile)

    result = in_engine(settings, job)
    run = result.value
    if not run.leaves_ok(bundle_jobs()[JOB]):
        raise RuntimeError(f"the measured job run of {day} failed: {run.failures() or run.status}")
    tasks = {k: round(r.duration_s, 2) for k, r in run.tasks.items()}
    return {**result.numbers(), "tasks": tasks, "status": run.status, "data_path_s": sum(tasks[t] for t in DATA_PATH)}


def data_path(settings: Settings, day: date, keys: tuple[str, ...] = DATA_PATH) -> dict[str, Any]:
    """The day's updates of the pipelines `keys` in a fresh engine (a failed update raises)."""
    def pipelines(spark: Any) -> None:
        for key in keys:
            result = run_pipeline(spark, settings, key, day)
            if not result.ok:
                raise RuntimeError(f"{key} update of {day} failed: {result.error}")

    return in_engine(settings, pipelines).numbers()


def baseline(settings: Settings, day: date) -> dict[str, Any]:
    result = in_engine(settings, lambda spark: run_baseline(spark, Tables(spark, tables_dir(settings)),
                                                            settings.landing, day))
    return {**result.numbers(), "steps": result.value}


def differing(a: Any, b: Any, keys: list[str]) -> int:
    """Rows of `a` and `b` (same columns) not matched by key with equal values; doubles within 1e-9 relative
    (sums in another order differ in the last bits)."""
    from pyspark.sql import functions as F

    def same(f: Any) -> Any:
        x, y = F.col(f"a.{f.name}"), F.col(f"b.{f.name}")
        if f.dataType.typeName() == "double":
            close = F.abs(x - y) <= F.greatest(F.abs(x), F.abs(y), F.lit(1.0)) * 1e-9
            return (x.isNull() & y.isNull()) | F.coalesce(close, F.lit(False))
        return x.eqNullSafe(y)

    matched = a.alias("a").join(b.alias("b"), keys)
    equal = [same(f) for f in a.schema.fields if f.name not in keys]
    unequal = matched.where(~functools.reduce(lambda p, q: p & q, equal)).count()
    return a.count() + b.count() - 2 * matched.count() + unequal


def compare(settings: Settings, framework: Path, plain: Path, day: date) -> dict[str, Any]:
    """Row counts of every silver table; the ARDS rows of the day's window and the MRDS, value for value."""
    def check(spark: Any) -> dict[str, Any]:
        def load(root: Path, table: str) -> Any:
            return spark.read.format("delta").load(str(root / table))

        counts = {t: (load(framework, t).count(), load(plain, t).count())
                  for t in ("silver_customer_updates", *(s for s, *_ in SILVER.values()), "mrds")}
        window = f"{TIMESERIES_KEY} BETWEEN DATE'{day - timedelta(days=2)}' AND DATE'{day}'"
        a, b = (load(root, "ards").where(window) for root in (framework, plain))
        differ = {"ards_window_rows": a.count(), "ards_window_differing": differing(a, b, [ENTITY_KEY, TIMESERIES_KEY]),
                  "mrds_differing": differing(load(framework, "mrds"), load(plain, "mrds"), [ENTITY_KEY])}
        equal = all(x == y for x, y in counts.values()) and differ["ards_window_differing"] == differ["mrds_differing"] == 0
        return {"row_counts": counts, **differ, "equal": equal}

    return in_engine(settings, check).value


def run(customers: int, history: int = 45, repeat: int = 2, profile: Path | None = None) -> dict[str, Any]:
    """Prepare (or reuse) the state, then the job once and `repeat` alternating data path / baseline pairs."""
    info = machine_info(("pysail", "pyspark", "deltalake", "mlflow", "scikit-learn"))
    with multiprocessing.get_context("spawn").Pool(1) as child:
        # MLflow keeps its SQLite connections per URI for the life of a process, and prepare() moves the state's
        # database (live -> snapshot): measured runs in the same process would write through a stale handle.
        setup = child.apply(prepare, (customers, history))
    work = work_dir(customers)
    day = date.fromisoformat(setup["day"])
    live, plain = work / "live", work / "baseline"
    framework_settings, plain_settings = work_settings(live, work / "landing"), work_settings(plain, work / "landing")
    restore_state(work / "snapshot", live)
    job = job_run(framework_settings, day, profile)
    restore_state(work / "snapshot", plain)
    runs = {"data_path": [{"seconds": job["data_path_s"], "within_job": True}], "baseline": []}
    runs["baseline"].append(baseline(plain_settings, day))
    equality = compare(framework_settings, tables_dir(framework_settings), tables_dir(plain_settings), day)
    for rep in range(1, repeat):
        order = (("baseline", plain, baseline), ("data_path", live, data_path))
        for name, root, action in order[::-1] if rep % 2 else order:
            restore_state(work / "snapshot", root)
            runs[name].append(action(work_settings(root, work / "landing"), day))
    framework_s = statistics.median(r["seconds"] for r in runs["data_path"])
    plain_s = statistics.median(r["seconds"] for r in runs["baseline"])
    cpu = {k: statistics.median(r["cpu_s"] for r in v if "cpu_s" in r) if len(v) > 1 else None for k, v in runs.items()}
    info["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    return {"machine": info, "params": {"customers": customers, "history_days": history, "repeat": repeat,
                                        "measured_day": day.isoformat()},
            "setup": setup, "job": job, "runs": runs, "equality": equality,
            "summary": {"job_s": job["seconds"], "job_peak_rss_mib": job["peak_rss_mib"], "data_path_s": framework_s,
                        "baseline_s": plain_s, "overhead_ratio": framework_s / plain_s, "data_path_cpu_s": cpu["data_path"],
                        "baseline_cpu_s": cpu["baseline"],
                        "cpu_overhead_ratio": cpu["data_path"] / cpu["baseline"] if cpu["data_path"] else None,
                        "baseline_peak_rss_mib": max(r["peak_rss_mib"] for r in runs["baseline"])}}


def markdown(r: dict[str, Any]) -> str:
    p, s, m, job = r["params"], r["summary"], r["machine"], r["job"]
    tasks = "\n".join(f"| {task} | {seconds:.1f} | {job['status'][task]} |" for task, seconds in job["tasks"].items())
    eq = r["equality"]
    counts = ", ".join(f"{t} {a:,}" + ("" if a == b else f" vs {b:,}") for t, (a, b) in eq["row_counts"].items())
    return f"""# The daily job at {p['customers']:,} customers, and its data path vs a plain PySpark script

`python benchmarks/bench_daily.py --customers {p['customers']} --history {p['history_days']} --repeat {p['repeat']}`:
day {p['measured_day']} after {p['history_days']} days of history (daily updates; the first job run on the day before).
Machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['memory_gib']} GiB; load {m['load_average_1m_at_start']} at start,
{m['load_average_1m_at_end']} at end (shared machine). {m['date']}, commit {m['git_commit']}.

| figure | value |
|---|---:|
| churn_daily, every task (wall) | {s['job_s']:.1f} s |
| churn_daily peak memory (process incl. Sail) | {s['job_peak_rss_mib']:,.0f} MiB |
| data path (offline + online pipeline), median of {len(r['runs']['data_path'])} | {s['data_path_s']:.1f} s |
| plain PySpark baseline, median of {len(r['runs']['baseline'])} | {s['baseline_s']:.1f} s |
| **framework overhead ratio** (target <= 1.25) | **{s['overhead_ratio']:.2f}** |
| same in CPU seconds (runs outside the job; steadier on a shared machine) | {s['data_path_cpu_s'] or 0:.1f} / {s['baseline_cpu_s'] or 0:.1f} = {s['cpu_overhead_ratio'] or 0:.2f} |
| baseline peak memory | {s['baseline_peak_rss_mib']:,.0f} MiB |

| task | seconds | status |
|---|---:|---|
{tasks}

Outputs equal: {'yes' if eq['equal'] else '**no**'} (rows: {counts}; ARDS rows of the day's window:
{eq['ards_window_rows']:,}, differing {eq['ards_window_differing']}; MRDS rows differing {eq['mrds_differing']};
doubles compared within 1e-9 relative). Baseline steps (s): {r['runs']['baseline'][0]['steps']}.
{history_line(r['setup'])}"""


def history_line(setup: dict[str, Any]) -> str:
    """Whether a day's offline update grows with history: the setup's daily updates, first vs last week."""
    updates = [u["seconds"] for u in setup.get("history_updates", [])]
    if len(updates) < 14:
        return ""
    first, last = statistics.median(updates[:7]), statistics.median(updates[-7:])
    return (f"\nHistory built by {len(updates)} daily offline updates (setup, one engine each): median "
            f"{first:.1f} s in the first week, {last:.1f} s in the last ({last / first:.2f}x; the ARDS lookback "
            "fills up to 90 days).\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=45, help="days before the measured day")
    parser.add_argument("--repeat", type=int, default=2, help="data path / baseline pairs (the first within the job)")
    parser.add_argument("--name", default="daily", help="results file name (<name>.md, .json)")
    parser.add_argument("--profile", type=Path, help="cProfile the job run into this file (python -m pstats FILE)")
    args = parser.parse_args(argv)
    report = run(args.customers, args.history, args.repeat, args.profile)
    write_results(args.name, report, markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
