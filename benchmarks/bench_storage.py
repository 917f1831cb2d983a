"""Benchmark: Delta tables through lakehouse.core.storage.TableStore vs plain parquet, on the same Sail engine.

Why: every pipeline write goes through TableStore (Delta log, replaceWhere, MERGE). This measures what
that costs over bare parquet files for the same DataFrame in the same run, so the overhead is known
rather than guessed. Plain parquet has no replaceWhere or MERGE, so its side does what one would do
without Delta: overwrite the date's partition folder, and rewrite the table with an anti-join + union.

Run: `python benchmarks/bench_storage.py --rows 1000000`; writes benchmarks/results/storage.{md,json}.
Each repetition starts from fresh tables and alternates which side goes first; the report shows medians.
Peak RSS is per operation (the high-water mark is reset through /proc/self/clear_refs before each one
where Linux allows it); Sail runs inside this process, so it includes the engine's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine_info, measured  # noqa: E402

from lakehouse.core.engine import start_engine  # noqa: E402
from lakehouse.core.settings import load_settings  # noqa: E402
from lakehouse.core.storage import TableStore  # noqa: E402

FIRST_DAY = date(2026, 1, 1)
REPLACED_DAY = 9
SIDES = ("storage", "parquet")


def events(ids: DataFrame, dates: int, day: int | None = None, amount_bump: float = 0.0) -> DataFrame:
    """Typical event rows computed from `id` on the engine (no pandas): 11 columns, deterministic."""
    day_index = F.lit(day) if day is not None else (F.col("id") % dates).cast("int")
    event_date = F.date_add(F.lit(FIRST_DAY), day_index)
    channels = F.array(*map(F.lit, ["web", "app", "store", "phone"]))
    return ids.select(
        F.col("id"),
        (F.col("id") % 100_000).alias("customer_id"),
        event_date.alias("event_date"),
        F.timestamp_seconds(F.unix_date(event_date) * 86_400 + (F.col("id") * 7_919) % 86_400).alias("event_ts"),
        (F.abs(F.hash("id")) % 100_000 / 100.0 + amount_bump).alias("amount"),
        (F.col("id") % 7 + 1).cast("int").alias("quantity"),
        F.element_at(channels, (F.col("id") % 4 + 1).cast("int")).alias("channel"),
        F.concat(F.lit("C"), (F.col("id") % 50).cast("string")).alias("country"),
        (F.col("id") % 10 == 0).alias("is_promo"),
        ((F.col("id") % 1000) / 100).cast("decimal(10,2)").alias("discount"),
        F.concat(F.lit("order-"), F.col("id").cast("string")).alias("note"),
    )


def read_parquet(spark: SparkSession, path: Path) -> DataFrame:
    """Sail infers partition values as strings (Spark infers dates): cast back to the table's type."""
    return spark.read.parquet(str(path)).withColumn("event_date", F.col("event_date").cast("date"))


def aggregate(df: DataFrame) -> list[tuple[Any, ...]]:
    """A typical filtered report: one week, one channel, by country."""
    week = F.col("event_date").between(F.lit(FIRST_DAY + timedelta(days=7)), F.lit(FIRST_DAY + timedelta(days=13)))
    rows = (
        df.where(week & (F.col("channel") == "web"))
        .groupBy("country")
        .agg(F.round(F.sum("amount"), 2).alias("amount"), F.count("*").alias("n"), F.sum("quantity").alias("qty"))
        .collect()
    )
    return sorted(tuple(r) for r in rows)


def codec(folder: Path) -> str:
    """Compression of the first parquet file under a table folder, as written by the engine."""
    first = next(folder.rglob("*.parquet"))
    return pq.ParquetFile(first).metadata.row_group(0).column(0).compression.lower()


def disk_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def operations(
    spark: SparkSession, store: TableStore, table: str, folder: Path, args: argparse.Namespace
) -> list[tuple[str, str, Callable[[], Any], Callable[[], Any]]]:
    """(name, what, TableStore call, plain-parquet call) in the order they run."""
    rows, dates, keys = args.rows, args.dates, args.merge_keys
    base = events(spark.range(rows), dates)
    new_day = events(spark.range(rows, rows + rows // dates), dates, day=dates)
    same_ids = spark.range(rows // dates).withColumn("id", F.col("id") * dates + REPLACED_DAY)
    replacement = events(same_ids, dates, amount_bump=1.0)
    step = rows // (keys // 2)  # existing keys spread over every date, so MERGE touches every partition
    existing = spark.range(keys // 2).withColumn("id", F.col("id") * step + F.col("id") % min(dates, step))
    updates = events(existing.unionByName(spark.range(10 * rows, 10 * rows + keys - keys // 2)), dates, amount_bump=2.0)
    day = (FIRST_DAY + timedelta(days=REPLACED_DAY)).isoformat()
    v0, v1 = folder / "v0", folder / "v1"

    def write(df: DataFrame, partitioned: bool = True) -> Any:
        writer = df.write.option("compression", args.parquet_compression) if args.parquet_compression else df.write
        return writer.partitionBy("event_date") if partitioned else writer

    def parquet_merge() -> None:
        current = read_parquet(spark, v0)
        write(current.join(updates.select("id"), "id", "left_anti").unionByName(updates)).parquet(str(v1))

    return [
        ("overwrite", f"{rows:,} rows, partitioned by {dates} dates",
         lambda: store.overwrite(base, table, partition_by=["event_date"]),
         lambda: write(base).mode("overwrite").parquet(str(v0))),
        ("append", f"{rows // dates:,} rows of a new date",
         lambda: store.append(new_day, table, partition_by=["event_date"]),
         lambda: write(new_day).mode("append").parquet(str(v0))),
        ("replace_where", f"one date ({rows // dates:,} rows); parquet: overwrite that partition folder",
         lambda: store.replace_where(replacement, table, f"event_date = DATE'{day}'", ["event_date"]),
         lambda: write(replacement.drop("event_date"), partitioned=False).mode("overwrite").parquet(
             str(v0 / f"event_date={day}"))),
        ("merge",
         f"{keys:,} keys (half update, spread over all dates; half insert); parquet: anti-join + union, full rewrite",
         lambda: store.merge(updates, table, keys=["id"], partition_by=["event_date"]), parquet_merge),
        ("read_count", "count(*) of the whole table",
         lambda: store.read(table).count(), lambda: read_parquet(spark, v1).count()),
        ("filtered_aggregate", "one week, channel = web, group by country",
         lambda: aggregate(store.read(table)), lambda: aggregate(read_parquet(spark, v1))),
    ]


def run_once(spark: SparkSession, store: TableStore, workdir: Path, rep: int, args: argparse.Namespace) -> list[dict]:
    """One repetition on fresh tables; checks both sides hold the same rows after every step."""
    table, folder = f"bench_{rep}", workdir / f"parquet_{rep}"
    samples = []
    for name, what, on_store, on_parquet in operations(spark, store, table, folder, args):
        order = (("storage", on_store), ("parquet", on_parquet))
        timed = dict((side, measured(fn)) for side, fn in (order if rep % 2 == 0 else order[::-1]))
        current = folder / ("v1" if (folder / "v1").exists() else "v0")
        counts = store.read(table).count(), read_parquet(spark, current).count()
        if counts[0] != counts[1] or (name == "filtered_aggregate" and timed["storage"][3] != timed["parquet"][3]):
            raise AssertionError(f"{name}: TableStore and parquet disagree (row counts {counts})")
        samples.append(
            {"operation": name, "what": what, "rows": counts[0]}
            | {f"{side}_s": timed[side][0] for side in SIDES}
            | {f"{side}_cpu_s": timed[side][1] for side in SIDES}
            | {f"{side}_peak_rss_mib": round(timed[side][2]) for side in SIDES}
            | {"storage_disk_mib": round(disk_mib(store.path(table)), 1)}
            | {"parquet_disk_mib": round(disk_mib(current), 1)}
        )
    return samples


def summarise(runs: list[list[dict]]) -> list[dict]:
    """Per operation: median wall and CPU seconds, the wall-time ratio, the largest peak RSS, every sample."""
    summary = []
    for samples in zip(*runs):
        first = samples[0]
        row = {k: first[k] for k in ("operation", "what", "rows", "storage_disk_mib", "parquet_disk_mib")}
        for side in SIDES:
            row[f"{side}_s"] = round(statistics.median(s[f"{side}_s"] for s in samples), 3)
            row[f"{side}_cpu_s"] = round(statistics.median(s[f"{side}_cpu_s"] for s in samples), 3)
            row[f"{side}_peak_rss_mib"] = max(s[f"{side}_peak_rss_mib"] for s in samples)
            row[f"{side}_samples_s"] = [round(s[f"{side}_s"], 3) for s in samples]
        row["ratio"] = round(row["storage_s"] / row["parquet_s"], 2)
        summary.append(row)
    return summary


def write_reports(out: Path, info: dict[str, Any], params: dict[str, Any], summary: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": info, "params": params, "results": summary}
    (out / "storage.json").write_text(json.dumps(report, indent=2) + "\n")
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    codecs = params["codecs_written"]
    lines = [
        "# Storage benchmark: TableStore (Delta) vs plain parquet on Sail",
        "",
        f"`python benchmarks/bench_storage.py --rows {params['rows']}`: {params['rows']:,} rows x 11 columns "
        f"(bigint, date, timestamp, double, int, string, boolean, decimal) generated on the engine, "
        f"{params['dates']} dates, merge of {params['merge_keys']:,} keys. Codecs written: TableStore "
        f"{codecs['storage']}, plain parquet {codecs['parquet']} "
        f"({params['parquet_compression'] or 'engine default'}). "
        f"Median of {params['repeat']} repetitions on fresh tables, alternating which side runs first, "
        "after a warm-up.",
        "",
        f"Machine: {info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs, {info['memory_gib']} GiB, "
        f"1-min load {info['load_average_1m_at_start']} at start, {info['load_average_1m_at_end']} at end; "
        f"Python {info['python']}, {versions}. "
        f"Date: {info['date']}. Commit: {info['git_commit'] or 'n/a'}.",
        "",
        "| operation | TableStore s | parquet s | ratio | CPU s (store / parquet) | peak RSS MiB (store / parquet) "
        "| disk MiB (store / parquet) | rows after | what |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        *(
            f"| {r['operation']} | {r['storage_s']:.2f} | {r['parquet_s']:.2f} | {r['ratio']:.2f} | "
            f"{r['storage_cpu_s']:.2f} / {r['parquet_cpu_s']:.2f} | "
            f"{r['storage_peak_rss_mib']:,} / {r['parquet_peak_rss_mib']:,} | "
            f"{r['storage_disk_mib']:,.1f} / {r['parquet_disk_mib']:,.1f} | {r['rows']:,} | {r['what']} |"
            for r in summary
        ),
        "",
        "Seconds are wall time; ratio = TableStore / parquet wall seconds (medians). CPU s: this process's CPU "
        "time, Sail's threads included (steadier than wall time when the machine is shared). Peak RSS: process "
        "high-water mark during the "
        "operation (Sail runs in-process). Disk: the table's folder after the operation; Delta keeps replaced "
        "files for time travel until VACUUM. Row counts and the aggregate's results were checked equal on both "
        "sides after every step. All samples are in storage.json.",
        "",
    ]
    (out / "storage.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dates", type=int, default=30)
    parser.add_argument("--merge-keys", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parquet-compression", help="codec for the plain parquet side (default: the engine's)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.rows < 2 * args.merge_keys or args.rows < args.dates or args.repeat < 1:
        parser.error("--rows must be at least twice --merge-keys and at least --dates; --repeat at least 1")
    info = machine_info(("pysail", "pyspark", "deltalake"))
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        workdir = Path(tmp)
        settings = load_settings("local", engine="sail", storage_root=workdir / "warehouse")
        engine = start_engine(settings)
        try:
            store = TableStore(engine.spark, settings)
            warm = events(engine.spark.range(1000), 3)
            store.overwrite(warm, "warm_up", partition_by=["event_date"])
            warm.write.partitionBy("event_date").parquet(str(workdir / "warm_up"))
            runs = [run_once(engine.spark, store, workdir, rep, args) for rep in range(args.repeat)]
            codecs = {"storage": codec(store.path("bench_0")), "parquet": codec(workdir / "parquet_0")}
        finally:
            engine.stop()
    info["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)  # other work on the machine skews timings
    summary = summarise(runs)
    for r in summary:
        print(f"{r['operation']:20s} TableStore {r['storage_s']:6.2f} s  parquet {r['parquet_s']:6.2f} s  "
              f"ratio {r['ratio']:5.2f}  rows {r['rows']:,}")
    params = {k: getattr(args, k) for k in ("rows", "dates", "merge_keys", "repeat", "parquet_compression")}
    params["codecs_written"] = codecs
    write_reports(args.out, info, params, summary)
    print(f"wrote {args.out / 'storage.md'} and {args.out / 'storage.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
