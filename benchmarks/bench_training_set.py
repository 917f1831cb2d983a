"""Benchmark: create_training_set (point-in-time join on Sail) vs pandas merge_asof, same data, same run.

Why: the training job joins a year of label rows to a year of ARDS; this measures that join through the
feature store's public API at full scale (1M labels, 100k customers x 365 days), and checks it against
pandas `merge_asof` (direction backward, exact matches allowed, by customer), the independent reference.

Data: an ARDS-shaped Delta table (every feature column of ml/features/definitions.py with its type and
the nullable features ~10% null), built on the engine from hashes: customers sign up during the year
(30%) or churn (20%), and 1% of days are missing, so many lookups fall into gaps; labels are random
(customer, as-of date) pairs, 1% for unknown customers and some before the first or after the last day.
Sail's time covers reading both inputs and writing the training set to parquet; pandas' time covers
sorting and merge_asof on frames already in memory (its load from Delta is reported apart).

Full-scale pandas does not fit (a 36.5M x 34 frame plus merge_asof's sorted copies is far above this
machine's free memory, see the report), so the comparison runs at `--pandas-customers` with
`--pandas-labels` on the same 365 days, where both sides' rows are checked identical.

Run: `python benchmarks/bench_training_set.py`; writes benchmarks/results/training_set.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from deltalake import DeltaTable
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine_info, measured  # noqa: E402

from lakehouse.core.engine import start_engine
from lakehouse.core.settings import load_settings
from lakehouse.local.datagen.schema import DOMAINS
from lakehouse.local.feature_store import LocalFeatureStore
from ml.feature_store import FeatureLookup, ards_table
from ml.features.definitions import AS_OF, ENTITY_KEY, FEATURE_NAMES, FEATURES, NULLABLE, TIMESERIES_KEY

FIRST_DAY = date(2025, 1, 1)
SCALES = {"full": ("customers", "labels"), "small": ("pandas_customers", "pandas_labels")}


def _hash(*parts: Any, modulo: int) -> Column:
    return F.pmod(F.xxhash64(*parts), F.lit(modulo))  # Sail's rand(seed) repeats per batch: hash instead


def ards_frame(spark: Any, customers: int, days: int) -> DataFrame:
    """The ARDS-shaped rows: active customers x days, with gaps."""
    people = spark.range(customers).select(
        F.col("id").alias("c"),
        F.when(_hash("id", F.lit(1), modulo=10) < 3, _hash("id", F.lit(2), modulo=days // 2)).otherwise(0).alias("first"),
        F.when(_hash("id", F.lit(3), modulo=10) < 2, _hash("id", F.lit(4), modulo=days)).otherwise(days).alias("churn"),
    )
    grid = people.crossJoin(spark.range(days).withColumnRenamed("id", "d")).where(
        (F.col("d") >= F.col("first")) & (F.col("d") < F.greatest("churn", F.col("first") + 1))
        & (_hash("c", "d", F.lit(5), modulo=100) != 0)
    )
    domains = DOMAINS["customers"]

    def value(i: int, feature: Any) -> Column:
        h = _hash("c", "d", F.lit(100 + i), modulo=100_000)
        if feature.dtype == "string":
            options = domains.get(feature.name, ("web", "store", "partner"))
            column = F.element_at(F.array(*map(F.lit, options)), (h % len(options) + 1).cast("int"))
        elif feature.dtype == "double":
            column = F.round(h / 100.0, 2)
        else:
            column = (h % 1000).cast(feature.dtype)
        return (F.when(h % 10 != 0, column) if feature.name in NULLABLE else column).alias(feature.name)

    return grid.select(
        F.format_string("C%07d", "c").alias(ENTITY_KEY),
        F.date_add(F.lit(FIRST_DAY), F.col("d").cast("int")).alias(TIMESERIES_KEY),
        *[value(i, f) for i, f in enumerate(FEATURES)],
    )


def labels_frame(spark: Any, customers: int, days: int, rows: int) -> DataFrame:
    """Random (customer, as-of date) label rows; ~1% unknown customers, some as-of dates outside the year."""
    return spark.range(rows).select(
        F.col("id"),
        F.format_string("C%07d", _hash("id", F.lit(6), modulo=customers * 101 // 100)).alias(ENTITY_KEY),
        F.date_add(F.lit(FIRST_DAY), (_hash("id", F.lit(7), modulo=days + 10) - 5).cast("int")).alias(AS_OF),
        (_hash("id", F.lit(8), modulo=10) == 0).alias("churned"),
    )


def build(args: argparse.Namespace, work: Path) -> None:
    """Write both scales' ARDS (feature tables with their keys) and labels; run in a child process, so that
    the memory it leaves behind does not count in the measurements."""
    settings = load_settings("local", engine="sail", storage_root=work / "warehouse")
    engine = start_engine(settings)
    try:
        fs = LocalFeatureStore(engine.spark, settings)
        for scale, (customers, labels) in SCALES.items():
            customers, labels = getattr(args, customers), getattr(args, labels)
            table = replace(ards_table(settings), name=fs.store.name(f"ards_{scale}"))  # keys declared with the table
            fs.create_table(name=table.name, primary_keys=table.primary_keys, timeseries_column=table.timeseries_column,
                            df=ards_frame(fs.spark, customers, args.days), partition_columns=[TIMESERIES_KEY],
                            description=table.description, features=dict(table.features))
            labels_frame(fs.spark, customers, args.days, labels).write.parquet(str(work / f"labels_{scale}"))
    finally:
        engine.stop()


def training_set(fs: LocalFeatureStore, table: str, spine: Path, out: Path, lookback: timedelta | None) -> None:
    """The feature store call under test, materialized to parquet."""
    lookup = FeatureLookup(table_name=table, lookup_key=ENTITY_KEY, timestamp_lookup_key=AS_OF,
                           feature_names=list(FEATURE_NAMES), lookback_window=lookback)
    labels = fs.spark.read.parquet(str(spine))
    fs.create_training_set(df=labels, feature_lookups=[lookup], label="churned").load_df() \
        .write.mode("overwrite").parquet(str(out))


def pandas_inputs(fs: LocalFeatureStore, table: str, spine: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ards = DeltaTable(str(fs.store.path(table))).to_pandas(columns=[ENTITY_KEY, TIMESERIES_KEY, *FEATURE_NAMES])
    labels = pd.read_parquet(spine)
    for frame, column in ((ards, TIMESERIES_KEY), (labels, AS_OF)):
        frame[column] = pd.to_datetime(frame[column])
    return ards, labels


def pandas_join(ards: pd.DataFrame, labels: pd.DataFrame, lookback: timedelta | None) -> pd.DataFrame:
    """The reference: merge_asof, latest row with feature_date <= as_of_date per customer."""
    return pd.merge_asof(
        labels.sort_values(AS_OF), ards.sort_values(TIMESERIES_KEY), left_on=AS_OF, right_on=TIMESERIES_KEY,
        by=ENTITY_KEY, direction="backward", allow_exact_matches=True,
        tolerance=None if lookback is None else pd.Timedelta(lookback),
    ).drop(columns=[TIMESERIES_KEY])


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Both results in one representation: rows by id, dates as datetime64, numbers as float, None for missing."""
    out = frame.sort_values("id", ignore_index=True)[["id", ENTITY_KEY, AS_OF, "churned", *FEATURE_NAMES]]
    out[AS_OF] = pd.to_datetime(out[AS_OF])
    for column in FEATURE_NAMES:
        values = out[column]
        out[column] = values.astype(float) if pd.api.types.is_numeric_dtype(values) else values.where(values.notna(), None)
    return out


def identical(sail_out: Path, reference: pd.DataFrame) -> int:
    """Raises unless both results hold the same rows; returns the number of rows with features."""
    sail = normalized(pd.read_parquet(sail_out))
    expected = normalized(reference)
    pd.testing.assert_frame_equal(sail, expected, check_dtype=False, check_exact=True)
    return int(sail[FEATURE_NAMES[0]].notna().sum())


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    options = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in ("customers", "days", "labels", "pandas_customers",
                                                                     "pandas_labels")]
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, f"--build-into={work}", *options], check=True)
    results: dict[str, Any] = {"build_s": round(time.perf_counter() - started, 1)}
    settings = load_settings("local", engine="sail", storage_root=work / "warehouse")
    engine = start_engine(settings)
    try:
        fs = LocalFeatureStore(engine.spark, settings)
        for scale in SCALES:
            results[f"{scale}_ards_rows"] = fs.store.read(f"ards_{scale}").count()
        for key, lookback in (("full", None), ("full_lookback", timedelta(days=args.lookback_days)), ("small", None)):
            scale = key.split("_")[0]
            seconds, cpu, rss, _ = measured(lambda: training_set(fs, settings.table(f"ards_{scale}"), work / f"labels_{scale}",
                                                                 work / key, lookback))
            results[key] = {"sail_s": round(seconds, 2), "sail_cpu_s": round(cpu, 2), "sail_peak_rss_mib": round(rss)}
            print(f"{key}: Sail {seconds:.1f} s for {results[f'{scale}_ards_rows']:,} ARDS rows")
        loaded = measured(lambda: pandas_inputs(fs, "ards_small", work / "labels_small"))
        ards, labels = loaded[3]
        joined = measured(lambda: pandas_join(ards, labels, None))
        results["small"] |= {
            "pandas_load_s": round(loaded[0], 2), "pandas_join_s": round(joined[0], 2),
            "pandas_load_cpu_s": round(loaded[1], 2), "pandas_join_cpu_s": round(joined[1], 2),
            "pandas_peak_rss_mib": round(max(loaded[2], joined[2])),
            "pandas_frame_mib": round((ards.memory_usage(deep=True).sum() + labels.memory_usage(deep=True).sum()) / 2**20),
            "identical_rows": len(joined[3]), "rows_with_features": identical(work / "small", joined[3]),
        }
        print(f"small: pandas load {loaded[0]:.1f} s + merge_asof {joined[0]:.1f} s, identical rows")
    finally:
        engine.stop()
    return results


def report(out: Path, info: dict[str, Any], args: argparse.Namespace, results: dict[str, Any]) -> None:
    small, full, lookback = results["small"], results["full"], results["full_lookback"]
    per_row = small["pandas_frame_mib"] / results["small_ards_rows"]
    full_need_gib = per_row * results["full_ards_rows"] * 2 / 1024  # frame + merge_asof's sorted copy
    params = {k: getattr(args, k) for k in ("customers", "days", "labels", "pandas_customers", "pandas_labels", "lookback_days")}
    derived = {"full_pandas_estimate_gib": round(full_need_gib, 1),
               "ratio_vs_join": round(small["sail_s"] / small["pandas_join_s"], 2),
               "cpu_ratio_vs_join": round(small["sail_cpu_s"] / small["pandas_join_cpu_s"], 2),
               "ratio_vs_load_and_join": round(small["sail_s"] / (small["pandas_load_s"] + small["pandas_join_s"]), 2)}
    (out / "training_set.json").write_text(json.dumps({"machine": info, "params": params, "results": results,
                                                       "derived": derived}, indent=2) + "\n")
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    lines = [
        "# Training set benchmark: create_training_set (point-in-time join on Sail) vs pandas merge_asof",
        "",
        f"`python benchmarks/bench_training_set.py`: one FeatureLookup of all {len(FEATURE_NAMES)} ARDS features "
        f"with timestamp_lookup_key, materialized to parquet. ARDS-shaped Delta table built on the engine "
        f"({args.days} days, signups/churn gaps, 1% missing days); labels random, 1% unknown customers.",
        "",
        f"Machine: {info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs, {info['memory_gib']} GiB "
        f"(shared with other work: 1-min load {info['load_average_1m_at_start']} at start, "
        f"{info['load_average_1m_at_end']} at end); Python {info['python']}, {versions}. "
        f"Date: {info['date']}. Commit: {info['git_commit'] or 'n/a'}.",
        "",
        "| scale | labels | ARDS rows | Sail s (CPU s) | pandas merge_asof s (CPU s) | pandas load s | "
        "Sail / merge_asof, wall (CPU) | Sail / (load + merge_asof), wall | identical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {args.customers:,} customers x {args.days} days | {args.labels:,} | {results['full_ards_rows']:,} | "
        f"{full['sail_s']:.1f} ({full['sail_cpu_s']:.1f}) | not run: needs ~{full_need_gib:.0f} GiB | - | - | - | - |",
        f"| same, lookback_window {args.lookback_days} days | {args.labels:,} | {results['full_ards_rows']:,} | "
        f"{lookback['sail_s']:.1f} ({lookback['sail_cpu_s']:.1f}) | - | - | - | - | - |",
        f"| {args.pandas_customers:,} customers x {args.days} days | {args.pandas_labels:,} | {results['small_ards_rows']:,} | "
        f"{small['sail_s']:.1f} ({small['sail_cpu_s']:.1f}) | {small['pandas_join_s']:.1f} ({small['pandas_join_cpu_s']:.1f}) | "
        f"{small['pandas_load_s']:.1f} | {derived['ratio_vs_join']:.2f} ({derived['cpu_ratio_vs_join']:.2f}) | "
        f"{derived['ratio_vs_load_and_join']:.2f} | yes, {small['identical_rows']:,} rows ({small['rows_with_features']:,} with features) |",
        "",
        f"pandas at full scale: the frames take {per_row * 2**20:.0f} bytes per ARDS row in pandas (measured: "
        f"{small['pandas_frame_mib']:,} MiB at {results['small_ards_rows']:,} rows), so "
        f"{results['full_ards_rows']:,} rows need about {full_need_gib:.0f} GiB with the sorted copy merge_asof "
        f"works on, against {info['memory_gib']} GiB on this machine shared with other work: not attempted. The "
        f"pandas scale is the largest that leaves room for the others. Peak RSS of this process "
        f"(Sail runs in it): Sail full scale {full['sail_peak_rss_mib']:,} MiB, pandas side {small['pandas_peak_rss_mib']:,} MiB.",
        "",
        "Seconds are wall time of one run; CPU s is this process's CPU time (Sail's threads included), steadier "
        "than wall time on a shared machine. Sail's include reading the Delta table and the labels and writing the "
        "training set, pandas' merge_asof includes the sorts it needs on frames already in memory. Identical: every "
        "label row, every column, exact values (dates, numbers, strings, nulls). All numbers in training_set.json.",
        "",
    ]
    (out / "training_set.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--pandas-customers", type=int, default=25_000)
    parser.add_argument("--pandas-labels", type=int, default=250_000)
    parser.add_argument("--lookback-days", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--build-into", type=Path, help=argparse.SUPPRESS)  # internal: the data-building child
    args = parser.parse_args(argv)
    if args.build_into:
        build(args, args.build_into)
        return 0
    info = machine_info(("pysail", "pyspark", "deltalake", "pandas"))
    with tempfile.TemporaryDirectory(prefix="bench-training-set-") as tmp:
        results = run(args, Path(tmp))
    info["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    args.out.mkdir(parents=True, exist_ok=True)
    report(args.out, info, args, results)
    print(f"wrote {args.out / 'training_set.md'} and {args.out / 'training_set.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
