"""Benchmark of the offline feature pipeline (landing -> bronze -> silver -> gold ARDS) on the local DLT runtime.

What it measures (issue 3, Benchmarks), at `--customers` customers and about customers x 10 transactions/day:

1. one day's incremental update after `--days - 1` days of history (wall time, per-dataset breakdown);
2. expectation overhead: the same update run by the pipeline with its rules and by temporary copies of
   dlt/offline_features with every `@dlt.expect*` decorator removed (a) keeping and (b) also removing the
   quarantine tables, each from an identical copy of the storage state (target: rules / no rules <= 1.15);
3. cost growth: the update of day `--days` vs the update of day 1 at the same daily volume (target <= 1.3),
   per dataset, plus the curve of every history day.

How: `generate_range` writes the drops of days 1..N into a landing folder under `--work` (timed on its own).
History is built the way production builds it: one incremental update per day, days 1..N-1, each in a
fresh engine (as a daily job process would be); every one is recorded. The storage state after day N-1 is
then snapshotted (hard links; nothing in the pipeline rewrites a file in place, and the snapshot's files
are checked unchanged at the end). The measured runs then alternate, `--repeat` times in rotated order:
day 1 from empty storage, and day N from a fresh copy of the snapshot with rules / without rules (a) / (b).
Each run gets a fresh engine, started outside the timed region; the timed region is `run_update` only.
Per dataset the runtime's own durations (UpdateResult) are split into phases by timing wrappers put around
the runtime's functions in this process (no project code is changed): ingest (landing files parsed and
staged), stream_read (delta-rs listing of a streaming read's new files), stage (a materialized view's rows
computed once to scratch Parquet), check (the one aggregate pass per flow: expectation counts, rows in,
partition values), write (Delta write), merge (apply_changes: staging, append of new keys, MERGE).

    .venv/bin/python benchmarks/bench_offline_pipeline.py                      # quick: 10k customers, 10 days
    .venv/bin/python benchmarks/bench_offline_pipeline.py --customers 100000 --days 60

Writes benchmarks/results/offline_pipeline.{md,json} (or --output-name). Generated data goes under --work
(default /tmp/bench_offline) and is removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import functools
import json
import os
import shutil
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, ROOT, machine_info, peak_rss_mib, reset_peak_rss, write_results  # noqa: E402
from rich.console import Console  # noqa: E402
from state import generate, log, restore  # noqa: E402

from lakehouse.core.engine import start_engine  # noqa: E402
from lakehouse.core.settings import Settings, load_settings  # noqa: E402
from lakehouse.core.storage import TableStore  # noqa: E402
from lakehouse.local.datagen import GeneratorConfig  # noqa: E402
from lakehouse.local.dlt_runtime import (  # noqa: E402
    auto_loader,  # noqa: E402
    cdc,
    event_log,
    execution,
    reads,
    run_update,  # noqa: E402
    runner,
    writers,
)
from lakehouse.local.dlt_runtime.sources import register_streaming_source  # noqa: E402
from lakehouse.local.pipelines import local_pipeline  # noqa: E402
from ml.features.definitions import LOOKBACK_DAYS  # noqa: E402

PIPELINE = "offline_features"
SOURCE_DIR = ROOT / "dlt" / PIPELINE
QUIET = Console(quiet=True)
PHASES = ("ingest", "stream_read", "stage", "check", "write", "merge")
VARIANTS = ("day1", "rules", "no_rules_keep_quarantine", "no_rules_no_quarantine")


# ---------------------------------------------------------------------------------------------------
# Phase timing: wrappers around the runtime's functions, in this process only.
# ---------------------------------------------------------------------------------------------------
class Probe:
    """Seconds per (dataset, phase) and per update-level step, for the update currently running."""

    def __init__(self) -> None:
        self.datasets: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.update: dict[str, float] = defaultdict(float)

    def reset(self) -> None:
        self.datasets.clear()
        self.update.clear()

    def timed(self, phase: str, name_of: Callable[..., str] | None, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - started
                if name_of is None:
                    self.update[phase] += seconds
                else:
                    self.datasets[name_of(*args, **kwargs)][phase] += seconds

        return wrapper


    def timed_entry(self, phase: str, name_of: Callable[..., str], manager: Callable[..., Any]) -> Callable[..., Any]:
        """Like `timed` for a context manager: the seconds spent entering it (e.g. staging a frame)."""

        @contextlib.contextmanager
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            with manager(*args, **kwargs) as value:
                self.datasets[name_of(*args, **kwargs)][phase] += time.perf_counter() - started
                yield value

        return wrapper


PROBE = Probe()


def install_probe() -> None:
    short = lambda table: str(table).split(".")[-1]  # noqa: E731
    execution.check = PROBE.timed("check", lambda frame, dataset, *a, **k: dataset.name, execution.check)
    writers.write = PROBE.timed("write", lambda store, table, dataset, *a, **k: dataset.name, writers.write)
    execution.staged = PROBE.timed_entry("stage", lambda spark, frame, directory: directory.name, execution.staged)
    cdc.apply = PROBE.timed("merge", lambda store, table, dataset, *a, **k: dataset.name, cdc.apply)
    reads.read_appended = PROBE.timed(
        "stream_read", lambda store, table, since, reader, **k: short(reader), reads.read_appended
    )
    runner.load_graph = PROBE.timed("load_graph", None, runner.load_graph)
    event_log.EventLog.flush = PROBE.timed("event_log_write", None, event_log.EventLog.flush)


def register_sources() -> None:
    """The runtime's Auto Loader source, wrapped to time file parsing and staging."""
    register_streaming_source(
        auto_loader.SOURCE,
        PROBE.timed("ingest", lambda request: request.target.split(".")[-1], auto_loader.read_cloud_files),
        hidden_columns=(auto_loader.METADATA,),
    )


# ---------------------------------------------------------------------------------------------------
# Pipeline copies without expectations
# ---------------------------------------------------------------------------------------------------
def strip_expectations(target: Path, drop_quarantine: bool) -> dict[str, int]:
    """Copy dlt/offline_features to `target` without `@dlt.expect*` decorators (and quarantine tables)."""
    target.mkdir(parents=True, exist_ok=True)
    removed = {"expectation_decorators": 0, "quarantine_tables": 0}
    for path in sorted(SOURCE_DIR.glob("*.py")):
        text = path.read_text()
        lines = text.splitlines(keepends=True)
        drop: set[int] = set()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if drop_quarantine and node.name == "quarantine":
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                drop.update(range(first, node.end_lineno + 1))
                removed["quarantine_tables"] += 1
                continue
            for deco in node.decorator_list:
                func = deco.func if isinstance(deco, ast.Call) else deco
                if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "dlt"
                        and func.attr.startswith("expect")):
                    drop.update(range(deco.lineno, deco.end_lineno + 1))
                    removed["expectation_decorators"] += 1
        kept = "".join(line for i, line in enumerate(lines, start=1) if i not in drop)
        if path.name == "silver.py":
            kept = _keep_sequence_valid(kept)
        ast.parse(kept)  # still valid Python
        if "dlt.expect" in kept:
            raise RuntimeError(f"an expectation survived in {path.name}")
        (target / path.name).write_text(kept)
    return removed


SILVER_ROWS = "    def valid():\n        return prepared(source)\n"


def _keep_sequence_valid(silver: str) -> str:
    """Without its rules, silver still drops rows with no sequencing value: auto CDC fails an update that feeds it
    one ([AUTOCDC_MICROBATCH_VALIDATION.NULL_SEQUENCE], https://docs.databricks.com/aws/en/error-messages/autocdc-microbatch-validation-error-class),
    so a pipeline without expectations must filter them itself to run at all; the baseline pays for that filter."""
    if silver.count(SILVER_ROWS) != 1:
        raise RuntimeError("silver.py's validated rows are no longer `return prepared(source)`: update the benchmark")
    return silver.replace(SILVER_ROWS, "    def valid():\n        return prepared(source).where("
                          "F.col(SOURCES[source].time_column).isNotNull())\n")


# ---------------------------------------------------------------------------------------------------
# Data and storage state
# ---------------------------------------------------------------------------------------------------
def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def file_manifest(path: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino)
            for p in path.rglob("*") if p.is_file()}


def table_stats(settings: Settings) -> dict[str, dict[str, Any]]:
    """Files and bytes per table folder, and Delta log entries (what may grow with history)."""
    base = settings.storage_root / settings.catalog / settings.schema_name
    stats = {}
    for table in sorted(p.parent for p in base.glob("*/_delta_log")):
        data = [p for p in table.rglob("*.parquet") if "_delta_log" not in p.parts]
        stats[table.name] = {
            "data_files": len(data),
            "mib": round(sum(p.stat().st_size for p in data) / 2**20, 1),
            "log_commits": len(list((table / "_delta_log").glob("*.json"))),
            "log_checkpoints": len(list((table / "_delta_log").glob("*.checkpoint*.parquet"))),
        }
    return stats


# ---------------------------------------------------------------------------------------------------
# One update
# ---------------------------------------------------------------------------------------------------
def gold_inputs(spark: Any, settings: Settings, day: date, first_day: date) -> dict[str, int]:
    """What the day's gold update reads: customer_daily rows in the lookback, and spine x lookback pairs."""
    from pyspark.sql import functions as F

    store = TableStore(spark, settings)
    start = max(day - timedelta(days=2), first_day)  # late_arrival_days = 2; dates never before the data
    daily = store.read("customer_daily")
    lookback = daily.where(F.col("activity_date").between(F.lit(start - timedelta(days=LOOKBACK_DAYS - 1)), F.lit(day)))
    dates = spark.createDataFrame([((start + timedelta(days=i)),) for i in range((day - start).days + 1)], "f date")
    pairs = lookback.join(dates, (F.col("activity_date") <= F.col("f"))
                          & (F.col("activity_date") > F.date_sub(F.col("f"), LOOKBACK_DAYS)))
    ards = store.read("ards").where(F.col("feature_date").between(F.lit(start), F.lit(day)))
    return {
        "feature_dates": (day - start).days + 1,
        "lookback_days_with_data": (day - max(start - timedelta(days=LOOKBACK_DAYS - 1), first_day)).days + 1,
        "customer_daily_rows_in_lookback": lookback.count(),
        "lookback_pairs": pairs.count(),
        "ards_rows_written": ards.count(),
        "customer_updates_rows": store.read("silver_customer_updates").count(),
    }


def run_day(settings: Settings, day: date, first_day: date, sources: Path | None, label: str,
            inputs: bool = True) -> dict[str, Any]:
    """One incremental update of `day` in a fresh engine; the timed region is run_update only."""
    started = time.perf_counter()
    engine = start_engine(settings)
    engine_s = time.perf_counter() - started
    try:
        register_sources()
        pipeline = local_pipeline(settings, PIPELINE, day)
        if sources is not None:
            pipeline = dataclasses.replace(pipeline, sources=(sources,))
        PROBE.reset()
        reset_peak_rss()
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_update(engine.spark, settings, pipeline, console=QUIET)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = peak_rss_mib()
        if not result.ok:
            raise RuntimeError(f"{label} update of {day} failed: {result.error}")
        datasets = {}
        for name, d in result.datasets.items():
            phases = {p: PROBE.datasets.get(name, {}).get(p, 0.0) for p in PHASES}
            phases["other"] = max(d.duration_s - sum(phases.values()), 0.0)
            datasets[name] = {
                "kind": d.kind, "status": d.status, "rows_in": d.rows_in, "rows_written": d.rows_written,
                "rows_dropped": d.rows_dropped, "expectations": len(d.expectations), "seconds": d.duration_s,
                "phases": phases,
            }
        flows_s = sum(d["seconds"] for d in datasets.values())
        record = {
            "label": label, "day": day.isoformat(), "day_index": (day - first_day).days + 1,
            "wall_s": wall, "update_duration_s": result.duration_s, "cpu_s": cpu, "peak_rss_mib": peak,
            "engine_start_s": engine_s, "datasets": datasets,
            "update_steps": {"load_graph": PROBE.update.get("load_graph", 0.0),
                             "event_log_write": PROBE.update.get("event_log_write", 0.0),
                             "outside_flows_total": result.duration_s - flows_s},
            "load_1m": round(os.getloadavg()[0], 2),
        }
        if inputs:
            record["gold_inputs"] = gold_inputs(engine.spark, settings, day, first_day)
        return record
    finally:
        engine.stop()


def layer_of(name: str) -> str:
    for prefix in ("bronze", "quarantine", "silver"):
        if name.startswith(prefix):
            return prefix
    if name.endswith("_checked"):
        return "silver"
    if name in ("customer_daily", "ards"):
        return name
    return name


def by_layer(record: dict[str, Any]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for name, d in record["datasets"].items():
        totals[layer_of(name)] += d["seconds"]
    totals["runtime (outside flows)"] = record["update_steps"]["outside_flows_total"]
    return dict(totals)


# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=10, help="history length N: day N is the measured day")
    parser.add_argument("--transactions-per-customer-day", type=float, default=10.0)
    parser.add_argument("--defect-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per variant (alternating)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_offline"))
    parser.add_argument("--keep", action="store_true", help="keep --work (landing data is then reused)")
    parser.add_argument("--output-name", default="offline_pipeline", help="results file name (<name>.md, .json)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where to write the results")
    args = parser.parse_args()
    if args.days < 3:
        parser.error("--days must be at least 3")

    info = machine_info(("pysail", "pyspark", "deltalake", "pyarrow"))
    install_probe()
    config = GeneratorConfig(seed=args.seed, customers=args.customers,
                             transactions_per_customer_day=args.transactions_per_customer_day,
                             defect_rate=args.defect_rate)
    first = config.world_start
    last = first + timedelta(days=args.days - 1)
    work = args.work
    landing, live, snapshot, day1_root = work / "landing", work / "live", work / "snapshot", work / "day1"
    work.mkdir(parents=True, exist_ok=True)
    partial = work / "partial.json"
    report: dict[str, Any] = {"machine": info, "params": {**vars(args), "work": str(work), "first_day": first,
                                                          "measured_day": last, "config": config.to_dict()}}

    def save_partial() -> None:
        partial.write_text(json.dumps(report, indent=2, default=str))

    def settings_for(root: Path) -> Settings:
        return load_settings("local", storage_root=root, landing_path=str(landing))

    bench_started = time.perf_counter()
    try:
        log(f"generating {args.days} days at {args.customers:,} customers into {landing}")
        report["generator"] = generate(config, landing, first, last)
        if not report["generator"]["reused"]:
            g = report["generator"]
            log(f"generator: {g['rows']:,} rows in {g['seconds']:.1f} s ({g['rows_per_s']:,.0f} rows/s), "
                f"{g['bytes'] / 2**30:.2f} GiB")
        report["disk_landing_gib"] = tree_size(landing) / 2**30
        save_partial()

        stripped = {
            "no_rules_keep_quarantine": work / "pipelines" / "keep_quarantine" / PIPELINE,
            "no_rules_no_quarantine": work / "pipelines" / "no_quarantine" / PIPELINE,
        }
        report["stripped"] = {
            name: strip_expectations(path, drop_quarantine=name.endswith("no_quarantine"))
            for name, path in stripped.items()
        }

        # History: one incremental update per day, days 1 .. N-1, as production would build it.
        log(f"history: daily incremental updates {first} .. {last - timedelta(days=1)}")
        shutil.rmtree(live, ignore_errors=True)
        history = []
        history_started = time.perf_counter()
        for i in range(args.days - 1):
            day = first + timedelta(days=i)
            sample = i < 3 or (i + 1) % 10 == 0 or i == args.days - 2  # gold-input counts cost a few seconds
            record = run_day(settings_for(live), day, first, None, "history", inputs=sample)
            history.append(record)
            pairs = record["gold_inputs"]["lookback_pairs"] if sample else None
            layers = by_layer(record)
            log(f"  day {i + 1:>3} {day}: {record['wall_s']:6.1f} s  (bronze {layers.get('bronze', 0):.1f}, "
                f"silver {layers.get('silver', 0):.1f}, quarantine {layers.get('quarantine', 0):.1f}, "
                f"customer_daily {layers.get('customer_daily', 0):.1f}, ards {layers.get('ards', 0):.1f}; "
                f"pairs {'-' if pairs is None else format(pairs, ',')}; peak RSS {record['peak_rss_mib']:,.0f} MiB; load {record['load_1m']})")
            report["history"] = history
            save_partial()
        report["history_seconds"] = time.perf_counter() - history_started
        report["tables_before_measured_day"] = table_stats(settings_for(live))
        report["disk_warehouse_gib"] = tree_size(live) / 2**30
        log(f"warehouse after day {args.days - 1}: {report['disk_warehouse_gib']:.2f} GiB")

        shutil.rmtree(snapshot, ignore_errors=True)
        live.rename(snapshot)
        before = file_manifest(snapshot)

        # Measured runs: variants alternate in rotated order, each from an identical starting state.
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        for rep in range(args.repeat):
            order = VARIANTS[rep % len(VARIANTS):] + VARIANTS[: rep % len(VARIANTS)]
            for variant in order:
                if variant == "day1":
                    shutil.rmtree(day1_root, ignore_errors=True)
                    record = run_day(settings_for(day1_root), first, first, None, variant)
                else:
                    restore(snapshot, live)
                    record = run_day(settings_for(live), last, first, stripped.get(variant), variant)
                    if variant != "rules":
                        leftover = [n for n, d in record["datasets"].items() if d["expectations"]]
                        if leftover:
                            raise RuntimeError(f"{variant}: datasets still have expectations: {leftover}")
                runs[variant].append(record)
                log(f"  rep {rep + 1} {variant:<26} {record['wall_s']:6.1f} s  peak RSS "
                    f"{record['peak_rss_mib']:,.0f} MiB  load {record['load_1m']}")
                report["runs"] = runs
                save_partial()
        after = file_manifest(snapshot)
        changed = [p for p in before if after.get(p) != before[p]]
        report["snapshot_unchanged"] = not changed and before.keys() == after.keys()
        if not report["snapshot_unchanged"]:
            raise RuntimeError(f"the snapshot changed during the measured runs: {changed[:5]}")
        report["summary"] = summarize(runs)
    finally:
        report["bench_seconds"] = time.perf_counter() - bench_started
        report["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
        report["disk_work_gib_at_end"] = tree_size(work) / 2**30
        save_partial()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    md = markdown(report)
    paths = write_results(args.output_name, report, md, args.results_dir)
    print(md)
    log(f"wrote {paths[0]} and {paths[1]}")


# ---------------------------------------------------------------------------------------------------
# Summary and report
# ---------------------------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    med = {v: median([r["wall_s"] for r in rs]) for v, rs in runs.items()}
    # Paired ratios: the runs of one repetition ran next to each other (similar machine load).
    paired = {
        f"rules/{v}": [a["wall_s"] / b["wall_s"] for a, b in zip(runs["rules"], runs[v])]
        for v in ("no_rules_keep_quarantine", "no_rules_no_quarantine", "day1")
    }
    names = list(runs["rules"][0]["datasets"])
    for r in runs["day1"][0]["datasets"]:
        if r not in names:
            names.append(r)
    per_dataset = {}
    for name in names:
        row = {}
        for v in VARIANTS:
            vals = [r["datasets"][name]["seconds"] for r in runs[v] if name in r["datasets"]]
            row[v] = median(vals) if vals else None
            phases = {}
            for p in (*PHASES, "other"):
                pv = [r["datasets"][name]["phases"][p] for r in runs[v] if name in r["datasets"]]
                phases[p] = median(pv) if pv else None
            row[f"{v}_phases"] = phases
        per_dataset[name] = row
    steps = {v: {k: median([r["update_steps"][k] for r in rs]) for k in rs[0]["update_steps"]} for v, rs in runs.items()}
    return {
        "median_wall_s": med,
        "median_cpu_s": {v: median([r["cpu_s"] for r in rs]) for v, rs in runs.items()},
        "max_peak_rss_mib": {v: max(r["peak_rss_mib"] for r in rs) for v, rs in runs.items()},
        "ratio_expectations_vs_no_rules_no_quarantine": med["rules"] / med["no_rules_no_quarantine"],
        "ratio_expectations_vs_no_rules_keep_quarantine": med["rules"] / med["no_rules_keep_quarantine"],
        "ratio_dayN_vs_day1": med["rules"] / med["day1"],
        "cpu_ratios": {
            "rules/no_rules_no_quarantine": median([r["cpu_s"] for r in runs["rules"]])
            / median([r["cpu_s"] for r in runs["no_rules_no_quarantine"]]),
            "rules/no_rules_keep_quarantine": median([r["cpu_s"] for r in runs["rules"]])
            / median([r["cpu_s"] for r in runs["no_rules_keep_quarantine"]]),
            "rules/day1": median([r["cpu_s"] for r in runs["rules"]]) / median([r["cpu_s"] for r in runs["day1"]]),
        },
        "paired_ratios": paired,
        "per_dataset_median_s": per_dataset,
        "update_steps_median_s": steps,
    }


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def markdown(r: dict[str, Any]) -> str:
    m, p = r["machine"], r["params"]
    n = p["days"]
    lines = [
        "# Offline feature pipeline benchmark: daily update, expectation overhead, cost growth",
        "",
        f"`python benchmarks/bench_offline_pipeline.py --customers {p['customers']} --days {n} --repeat {p['repeat']}`"
        f" (transactions_per_customer_day={p['transactions_per_customer_day']}, defect_rate={p['defect_rate']}, "
        f"seed={p['seed']}; other GeneratorConfig fields default).",
        "",
        f"Machine: {m['platform']}, {m['cpu']}, {m['cpu_count']} CPUs, {m['memory_gib']} GiB; 1-min load "
        f"{m['load_average_1m_at_start']} at start, {m.get('load_average_1m_at_end')} at end (shared machine). "
        f"Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ". "
        f"Date: {m['date']}. Commit: {m['git_commit']}.",
        "",
    ]
    if "summary" not in r:
        lines += ["**Incomplete run** (see the JSON for what was recorded).", ""]
        return "\n".join(lines)
    s = r["summary"]
    med = s["median_wall_s"]
    g = r["generator"]
    lines += [
        "## Results",
        "",
        "| measurement | median wall s | runs (s) | median CPU s | peak RSS MiB |",
        "|---|---:|---|---:|---:|",
    ]
    label = {
        "day1": "day 1 update (empty storage)",
        "rules": f"day {n} update, pipeline as is (rules)",
        "no_rules_keep_quarantine": f"day {n}, no `@dlt.expect*` (quarantine tables kept)",
        "no_rules_no_quarantine": f"day {n}, no `@dlt.expect*`, no quarantine tables",
    }
    for v in VARIANTS:
        rs = r["runs"][v]
        runs_text = ", ".join(f"{x['wall_s']:.1f}" for x in rs)
        lines.append(f"| {label[v]} | {med[v]:.1f} | {runs_text} | "
                     f"{s['median_cpu_s'][v]:.1f} | {s['max_peak_rss_mib'][v]:,.0f} |")
    paired = s["paired_ratios"]
    lines += [
        "",
        f"- **Expectation overhead: {s['ratio_expectations_vs_no_rules_no_quarantine']:.2f}** (rules / no rules and no "
        f"quarantine tables; target <= 1.15); {s['ratio_expectations_vs_no_rules_keep_quarantine']:.2f} against the copy "
        f"that keeps the quarantine tables (decorators only). Paired per repetition: "
        + ", ".join(f"{x:.2f}" for x in paired["rules/no_rules_no_quarantine"]) + " and "
        + ", ".join(f"{x:.2f}" for x in paired["rules/no_rules_keep_quarantine"]) + ".",
        f"- **Cost growth: {s['ratio_dayN_vs_day1']:.2f}** (day {n} / day 1 median; target <= 1.3); paired "
        + ", ".join(f"{x:.2f}" for x in paired["rules/day1"]) + ".",
        "- Same ratios on the process's CPU seconds (Sail runs in-process; steadier than wall time on a shared "
        "machine): " + ", ".join(f"{k} {v:.2f}" for k, v in s["cpu_ratios"].items()) + ".",
    ]
    if not g.get("reused"):
        lines.append(f"- Generator (not in any update time): {g['rows']:,} rows, {g['bytes'] / 2**30:.2f} GiB in "
                     f"{g['seconds']:.0f} s ({g['rows_per_s']:,.0f} rows/s).")
    lines += [
        f"- History: {n - 1} daily incremental updates in {r['history_seconds'] / 60:.1f} min; warehouse "
        f"{r['disk_warehouse_gib']:.2f} GiB, landing {r['disk_landing_gib']:.2f} GiB. Whole benchmark "
        f"{r['bench_seconds'] / 60:.1f} min.",
        "",
        "## Per dataset (median seconds; phases of the day-N rules run)",
        "",
        f"| dataset | day 1 | day {n} rules | day {n} / day 1 | no rules (keep q.) | no rules, no q. | "
        "ingest | stream_read | stage | check | write | merge | other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in s["per_dataset_median_s"].items():
        ph = row["rules_phases"]
        ratio = row["rules"] / row["day1"] if row["rules"] and row["day1"] else None
        lines.append(
            f"| {name} | {fmt(row['day1'])} | {fmt(row['rules'])} | {fmt(ratio)} | "
            f"{fmt(row['no_rules_keep_quarantine'])} | {fmt(row['no_rules_no_quarantine'])} | "
            + " | ".join(fmt(ph[k]) for k in (*PHASES, "other")) + " |"
        )
    st = s["update_steps_median_s"]
    lines.append(
        f"| (runtime outside flows) | {fmt(st['day1']['outside_flows_total'])} | {fmt(st['rules']['outside_flows_total'])} | | "
        f"{fmt(st['no_rules_keep_quarantine']['outside_flows_total'])} | {fmt(st['no_rules_no_quarantine']['outside_flows_total'])} | "
        f"load_graph {fmt(st['rules']['load_graph'])}, event log write {fmt(st['rules']['event_log_write'])} | | | | | | |"
    )
    d1, dn = r["runs"]["day1"][0].get("gold_inputs", {}), r["runs"]["rules"][0].get("gold_inputs", {})
    lines += [
        "",
        "## What the gold update reads (first run of each)",
        "",
        "| | day 1 | day N |",
        "|---|---:|---:|",
        *(f"| {k} | {d1.get(k, 0):,} | {dn.get(k, 0):,} |" for k in dn),
        "",
        "## History curve (one run per day, noisy)",
        "",
        "| day | wall s | bronze | silver | quarantine | customer_daily | ards | runtime | lookback pairs | peak RSS MiB | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for h in r["history"]:
        L = by_layer(h)
        lines.append(
            f"| {h['day_index']} | {h['wall_s']:.1f} | {L.get('bronze', 0):.1f} | {L.get('silver', 0):.1f} | "
            f"{L.get('quarantine', 0):.1f} | {L.get('customer_daily', 0):.1f} | {L.get('ards', 0):.1f} | "
            f"{L['runtime (outside flows)']:.1f} | {format(h['gold_inputs']['lookback_pairs'], ',') if 'gold_inputs' in h else ''} | "
            f"{h['peak_rss_mib']:,.0f} | {h['load_1m']} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
