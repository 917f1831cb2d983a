"""Benchmark: the monthly drift job at scale, and how often it flags clean months.

1. Scale: a synthetic ARDS-shaped Delta table (every feature of ml.features.definitions, one row per
   customer and day) for two months at `--customers` (100k: ~3M rows per month), built in Spark from key
   hashes (no pipeline run needed). May has the same distribution as April (fresh daily noise), so
   the run also shows the noise floor at full scale. Timed: `detect_drift` for May (previous-month
   reference) after a warm-up, wall time per phase and this process's peak RSS (Sail runs in-process, so
   the engine's memory is included).
2. Rates (`--parts rates`): false alarms and detection, per feature and for the dataset verdict (the
   retraining signal). One generator world per `--seeds` (`--gen-customers`, 2026-01-01..`--end`, the drift
   scenario from `--drift-start`), through one full-refresh offline_features update; the job with its
   configured methods and thresholds for every month against three references: the previous month, a
   @champion fitted at the start of the history (as the demo's first model: its 30/90-day features were
   computed over a few days of data) and a @champion fitted on complete windows. Each comparison is clean
   (both windows before the drift), drift (reference clean, month drifted) or both drifted (not counted), and
   start-of-history when either window holds dates whose 90-day windows reach before the history. A
   comparison the job refuses (DriftInputError, e.g. no complete rows) is recorded with its reason.
   Rates are counts with a 95% Clopper-Pearson interval: the worlds are few, and a 0 is an upper bound.

Run: `python benchmarks/bench_drift.py` (both parts; `--parts rates` keeps the scale part of the last
drift.json). Writes benchmarks/results/drift.{md,json}; the generated worlds and the synthetic table are kept
under benchmarks/work/drift/ and reused when the parameters match.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F
from scipy.stats import beta

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, machine_info, peak_rss_mib, reset_peak_rss, write_results  # noqa: E402

from lakehouse.core.engine import start_engine  # noqa: E402
from lakehouse.core.job_settings import DriftSettings  # noqa: E402
from lakehouse.core.settings import Settings, load_settings  # noqa: E402
from lakehouse.core.storage import TableStore  # noqa: E402
from lakehouse.local.datagen import GeneratorConfig, generate_range  # noqa: E402
from lakehouse.local.datagen.schema import DOMAINS  # noqa: E402
from lakehouse.local.pipelines import run_pipeline  # noqa: E402
from lakehouse.platform import tracking  # noqa: E402
from ml import registry  # noqa: E402
from ml.features.definitions import FEATURES, LOOKBACK_DAYS  # noqa: E402
from quality.drift.job import detect_drift  # noqa: E402
from quality.drift.windows import DriftInputError, month_window  # noqa: E402

WORK = ROOT / "benchmarks" / "work" / "drift"
APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
CONFIG = DriftSettings(reference="previous_month")
HISTORY_START = date(2026, 1, 1)
# the first feature date whose longest window (90 days) lies inside the generated history
COMPLETE_FROM = HISTORY_START + timedelta(days=LOOKBACK_DAYS - 1)
# reference name -> the @champion's lineage tags (train_as_of, validation_as_of); None = the previous month
REFERENCES: dict[str, tuple[str, str] | None] = {
    "previous month": None,
    "champion fitted at the start of the history": ("2026-01-06..2026-02-09", "2026-02-17..2026-02-23"),
    "champion fitted on complete windows": ("2026-04-01..2026-04-21", "2026-04-24..2026-04-30"),
}


def _uniform(*parts: Any) -> Any:
    """A uniform in [0, 1) from a hash of `parts` (Sail's rand(seed) repeats every 8,192 rows)."""
    return F.pmod(F.xxhash64(*parts), F.lit(1_000_000_007)) / F.lit(1_000_000_007.0)


def synthetic_ards(spark: Any, customers: int, start: date, days: int) -> Any:
    """Customers x days rows; each numeric feature = a per-customer level (exponential) x daily noise."""
    ids = spark.range(customers).withColumnRenamed("id", "n")
    dates = spark.range(days).select(F.date_add(F.lit(start), F.col("id").cast("int")).alias("feature_date"))
    grid = ids.crossJoin(dates)
    columns = [F.format_string("C%07d", F.col("n")).alias("customer_id"), F.col("feature_date")]
    for i, feature in enumerate(FEATURES):
        if feature.dtype == "string":
            values = DOMAINS["customers"].get(feature.name) or ("a", "b", "c")
            pick = (_uniform(F.col("n"), F.lit(i)) * len(values)).cast("int")
            columns.append(F.element_at(F.array(*[F.lit(v) for v in values]), pick + 1).alias(feature.name))
            continue
        level = -F.log(F.lit(1.0) - _uniform(F.col("n"), F.lit(i))) * F.lit(10.0 * (i + 1))
        noise = F.lit(0.9) + F.lit(0.2) * _uniform(F.col("n"), F.col("feature_date"), F.lit(i))
        columns.append((level * noise).cast(feature.dtype).alias(feature.name))
    return grid.select(*columns)


def build_synthetic(settings: Settings, spark: Any, customers: int) -> float:
    marker = settings.storage_root.parent / "built.json"
    store = TableStore(spark, settings)
    if marker.exists() and store.exists("ards"):
        return json.loads(marker.read_text())["seconds"]
    started = time.perf_counter()
    store.overwrite(synthetic_ards(spark, customers, APRIL, 61), "ards", partition_by=["feature_date"])
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps({"seconds": seconds}))
    return seconds


def build_generated(settings: Settings, spark: Any, customers: int, drift_start: date, seed: int = 42,
                    end: date = date(2026, 12, 31)) -> dict[str, float]:
    marker = settings.storage_root.parent / "built.json"
    params = {"customers": customers, "drift_start": str(drift_start), "seed": seed, "end": str(end)}
    if marker.exists() and json.loads(marker.read_text())["params"] == params:
        return json.loads(marker.read_text())["seconds"]
    shutil.rmtree(settings.storage_root.parent, ignore_errors=True)
    settings.storage_root.mkdir(parents=True)
    started = time.perf_counter()
    generate_range(GeneratorConfig(customers=customers, seed=seed, drift_start=drift_start), settings.landing,
                   HISTORY_START, end)
    seconds = {"generate": time.perf_counter() - started}
    started = time.perf_counter()
    if not run_pipeline(spark, settings, "offline_features", end, full_refresh=True).ok:
        raise SystemExit("offline_features failed")
    seconds["pipeline"] = time.perf_counter() - started
    marker.write_text(json.dumps({"params": params, "seconds": seconds}))
    return seconds


def work_settings(name: str, schema: str) -> Settings:
    """Settings of one data set; its own schema, as the session catalog holds the names of both."""
    root = WORK / name
    settings = load_settings("local", storage_root=root / "warehouse", landing_path=str(root / "landing"),
                             schema_name=schema)
    settings.blob.local_dir = root / "reports"
    return settings


def scale_run(spark: Any, settings: Settings, config: DriftSettings) -> dict[str, Any]:
    """One timed job run; phases from the job's own parts are not separable, so the whole call is timed."""
    reset_peak_rss()
    started = time.perf_counter()
    result = detect_drift(spark, settings, MAY, config)
    return {"seconds": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib(), "drifted": result.drifted_columns,
            "current_rows": result.current["rows"], "reference_rows": result.reference["rows"],
            "sampled": result.sampling["current"]["sampled"]}


def register_champion(settings: Settings, lineage: tuple[str, str]) -> None:
    """A registered version aliased @champion whose run carries the training job's lineage tags: the drift job
    takes its reference window from them (quality.drift.windows.champion_window), nothing else of the model."""
    client = tracking.configure(settings)
    run = client.create_run(tracking.experiment_id(settings),
                            tags={"lineage.train_as_of": lineage[0], "lineage.validation_as_of": lineage[1]})
    name = tracking.registered_model_name(settings)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias(name, registry.CHAMPION, version.version)


def classify(reference: tuple[date, date], month: tuple[date, date], drift_start: date) -> tuple[str, bool]:
    """(clean / drift / both drifted, start of history?) of one comparison from its two windows' dates."""
    if reference[1] >= drift_start:
        kind = "both drifted"
    else:
        kind = "drift" if month[1] >= drift_start else "clean"
    return kind, min(reference[0], month[0]) < COMPLETE_FROM


def compare_months(spark: Any, settings: Settings, seed: int, drift_start: date, end: date) -> list[dict[str, Any]]:
    """Every month of one world against each reference: the job's verdicts, scores and the comparison's class."""
    out = []
    for name, lineage in REFERENCES.items():
        config = settings.drift.model_copy(update={"reference": "previous_month" if lineage is None else "champion"})
        first = date(2026, 2, 1)
        if lineage is not None:
            register_champion(settings, lineage)
            fitted_to = date.fromisoformat(lineage[1].split("..")[1])
            first = month_window(fitted_to).end + timedelta(days=1)  # the whole champion window precedes the month
        month = first
        while month <= end:
            window = month_window(month)
            row: dict[str, Any] = {"seed": seed, "reference": name, "month": f"{month:%Y-%m}"}
            try:
                result = detect_drift(spark, settings, month, config)
            except DriftInputError as exc:
                row.update(refused=str(exc).splitlines()[0])
            else:
                ref = (date.fromisoformat(result.reference["start"]), date.fromisoformat(result.reference["end"]))
                row["kind"], row["start_of_history"] = classify(ref, (window.start, window.end), drift_start)
                row.update(reference_window=f"{ref[0]}..{ref[1]}", reference_source=result.reference["source"],
                           retrain=result.retrain_recommended, dataset_drift=result.dataset_drift,
                           drifted=result.drifted_columns, compared=result.number_of_columns,
                           scores={c.column: c.score for c in result.columns if c.kind == "feature"},
                           thresholds={c.column: c.threshold for c in result.columns if c.kind == "feature"},
                           rows={"reference": result.reference["rows"], "current": result.current["rows"]})
            out.append(row)
            print(json.dumps({k: v for k, v in row.items() if k not in ("scores", "thresholds")}), flush=True)
            month = window.end + timedelta(days=1)
    return out


def interval(k: int, n: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) 95% interval of a rate seen k times in n trials."""
    if n == 0:
        return float("nan"), float("nan")
    low = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return low, high


def rate(k: int, n: int) -> str:
    if n == 0:
        return "–"
    low, high = interval(k, n)
    return f"{k}/{n} ({k / n:.0%}; 95% CI {low:.0%}–{high:.0%})"


GROUPS = {  # label -> (kind, start of history?)
    "clean, start of history": ("clean", True),
    "clean, complete windows": ("clean", False),
    "drift, complete reference": ("drift", False),
}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Dataset verdicts per group and reference, and per-feature flag counts and scores per group."""
    done = [r for r in rows if "refused" not in r]
    dataset, features = {}, {}
    for label, (kind, start) in GROUPS.items():
        group = [r for r in done if r["kind"] == kind and r["start_of_history"] == start]
        dataset[label] = {ref: {"retrain": sum(r["retrain"] for r in group if r["reference"] == ref),
                                "n": sum(r["reference"] == ref for r in group)} for ref in REFERENCES}
        # two references can be the same dates (a champion fitted on April vs May = the previous month):
        # the same comparison counts once in "all" and per feature
        distinct = list({(r["seed"], r["reference_window"], r["month"]): r for r in group}.values())
        dataset[label]["all"] = {"retrain": sum(r["retrain"] for r in distinct), "n": len(distinct)}
        per = {}
        for r in distinct:
            for column, score in r["scores"].items():
                entry = per.setdefault(column, {"flagged": 0, "n": 0, "scores": [], "threshold": r["thresholds"][column]})
                entry["flagged"] += column in r["drifted"]
                entry["n"] += 1
                entry["scores"].append(score)
        features[label] = per
    refused = [{k: r[k] for k in ("seed", "reference", "month", "refused")} for r in rows if "refused" in r]
    return {"dataset": dataset, "features": features, "refused": refused}


def rates_part(spark: Any, args: argparse.Namespace) -> dict[str, Any]:
    build, rows = {}, []
    for seed in args.seeds:
        settings = work_settings(f"generated_{args.gen_customers}_seed{seed}_to{args.end}", f"drift_seed{seed}")
        build[seed] = build_generated(settings, spark, args.gen_customers, args.drift_start, seed, args.end)
        rows += compare_months(spark, settings, seed, args.drift_start, args.end)
    return {"build": build, "comparisons": rows, "summary": summarize(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="scale,rates", help="comma-separated: scale, rates")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--gen-customers", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 7, 31))
    parser.add_argument("--drift-start", type=date.fromisoformat, default=date(2026, 7, 1))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", default="", help="names this rates run; runs of other labels in drift.json are kept")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    info = machine_info(("pysail", "pyspark", "evidently", "pandas"))
    WORK.mkdir(parents=True, exist_ok=True)
    previous = json.loads((RESULTS / "drift.json").read_text()) if (RESULTS / "drift.json").exists() else {}
    synthetic = work_settings(f"synthetic_{args.customers}", "drift_synthetic")
    engine = start_engine(synthetic)
    try:
        spark = engine.spark
        if "scale" in parts:
            build = {"synthetic_seconds": build_synthetic(synthetic, spark, args.customers)}
            scale_run(spark, synthetic, CONFIG)  # warm-up: Evidently import, first reads
            scale = {"machine": info, "command": command(args, "scale"), "build": build,
                     "scale_runs": [scale_run(spark, synthetic, CONFIG) for _ in range(args.repeat)],
                     "scale_runs_10k_sample": [scale_run(spark, synthetic, CONFIG.model_copy(update={"sample_rows": 10_000}))
                                               for _ in range(args.repeat)]}
        else:
            scale = previous_scale(previous)
        rates = dict(previous.get("rates", {}))
        if "rates" in parts:
            rates[args.label] = {"machine": info, "command": command(args, "rates"),
                                 "params": {k: str(v) for k, v in vars(args).items()},
                                 "settings": load_settings("local").drift.model_dump(), **rates_part(spark, args)}
    finally:
        engine.stop()
    info["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    report = {"scale": scale, "rates": rates}
    write_results("drift", report, markdown(report))
    print(markdown(report))


def previous_scale(previous: dict[str, Any]) -> dict[str, Any] | None:
    """The scale part of the last drift.json (also of its format before the rates part existed), if any."""
    if not previous:
        return None
    if "scale" in previous:
        return previous["scale"]
    p = previous["params"]
    return {"machine": previous["machine"], "build": {"synthetic_seconds": previous["build"]["synthetic_seconds"]},
            "command": f"python benchmarks/bench_drift.py --customers {p['customers']} --repeat {p['repeat']}",
            "scale_runs": previous["scale_runs"], "scale_runs_10k_sample": previous["scale_runs_10k_sample"]}


def command(args: argparse.Namespace, part: str) -> str:
    if part == "scale":
        return f"python benchmarks/bench_drift.py --parts scale --customers {args.customers} --repeat {args.repeat}"
    return (f"python benchmarks/bench_drift.py --parts rates --gen-customers {args.gen_customers} "
            f"--seeds {' '.join(map(str, args.seeds))} --end {args.end} --drift-start {args.drift_start}"
            + (f" --label '{args.label}'" if args.label else ""))


def machine_line(m: dict[str, Any]) -> str:
    return (f"Machine: {m['platform']}, {m['cpu_count']} CPUs, {m['memory_gib']} GiB; 1-min load {m['load_average_1m_at_start']} "
            f"at start, {m.get('load_average_1m_at_end', '?')} at end (other engineers' work shares the machine). "
            f"Python {m['python']}, pysail {m['versions']['pysail']}, evidently {m['versions']['evidently']}. "
            f"Date: {m['date']}. Commit: {m['git_commit']}.")


def scale_markdown(r: dict[str, Any]) -> str:
    best = min(r["scale_runs"], key=lambda x: x["seconds"])

    def line(runs: list[dict[str, Any]]) -> str:
        seconds = ", ".join(f"{x['seconds']:.1f}" for x in runs)
        return (f"{seconds} s; peak RSS "
                f"{max(x['peak_rss_mib'] for x in runs):,.0f} MiB; sampled {runs[0]['sampled']:,} rows per window")

    return f"""## One month at 100,000 customers

`{r['command']}`

{machine_line(r['machine'])}

Synthetic ARDS-shaped Delta table (all {len(FEATURES)} features, built in Spark in {r['build']['synthetic_seconds']:.0f} s):
current month {best['current_rows']:,} rows, reference (previous month) {best['reference_rows']:,} rows.
`detect_drift` end to end (coverage aggregates, hash sampling, Evidently, history write, HTML + JSON to a folder),
after one warm-up run:

- default `sample_rows` 50,000: {line(r['scale_runs'])}
- `sample_rows` 10,000: {line(r['scale_runs_10k_sample'])}

Drifted columns on the stationary synthetic month: {', '.join(best['drifted']) or 'none'}.
"""


def rates_markdown(label: str, r: dict[str, Any]) -> str:
    p, s, summary = r["params"], r["settings"], r["summary"]
    dataset = "\n".join(f"| {label} | " + " | ".join(rate(v[ref]["retrain"], v[ref]["n"]) for ref in [*REFERENCES, "all"]) + " |"
                        for label, v in summary["dataset"].items())
    columns = sorted({c for per in summary["features"].values() for c in per})
    labels = list(GROUPS)

    def cell(label: str, column: str) -> str:
        e = summary["features"][label].get(column)
        if not e:
            return "–"
        scores = [x for x in e["scores"] if x is not None]
        top = f"; max {max(scores):.3f}" if label.startswith("clean") and scores else (
            f"; median {sorted(scores)[len(scores) // 2]:.3f}" if scores else "")
        return f"{e['flagged']}/{e['n']}{top}"

    features = "\n".join(f"| {c} | " + " | ".join(cell(label, c) for label in labels) + " |" for c in columns)

    def tests(group: str) -> str:
        per = summary["features"][group].values()
        return rate(sum(e["flagged"] for e in per), sum(e["n"] for e in per))

    def verdicts(group: str) -> str:
        v = summary["dataset"][group]["all"]
        return rate(v["retrain"], v["n"])

    refused = "".join(f"\n- refused: seed {x['seed']}, {x['reference']}, {x['month']}: {x['refused']}" for x in summary["refused"])
    headline = "\n".join(f"- {group}: retraining signal {verdicts(group)}; column tests flagged {tests(group)}"
                         for group in GROUPS) + refused
    months = "\n".join(
        f"| {x['seed']} | {x['reference']} | {x['month']} | "
        + (f"refused: {x['refused']} | | | |" if "refused" in x else
           f"{x['reference_window']} | {x['kind']}{', start of history' if x['start_of_history'] else ''} | "
           f"{len(x['drifted'])}/{x['compared']} {', '.join(x['drifted'])} | {'yes' if x['retrain'] else 'no'} |")
        for x in r["comparisons"])
    return f"""## False alarms and detection on generated data{': ' + label if label else ''}

`{r['command']}`

{machine_line(r['machine'])}

{len(p['seeds'].split(','))} generator worlds (seeds {p['seeds'].strip('[]')}) of {int(p['gen_customers']):,} customers,
{HISTORY_START}..{p['end']}, drift scenario from {p['drift_start']} (prices of electronics/travel/entertainment +35%,
a new transaction channel, higher fees for new plans); one full-refresh offline_features update each. The job's
configured settings: numeric {s['num_method']} at {s['num_threshold']}, categorical {s['cat_method']} at
{s['cat_threshold']}, per-column methods {s['per_column_method'] or 'none'}, thresholds {s['per_column_threshold'] or 'none'},
dataset drift (the retraining signal) at a drifted share >= {s['drift_share']}, excluded {', '.join(s['exclude_columns'])}.
Start of history: either window holds feature dates before {COMPLETE_FROM} (90-day windows reach before the
data's first day {HISTORY_START}). A clean comparison has both windows before the drift; a drift comparison a
clean reference and a month holding drifted dates (months whose reference is itself drifted are listed, not
counted). Rates: flagged / comparisons, 95% Clopper-Pearson interval; "all" and the per-feature counts take a
comparison of the same dates against the same month once.

{headline}

### Dataset verdict (retraining signal)

| comparisons | {' | '.join(REFERENCES)} | all |
|---|{'---|' * (len(REFERENCES) + 1)}
{dataset}

### Per feature: flagged / comparisons (clean: the largest score seen; drift: the median score)

| feature | {' | '.join(labels)} |
|---|{'---|' * len(labels)}
{features}

### Every comparison

| seed | reference | month | reference window | comparison | drifted / compared | retrain |
|---|---|---|---|---|---|---|
{months}
"""


def markdown(report: dict[str, Any]) -> str:
    return ("# Drift job benchmark\n\n" + (scale_markdown(report["scale"]) if report["scale"] else "")
            + "".join("\n" + rates_markdown(label, r) for label, r in report["rates"].items()))


if __name__ == "__main__":
    main()
