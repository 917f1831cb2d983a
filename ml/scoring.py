"""The daily batch scoring job: the champion model on the MRDS of the run date -> one predictions partition.

Everything that can refuse is checked before anything is written: a champion must exist, the feature
table must exist and hold rows as of the run date, and its columns must match the model's signature
(missing columns, or types the signature cannot take). The partition of the date is then replaced
atomically (replaceWhere), so a rerun leaves exactly one set of predictions per date.

Execution path: mapInArrow, the fitted pipeline shipped once inside the function and applied where the
data is, so it scales with a cluster's executors. Locally it was the fastest correct path measured
(benchmarks/bench_scoring.py): faster than mapInPandas and spark_udf, twice as fast as collecting the
rows to pandas first, and at 1M rows about as fast as one in-memory pandas predict_proba. The engine's
batches are regrouped into CHUNK_ROWS-row chunks (fewer sklearn calls) and become pandas through pyarrow,
as `toPandas` does for training (an int column with nulls -> float64; Sail's mapInPandas gives Int32).

Incomplete windows: an MRDS row whose features' windows reach back before the data history
(`window_complete_<days>d` false for the model's longest window) is scored and flagged by default
(`features_complete` false in `predictions`; a young warehouse still needs its scores), or left out with
`scoring.incomplete_windows: exclude`; either way the result and the log count them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import partial
from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from threadpoolctl import threadpool_limits

from lakehouse.core.faults import maybe_crash
from lakehouse.core.job_settings import IncompleteWindows, ScoringSettings
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from lakehouse.platform import tracking
from ml import registry
from ml.errors import ScoringRefused
from ml.features.definitions import AS_OF, ENTITY_KEY, TIMESERIES_KEY, completeness_for
from ml.serialization import churn_probability

log = logging.getLogger(__name__)
PREDICTION_SCHEMA = f"{ENTITY_KEY} string, probability double"
FEATURES_COMPLETE = "features_complete"  # predictions: the row's feature windows all lay inside the data history
CHUNK_ROWS = 32_768  # rows per predict_proba call: Sail hands out 8,192-row batches, and each call has a fixed cost
# Spark types a signature type accepts: the conversions MLflow's schema enforcement allows (e.g. not bigint -> double)
ACCEPTS = {"string": {"string"}, "integer": {"tinyint", "smallint", "int"}, "long": {"tinyint", "smallint", "int", "bigint"},
           "double": {"tinyint", "smallint", "int", "float", "double"}, "float": {"float"}, "boolean": {"boolean"}}


@dataclass(frozen=True)
class Champion:
    name: str
    version: str
    run_id: str
    model: Any  # the fitted sklearn Pipeline
    inputs: dict[str, str]  # signature input column -> MLflow type ("string", "double")


@dataclass(frozen=True)
class ScoringResult:
    rows: int
    table: str
    table_version: int
    model_version: str
    incomplete_rows: int = 0  # feature rows with incomplete windows: scored and flagged, or left out (settings)
    incomplete_windows: IncompleteWindows = "include"


def load_champion(settings: Settings) -> Champion:
    """The @champion version, loaded once (skops, trusted types checked); refuses when there is none."""
    from ml.serialization import load_model

    client = tracking.configure(settings)
    name = tracking.registered_model_name(settings)
    held = registry.current_version(client, name, registry.CHAMPION)
    if held is None:
        raise ScoringRefused(f"no champion: model {name} has no @{registry.CHAMPION} version (train and promote one first)")
    model = load_model(f"models:/{name}/{held.version}")
    signature = model.metadata.get_input_schema()
    inputs = {spec.name: spec.type.name for spec in signature.inputs}
    return Champion(name, str(held.version), held.run_id, model.get_raw_model(), inputs)


def feature_rows(store: TableStore, table: str, run_date: date) -> DataFrame:
    """The rows of `table` as of `run_date`; refuses a missing table or one without rows for the date."""
    if not store.exists(table):
        raise ScoringRefused(f"feature table {store.name(table)} does not exist: run the online_features pipeline first")
    df = store.read(table)
    dated_by = AS_OF if AS_OF in df.columns else TIMESERIES_KEY  # the MRDS; the ARDS (backfills) by feature_date
    rows = df.where(F.col(dated_by) == F.lit(run_date))
    if rows.limit(1).count() == 0:
        latest = df.agg(F.max(dated_by)).first()[0]
        raise ScoringRefused(f"feature table {store.name(table)} is missing or stale for {run_date}: no rows with "
                             f"{dated_by} = {run_date} (latest {latest}); run the online_features pipeline for that date")
    return rows


def check_columns(df: DataFrame, inputs: dict[str, str], table: str) -> None:
    """Refuse when a signature column is missing or has a type the signature cannot take."""
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    missing = sorted(c for c in inputs if c not in types)
    wrong = sorted(f"{c} is {types[c]}, the model takes {t}" for c, t in inputs.items()
                   if c in types and types[c] not in ACCEPTS.get(t, ()))
    if missing or wrong:
        problems = ([f"missing columns {missing}"] if missing else []) + wrong
        raise ScoringRefused(f"{table} does not match the model signature: {'; '.join(problems)}")


def predict_batches(model: Any, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """(customer_id, probability) per batch of feature rows, one native thread per batch: the engine
    already runs a batch per core (Spark sets OMP_NUM_THREADS to the task's cores for the same reason)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        for batch in batches:
            inputs = batch.drop(columns=[c for c in (ENTITY_KEY, FEATURES_COMPLETE) if c in batch])  # the model's only
            out = pd.DataFrame({ENTITY_KEY: batch[ENTITY_KEY], "probability": churn_probability(model, inputs)})
            if FEATURES_COMPLETE in batch:  # the flag travels with its row
                out[FEATURES_COMPLETE] = batch[FEATURES_COMPLETE].astype(bool)
            yield out


def _chunks(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """The engine's batches regrouped into tables of at least `rows` rows (the last may be smaller)."""
    pending: list[pa.RecordBatch] = []
    for batch in batches:
        pending.append(batch)
        if sum(b.num_rows for b in pending) >= rows:
            yield pa.Table.from_batches(pending)
            pending = []
    if pending:
        yield pa.Table.from_batches(pending)


def _arrow_batches(model: Any, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for frame in predict_batches(model, (table.to_pandas() for table in _chunks(batches, CHUNK_ROWS))):
        maybe_crash("score.predicting")  # runs inside the predictions write: a kill there must leave no trace
        yield pa.RecordBatch.from_pandas(frame, preserve_index=False)


def predict(df: DataFrame, model: Any, columns: list[str], complete: Column | None = None) -> DataFrame:
    """(customer_id, probability) for every row of `df`, computed next to the data; with `complete` (a boolean,
    never null) also `features_complete`, carried through with the row rather than joined back."""
    if complete is None:
        return df.select(ENTITY_KEY, *columns).mapInArrow(partial(_arrow_batches, model), PREDICTION_SCHEMA)
    return df.select(ENTITY_KEY, complete.alias(FEATURES_COMPLETE), *columns).mapInArrow(
        partial(_arrow_batches, model), f"{PREDICTION_SCHEMA}, {FEATURES_COMPLETE} boolean")


def completeness_flag(features: DataFrame, inputs: list[str], table: str) -> Column:
    """Whether a row's model inputs have complete windows: the completeness column of the longest input window
    (unknown counts as incomplete); refuses a table without it, whose rows could not be flagged."""
    needed = completeness_for(inputs)
    if needed is None:
        return F.lit(True)
    if needed.name not in features.columns:
        raise ScoringRefused(f"{table} has no {needed.name} column, so incomplete feature windows cannot be flagged: "
                             "run the offline_features (full refresh) and online_features pipelines first")
    return F.coalesce(F.col(needed.name), F.lit(False))


def decide(predictions: DataFrame, cfg: ScoringSettings) -> DataFrame:
    """`decision`: probability >= threshold, or within the top k% of the day's rows by probability
    (floor(k% x rows) rows; ties broken by customer_id, so reruns decide identically)."""
    if cfg.top_k_percent is None:  # ScoringSettings: then the threshold is set (exactly one rule is)
        return predictions.withColumn("decision", F.col("probability") >= F.lit(cfg.threshold))
    share = F.cume_dist().over(Window.orderBy(F.col("probability").desc(), F.col(ENTITY_KEY)))
    return predictions.withColumn("decision", share <= F.lit(cfg.top_k_percent / 100))


def score(spark: Any, settings: Settings, run_date: date | None = None) -> ScoringResult:
    """Score the feature table as of `run_date` with @champion and replace that date's predictions."""
    cfg = settings.scoring
    run_date = run_date or settings.effective_run_date
    store = TableStore(spark, settings)
    champion = load_champion(settings)
    features = feature_rows(store, cfg.feature_table, run_date)
    check_columns(features, champion.inputs, store.name(cfg.feature_table))
    complete = completeness_flag(features, list(champion.inputs), store.name(cfg.feature_table))
    incomplete = features.where(~complete).count()
    if cfg.incomplete_windows == "exclude":
        features = features.where(complete)
    predictions = decide(predict(features, champion.model, list(champion.inputs), complete), cfg)
    out = predictions.select(
        ENTITY_KEY, F.lit(run_date).alias("score_date"), "probability", "decision", FEATURES_COMPLETE,
        F.lit(champion.name).alias("model_name"), F.lit(champion.version).alias("model_version"),
        F.lit(champion.run_id).alias("run_id"), F.lit(datetime.now(timezone.utc)).alias("scored_at"),
    )
    version = (store.replace_where(out, cfg.predictions_table, f"score_date = DATE'{run_date}'", partition_by=["score_date"])
               if store.exists(cfg.predictions_table)  # Delta's replaceWhere needs an existing table
               else store.overwrite(out, cfg.predictions_table, partition_by=["score_date"]))
    rows = store.read(cfg.predictions_table).where(F.col("score_date") == F.lit(run_date)).count()
    log.info("scored %d rows for %s with %s version %s; %d row(s) with incomplete feature windows %s", rows, run_date,
             champion.name, champion.version, incomplete,
             "scored and flagged (features_complete false)" if cfg.incomplete_windows == "include" else "left out")
    return ScoringResult(rows, store.name(cfg.predictions_table), version, champion.version, incomplete,
                         cfg.incomplete_windows)
