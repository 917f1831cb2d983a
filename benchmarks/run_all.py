"""One command for every benchmark the issues define, at one size: figures against baselines -> summary.{md,json}.

Each step runs one benchmark script in its own process (one engine per process; its peak memory is the
process tree's high-water mark) with its results written next to the summary; inside the script the
baseline runs in the same process as the measured path (the engine comparison alone uses two processes),
so ratios hold on a noisy machine. Steps not run keep their latest figures: from the summary already there,
else from the results their script recorded; each row keeps its own date, commit and load.

    .venv/bin/python benchmarks/run_all.py --customers 100000 [--only daily,engine] [--quick] [--results-dir DIR]

--quick: one repetition and short histories (a smoke run, not a measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCHMARKS, RESULTS, ROOT, machine_info  # noqa: E402

Figures = list[dict[str, Any]]
# Children keep compiled bytecode here, as any installed environment does after its first run: without it
# (PYTHONDONTWRITEBYTECODE, a venv installed without .pyc) every process compiles sklearn, mlflow, pyspark...
# from source again, ~30 s on a loaded 2-core machine, which would be timed inside the first task using them.
PYCACHE = BENCHMARKS / "work" / "pycache"


def figure(name: str, value: float | None, unit: str, baseline: str = "", baseline_value: float | None = None,
           target: str = "", met: bool | None = None) -> dict[str, Any]:
    """One summary row; ratio = value / baseline value (cost ratio: below 1 means cheaper than the baseline)."""
    ratio = value / baseline_value if value is not None and baseline_value else None
    return {"figure": name, "value": value, "unit": unit, "baseline": baseline, "baseline_value": baseline_value,
            "ratio": ratio, "target": target, "met": met}


@dataclass(frozen=True)
class Step:
    name: str
    what: str
    script: str
    args: Callable[[int, bool], list[str]]  # (customers, quick) -> command-line arguments
    result: str  # the script's results name (<result>.json)
    figures: Callable[[dict[str, Any]], Figures]


def _storage(r: dict[str, Any]) -> Figures:
    return [figure(f"storage {x['operation']} ({x['rows']:,} rows)", x["storage_s"], "s", "plain parquet", x["parquet_s"])
            for x in r["results"]]


def _script_report(r: dict[str, Any]) -> dict[str, Any]:
    """The script's own report: `r`, or the first one a curated results file nests (e.g. under "after")."""
    if "params" in r and "summary" in r:
        return r
    nested = (_script_report(v) for v in r.values() if isinstance(v, dict))
    return next((x for x in nested if x), {})


def _offline(r: dict[str, Any]) -> Figures:
    r = _script_report(r)
    s, p, wall = r["summary"], r["params"], r["summary"]["median_wall_s"]
    return [
        figure(f"offline pipeline day-{p['days']} update", wall["rules"], "s"),
        figure("expectation overhead (rules vs none)", wall["rules"], "s", "same update without rules/quarantine",
               wall["no_rules_no_quarantine"], "<= 1.15", s["ratio_expectations_vs_no_rules_no_quarantine"] <= 1.15),
        figure("expectation overhead, CPU seconds (steadier on a shared machine)", s["median_cpu_s"]["rules"], "CPU s",
               "same update without rules/quarantine", s["median_cpu_s"]["no_rules_no_quarantine"], "<= 1.15",
               s["cpu_ratios"]["rules/no_rules_no_quarantine"] <= 1.15),
        figure(f"cost growth in history (day {p['days']} vs day 1)", wall["rules"], "s", "day-1 update", wall["day1"],
               "<= 1.3", s["ratio_dayN_vs_day1"] <= 1.3),
    ]


def _training_set(r: dict[str, Any]) -> Figures:
    small, p = r["results"]["small"], r["params"]
    return [figure(f"point-in-time join ({p['pandas_labels']:,} labels)", small["sail_s"], "s", "pandas merge_asof (join only)",
                   small["pandas_join_s"]),
            figure(f"point-in-time join, full ({p['labels']:,} labels x {r['results']['full_ards_rows']:,} ARDS rows)",
                   r["results"]["full"]["sail_s"], "s")]


def _scoring(r: dict[str, Any]) -> Figures:
    rows = sorted({x["rows"] for x in r["results"]})
    out = []
    for n in rows:
        by = {x["path"]: x["seconds"] for x in r["results"] if x["rows"] == n}
        out.append(figure(f"scoring job path ({n:,} rows)", by["job path (mapInArrow)"], "s",
                          "plain pandas predict_proba, 1 thread", by["pandas predict_proba, 1 thread"]))
    return out


def _quality(r: dict[str, Any]) -> Figures:
    med = r["median_seconds"]
    cpu = r["cpu_median_seconds"]
    return [figure("data-quality checks, single pass", med["single_pass"], "s", "one Spark action per check",
                   med["per_check"], "< 1", med["single_pass"] < med["per_check"]),
            figure("same, CPU seconds", cpu["single_pass"], "CPU s", "one Spark action per check", cpu["per_check"],
                   "<= 0.8", cpu["single_pass"] <= 0.8 * cpu["per_check"])]


def _drift(r: dict[str, Any]) -> Figures:
    figures = [figure("drift job, one month", min(x["seconds"] for x in r["scale"]["scale_runs"]), "s")] if r["scale"] else []
    for label, rates in r["rates"].items():  # one per recorded rates run (e.g. without / with a filter)
        for group, what in (("clean, complete windows", "clean months flagged for retraining"),
                            ("clean, start of history", "start-of-history clean months flagged for retraining"),
                            ("drift, complete reference", "drifted months flagged for retraining")):
            v = rates["summary"]["dataset"][group]["all"]
            figures.append(figure(f"drift: {what}{f' ({label})' if label else ''}", v["retrain"], f"of {v['n']}"))
    return figures


def _daily(r: dict[str, Any]) -> Figures:
    s, p = r["summary"], r["params"]
    size = f"{p['customers']:,} customers"
    failed = [task for task, status in r["job"]["status"].items() if status not in ("SUCCESS", "EXCLUDED")]
    return [
        figure(f"churn_daily job, every task ({size})" + (f" - NOT OK: {', '.join(failed)}" if failed else ""),
               s["job_s"], "s"),
        figure(f"churn_daily peak memory ({size})", s["job_peak_rss_mib"], "MiB"),
        figure(f"daily data path, framework vs plain PySpark ({size})", s["data_path_s"], "s",
               "benchmarks/baseline_daily.py, same engine", s["baseline_s"], "<= 1.25", s["overhead_ratio"] <= 1.25),
        *([figure("same, CPU seconds (steadier on a shared machine)", s["data_path_cpu_s"], "CPU s",
                  "benchmarks/baseline_daily.py", s["baseline_cpu_s"], "<= 1.25", s["cpu_overhead_ratio"] <= 1.25)]
          if s.get("cpu_overhead_ratio") else []),
        figure("daily data path outputs equal to the baseline's", float(r["equality"]["equal"]), "bool"),
    ]


def _engine(r: dict[str, Any]) -> Figures:
    s = r["summary"]
    return [figure(f"engine: daily data work on classic Spark vs Sail ({r['params']['customers']:,} customers)",
                   s["classic_s"], "s", "Sail", s["sail_s"], "> 1 keeps Sail the default", s["ratio_classic_vs_sail"] > 1)]


def _demo(r: dict[str, Any]) -> Figures:
    return [figure(f"demo end to end ({r['customers']:,} customers x {r['days']} days)", r["demo_wall_s"], "s", "",
                   None, "< 600 s", r["demo_wall_s"] < 600),
            figure("demo peak memory", r["demo_peak_rss_mib"], "MiB")]


def _pick(quick: bool, full: int, small: int) -> str:
    return str(small if quick else full)


STEPS = [
    Step("storage", "TableStore (Delta) vs plain parquet", "bench_storage.py",
         lambda n, q: ["--rows", str(10 * n), "--merge-keys", str(min(10_000, 2 * n)), "--repeat", "1" if q else "3"],
         "storage", _storage),
    Step("offline_pipeline", "offline pipeline: expectation overhead, day-N vs day-1", "bench_offline_pipeline.py",
         lambda n, q: ["--customers", str(n), "--days", _pick(q, 15, 3), "--repeat", "1" if q else "3",
                       "--work", str(BENCHMARKS / "work" / "offline")], "offline_pipeline", _offline),
    Step("training_set", "point-in-time join vs pandas merge_asof", "bench_training_set.py",
         lambda n, q: ["--customers", str(n), "--days", _pick(q, 365, 30), "--labels", str(10 * n),
                       "--pandas-customers", str(n // 4), "--pandas-labels", str(10 * n // 4)], "training_set", _training_set),
    Step("scoring", "batch scoring vs plain pandas predict", "bench_scoring.py",
         lambda n, q: ["--rows", str(10 * n), "--repeat", "1" if q else "3"], "scoring", _scoring),
    Step("quality", "data quality: one pass vs per-check actions", "bench_quality.py",
         lambda n, q: ["--customers", str(n), "--days", "2", "--repeat", "1" if q else "7"], "quality", _quality),
    Step("drift", "monthly drift job", "bench_drift.py",
         lambda n, q: ["--customers", str(n), "--repeat", "1" if q else "3", *(["--parts", "scale"] if q else [])],
         "drift", _drift),
    Step("daily", "churn_daily job; its data path vs plain PySpark", "bench_daily.py",
         lambda n, q: ["--customers", str(n), "--history", "45", "--repeat", "1" if q else "3"], "daily", _daily),
    Step("engine", "daily data work: Sail vs classic Spark", "bench_engine.py",
         lambda n, q: ["--customers", str(n), "--repeat", "1" if q else "2"], "engine", _engine),
    Step("demo", "lakehouse demo end to end (default size)", "bench_demo.py",
         lambda n, q: ["--customers", str(n)] if q else [], "demo", _demo),  # the story needs its 181 days
]


def scale_steps(sizes: list[int], quick: bool) -> list[Step]:
    """The daily job at each size (the scale curve); each size keeps its own results file."""
    return [Step(f"daily_{n}", f"churn_daily at {n:,} customers", "bench_daily.py",
                 lambda _, q, n=n: ["--customers", str(n), "--history", "45", "--repeat", "1", "--name", f"daily_{n}"],
                 f"daily_{n}", _daily) for n in sizes]


def run_step(step: Step, customers: int, quick: bool, results: Path) -> Figures:
    """Run the step's script in a child process; its figures with wall time, peak memory and load."""
    command = [sys.executable, str(BENCHMARKS / step.script), *step.args(customers, quick)]
    print(f"== {step.name}: {' '.join(command[1:])}", flush=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
        "BENCH_RESULTS_DIR": str(results), "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    load, began = os.getloadavg()[0], time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL if quick else None)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"step {step.name} failed (exit {os.waitstatus_to_exitcode(status)}): {' '.join(command)}")
    report = json.loads((results / f"{step.result}.json").read_text())
    m = _machine(report)
    common = {"step": step.name, "what": step.what, "command": " ".join(command[1:]), "step_wall_s": round(seconds, 1),
              "step_peak_rss_mib": round(usage.ru_maxrss / 1024), "load_1m": f"{load:.1f} -> {os.getloadavg()[0]:.1f}",
              "date": m.get("date", "?"), "git_commit": m.get("git_commit", "?"), "quick": quick}
    return [{**common, **f} for f in step.figures(report)]


def _machine(report: dict[str, Any]) -> dict[str, Any]:
    """The machine, date and commit a script recorded (in a curated file: those of its main report)."""
    return report.get("machine") or _script_report(report).get("machine", {})


def recorded_rows(step: Step, results: Path) -> Figures:
    """The step's figures from the results its script recorded earlier (no step wall time or peak then)."""
    path = results / f"{step.result}.json"
    if not path.exists():
        return []
    report = json.loads(path.read_text())
    m = _machine(report)
    common = {"step": step.name, "what": step.what, "command": f"{step.script} (recorded run)", "step_wall_s": None,
              "step_peak_rss_mib": None, "load_1m": f"{m.get('load_average_1m_at_start', '?')} at start",
              "date": m.get("date", "?"), "git_commit": m.get("git_commit", "?"), "quick": False}
    return [{**common, **f} for f in step.figures(report)]


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:,.2f}" if abs(x) < 100 else f"{x:,.0f}"


def markdown(summary: dict[str, Any]) -> str:
    m = summary["machine"]
    lines = [
        "# Benchmark summary", "",
        f"`.venv/bin/python benchmarks/run_all.py --customers {summary['customers']}`; machine: {m['cpu_count']} CPUs "
        f"({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}. Ratio = value / baseline (cost: below 1 is cheaper "
        "than the baseline). Each row: the step's wall time and peak memory (process tree, engine included), "
        "the 1-minute load before -> after, date and commit of its run. Details: benchmarks/results/<step>.md.", "",
        "| figure | value | baseline | ratio | target | met | step: wall s, peak MiB, load | date, commit |",
        "|---|---:|---|---:|---|---|---|---|",
    ]
    for r in summary["rows"]:
        baseline = f"{r['baseline']} ({_fmt(r['baseline_value'])})" if r["baseline_value"] is not None else r["baseline"]
        met = "" if r["met"] is None else "yes" if r["met"] else "**no**"
        step = (f"{_fmt(r['step_wall_s'])}, {_fmt(r['step_peak_rss_mib'])}, {r['load_1m']}" if r["step_wall_s"] is not None
                else f"recorded run, load {r['load_1m']}")
        lines.append(f"| {r['figure']}{' (quick)' if r['quick'] else ''} | {_fmt(r['value'])} {r['unit']} | {baseline} | "
                     f"{_fmt(r['ratio'])} | {r['target']} | {met} | {r['step']}: {step} | {r['date']}, {r['git_commit']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--only", help="comma-separated steps (" + ", ".join(s.name for s in STEPS) + ", scale)")
    parser.add_argument("--scale", default="10000,100000,300000", help="customer counts of the scale curve")
    parser.add_argument("--quick", action="store_true", help="one repetition, short histories: a smoke run")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--summary-only", action="store_true", help="run nothing: rebuild the summary from the results")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.scale.split(",") if int(n) != args.customers]
    steps = [*STEPS, *scale_steps(sizes, args.quick)]
    wanted = set(args.only.split(",")) if args.only else {s.name for s in STEPS} | {"scale"}
    chosen = [s for s in steps if not args.summary_only and (
        s.name in wanted or ("scale" in wanted and s.name.startswith("daily_")))]
    if unknown := wanted - {s.name for s in steps} - {"scale"}:
        parser.error(f"unknown steps: {sorted(unknown)}")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / "summary.json"
    previous = json.loads(path.read_text())["rows"] if path.exists() else []
    rows = []
    for step in (s for s in steps if s not in chosen):  # the latest of the summary's row and the script's own results
        kept = [r for r in previous if r["step"] == step.name]
        recorded = recorded_rows(step, args.results_dir)
        rows += kept if kept and (not recorded or kept[0]["date"] == recorded[0]["date"]) else recorded
    for step in [None, *chosen]:
        rows += run_step(step, args.customers, args.quick, args.results_dir) if step else []
        order = [s.name for s in steps]
        rows.sort(key=lambda r: order.index(r["step"]) if r["step"] in order else len(order))
        summary = {"customers": args.customers, "machine": machine_info(("pysail", "pyspark", "deltalake")), "rows": rows}
        path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        (args.results_dir / "summary.md").write_text(markdown(summary))
    print((args.results_dir / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
