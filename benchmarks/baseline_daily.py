"""The daily job's data path as a plain PySpark script: the baseline that prices the framework.

Same work as the `offline_features` + `online_features` updates of one day: read the day's landing
files, append them to bronze, keep the rows passing the drop rules, upsert silver (latest version per
key by the sequence column, existing rows win ties, as apply_changes does), recompute customer_daily
and the ARDS for the late-data window [day - 2, day], rebuild the MRDS. No runtime, no expectation
counts, no quarantine, no event log, no checkpoints or ingest log: what a hand-written job would do,
with the usual MERGE INTO for silver. The feature functions (ml/features, ml/feature_store/mrds.py)
are shared: they are the business logic, not the framework, and sharing them keeps the outputs
comparable row for row.

Two storages: `delta` (in place, on a copy of the framework's tables: the overhead comparison) and
`parquet` (reads a parquet export of the state, writes new folders: runs on classic Spark too, which
has no Delta jar here, for the engine comparison).

    .venv/bin/python benchmarks/baseline_daily.py --engine classic --state DIR --landing DIR --out DIR --date D
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from functools import reduce
from pathlib import Path
from typing import Any, Callable

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.local.datagen.schema import SOURCES, TIMESTAMP_FORMAT
from ml.feature_store.mrds import drop_rules, model_ready
from ml.features.definitions import COMPLETENESS_NAMES, ENTITY_KEY, FEATURE_NAMES, TIMESERIES_KEY
from ml.features.transforms import ards, customer_daily
from quality.expectations import RULES

# source -> (silver table, key, sequence column, partition column); as dlt/offline_features/silver.py
SILVER = {
    "customers": ("silver_customers", "customer_id", "updated_at", None),
    "transactions": ("silver_transactions", "transaction_id", "event_time", "event_date"),
    "support": ("silver_support", "interaction_id", "event_time", None),
    "churn": ("silver_churn", "customer_id", "churn_date", None),
}
LATE_DAYS = 2  # lakehouse.late_arrival_days in the bundle
DATE_PARTITIONS = ("_drop_date", "event_date", "activity_date", "feature_date")
OUTPUTS = ("silver_customer_updates", *(t for t, *_ in SILVER.values()), "customer_daily", "ards", "mrds")


class Tables:
    """Where tables live: Delta folders updated in place, or a parquet state plus new folders for what is written."""

    def __init__(self, spark: Any, state: Path, out: Path | None = None) -> None:
        self.spark, self.state, self.out = spark, state, out
        self.current: dict[str, Callable[[], DataFrame]] = {}  # parquet mode: the table as this run left it

    def name(self, table: str) -> str:
        """The Delta table's name in the session catalog (`<catalog>/<schema>/<table>` under the storage root)."""
        return f"`{self.state.parent.name}`.`{self.state.name}`.`{table}`"

    def read(self, table: str) -> DataFrame:
        if self.out is None:
            return self.spark.read.format("delta").load(str(self.state / table))
        return self.current.get(table, lambda: self._parquet(self.state / table))()

    def _parquet(self, path: Path) -> DataFrame:
        df = self.spark.read.parquet(str(path))
        dates = [c for c in df.columns if c in DATE_PARTITIONS]  # Sail infers partition values as strings
        return df.withColumns({c: F.col(c).cast("date") for c in dates}) if dates else df

    def write(self, df: DataFrame, table: str, mode: str, partition: str | None = None, where: str | None = None) -> None:
        """`mode` append or overwrite; with `where`, overwrite replaces only the rows matching it."""
        writer = df.write.partitionBy(partition) if partition else df.write
        if self.out is None:
            writer = writer.format("delta").mode(mode)
            (writer.option("replaceWhere", where) if where else writer).save(str(self.state / table))
            return
        writer.mode("overwrite").parquet(str(self.out / table))
        previous = self.current.get(table, lambda: self._parquet(self.state / table))
        written = lambda: self._parquet(self.out / table)  # noqa: E731
        if mode == "append":
            self.current[table] = lambda: previous().unionByName(written())
        elif where:
            self.current[table] = lambda: previous().where(f"NOT ({where})").unionByName(written())
        else:
            self.current[table] = written


def _ddl(source: str) -> str:
    return ", ".join(f"`{name}` {dtype}" for name, dtype in SOURCES[source].columns)


def landed(spark: Any, landing: Path, source: str, day: date) -> DataFrame:
    """The source's files of `day`, typed by the contract, with bronze's lineage columns."""
    spec = SOURCES[source]
    frames = []
    for path in sorted((landing / source / day.isoformat()).glob(f"*.{spec.format}")):
        reader = spark.read.schema(_ddl(source)).option("timestampFormat", TIMESTAMP_FORMAT)
        df = reader.option("header", True).csv(str(path)) if spec.format == "csv" else reader.json(str(path))
        frames.append(df.withColumn("_source_file", F.lit(str(path.resolve()))))
    df = reduce(DataFrame.unionByName, frames)
    return df.select(*SOURCES[source].column_names, F.lit(None).cast("string").alias("_rescued_data"), "_source_file",
                     F.current_timestamp().alias("_ingested_at"), F.lit(day).alias("_drop_date"))


def cleaned(bronze: DataFrame, source: str) -> DataFrame:
    """Rows passing the drop and fail rules, with silver's derived columns."""
    if source in ("transactions", "support"):
        bronze = bronze.withColumn("event_date", F.to_date("event_time"))
    rules = {**RULES[source].drop, **RULES[source].fail}
    return bronze.where(" AND ".join(f"coalesce({rule}, true)" for rule in rules.values()))


def upsert(tables: Tables, batch: DataFrame, source: str) -> None:
    """Latest version per key; a late change loses to a newer stored one (apply_changes' rule).

    Delta: the usual MERGE INTO of the batch's latest rows, pruned to the batch's partitions. Parquet has
    no MERGE: the touched partitions (or the table) are rewritten with the latest row per key.
    """
    table, key, sequence, partition = SILVER[source]
    stored = tables.read(table)
    latest = Window.partitionBy(key).orderBy(F.col(sequence).desc(), F.col("_new"))
    batch = batch.select(*stored.columns)
    where = None
    if partition:
        dates = sorted(r[0] for r in batch.select(partition).distinct().collect())
        where = f"{partition} IN ({', '.join(f'DATE{d.isoformat()!r}' for d in dates)})"
    if tables.out is None:
        changes = batch.withColumn("_new", F.lit(0)).withColumn("_rank", F.row_number().over(latest))
        changes.where("_rank = 1").drop("_rank", "_new").createOrReplaceTempView("changes")
        prune = f" AND t.{where}" if where else ""
        tables.spark.sql(f"MERGE INTO {tables.name(table)} t USING changes s ON t.{key} = s.{key}{prune} "
                         f"WHEN MATCHED AND s.{sequence} > t.{sequence} THEN UPDATE SET * "
                         "WHEN NOT MATCHED THEN INSERT *").collect()
        return
    stored = stored.where(where) if where else stored
    merged = (stored.withColumn("_new", F.lit(1)).unionByName(batch.withColumn("_new", F.lit(2)))
              .withColumn("_rank", F.row_number().over(latest)).where("_rank = 1").drop("_rank", "_new"))
    tables.write(merged, table, "overwrite", partition, where)


def run(spark: Any, tables: Tables, landing: Path, day: date) -> dict[str, float]:
    """The day's data work; returns seconds per step."""
    seconds: dict[str, float] = {}

    def step(name: str, action: Callable[[], None]) -> None:
        began = time.perf_counter()
        action()
        seconds[name] = round(time.perf_counter() - began, 3)

    start = day - timedelta(days=LATE_DAYS)
    for source in SILVER:
        def ingest(source: str = source) -> None:
            bronze = landed(spark, landing, source, day)
            tables.write(bronze, f"bronze_{source}", "append", "_drop_date")
            valid = cleaned(bronze, source)
            if source == "customers":
                tables.write(valid, "silver_customer_updates", "append")
            upsert(tables, valid.drop("_rescued_data"), source)
        step(f"bronze+silver {source}", ingest)
    between = lambda c: f"{c} BETWEEN DATE'{start}' AND DATE'{day}'"  # noqa: E731
    step("customer_daily", lambda: tables.write(
        customer_daily(tables.read("silver_transactions"), tables.read("silver_support"), start, day),
        "customer_daily", "overwrite", "activity_date", between("activity_date")))
    updates, churn = tables.read("silver_customer_updates"), tables.read("silver_churn")
    step("ards", lambda: tables.write(
        ards(tables.read("customer_daily"), updates, churn, start, day).select(ENTITY_KEY, TIMESERIES_KEY, *FEATURE_NAMES,
                                                                             *COMPLETENESS_NAMES),
        "ards", "overwrite", TIMESERIES_KEY, between(TIMESERIES_KEY)))
    mrds = model_ready(tables.read("ards"), updates, churn, day).where(" AND ".join(f"({r})" for r in drop_rules().values()))
    step("mrds", lambda: tables.write(mrds, "mrds", "overwrite"))
    return seconds


def main(argv: list[str] | None = None) -> int:
    """One engine, one run in parquet mode; prints a JSON line: engine start and run seconds, steps, row counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sail", "classic"), default="sail")
    parser.add_argument("--state", type=Path, required=True, help="parquet export of the tables before the day")
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="where the day's tables are written")
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    from common import peak_rss_mib

    from lakehouse.core.engine import start_engine
    from lakehouse.core.settings import load_settings

    began = time.perf_counter()
    engine = start_engine(load_settings("local", engine=args.engine, storage_root=args.out / "_engine"))
    started = time.perf_counter() - began
    try:
        began = time.perf_counter()
        steps = run(engine.spark, Tables(engine.spark, args.state, args.out), args.landing, args.date)
        seconds = time.perf_counter() - began
        rows = {t: engine.spark.read.parquet(str(args.out / t)).count() for t in OUTPUTS}
        jvm = peak_rss_mib(engine.spark.sparkContext._gateway.proc.pid) if args.engine == "classic" else 0.0
    finally:
        engine.stop()
    print(json.dumps({"engine": args.engine, "engine_start_s": started, "run_s": seconds, "steps": steps, "rows": rows,
                      "peak_rss_mib": peak_rss_mib() + jvm}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
