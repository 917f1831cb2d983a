"""Benchmark: the daily data work on Sail vs classic local Spark (JVM), each in its own process, same data.

Why: Sail is the local default engine because it was measured about 4x faster on a realistic pipeline;
this re-measures that on the project's own daily work: benchmarks/baseline_daily.py (plain PySpark, no
framework) for the measured day of bench_daily.py's state at the same size. Classic local Spark has no
Delta jar here (no Maven offline), so both engines run the script's parquet mode: the state before the
day is exported once from the Delta snapshot to parquet (delta-rs), each run writes the day's tables to
a fresh folder. One process per run (one engine per process), alternating which engine goes first; the
row counts of everything written are checked equal between the engines.

    .venv/bin/python benchmarks/bench_engine.py --customers 100000 [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
from deltalake import DeltaTable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline_daily import SILVER  # noqa: E402
from bench_daily import prepare, work_dir  # noqa: E402
from common import BENCHMARKS, ROOT, machine_info, write_results  # noqa: E402

STATE_TABLES = ("silver_customer_updates", *(t for t, *_ in SILVER.values()), "customer_daily", "ards")
ENGINES = ("sail", "classic")


def export_state(customers: int) -> Path:
    """The snapshot's tables the day reads, as plain parquet (hive-partitioned like the Delta tables); reused."""
    work = work_dir(customers)
    state, marker = work / "parquet_state", work / "parquet_state.json"
    snapshot = json.loads((work / "snapshot.json").read_text())
    if marker.exists() and json.loads(marker.read_text()) == snapshot:
        return state
    shutil.rmtree(state, ignore_errors=True)
    tables = next((work / "snapshot").glob("warehouse/*/*/ards")).parent
    for table in STATE_TABLES:
        delta = DeltaTable(str(tables / table))
        partitions = delta.metadata().partition_columns
        ds.write_dataset(delta.to_pyarrow_dataset(), state / table, format="parquet", partitioning=partitions or None,
                         partitioning_flavor="hive" if partitions else None)
    marker.write_text(json.dumps(snapshot))
    return state


def one_run(engine: str, customers: int, state: Path, day: date) -> dict[str, Any]:
    out = work_dir(customers) / f"engine_out_{engine}"
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, str(BENCHMARKS / "baseline_daily.py"), "--engine", engine, "--state", str(state),
                           "--landing", str(work_dir(customers) / "landing"), "--out", str(out), "--date", day.isoformat()],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"load_1m": round(os.getloadavg()[0], 2)}


def run(customers: int, history: int = 45, repeat: int = 2) -> dict[str, Any]:
    info = machine_info(("pysail", "pyspark"))
    day = date.fromisoformat(prepare(customers, history)["day"])
    state = export_state(customers)
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in ENGINES}
    for rep in range(repeat):
        for engine in ENGINES[::-1] if rep % 2 else ENGINES:
            runs[engine].append(one_run(engine, customers, state, day))
    rows = {e: runs[e][0]["rows"] for e in ENGINES}
    if rows["sail"] != rows["classic"]:
        raise RuntimeError(f"the engines wrote different row counts: {rows}")
    med = {e: {k: statistics.median(r[k] for r in runs[e]) for k in ("run_s", "engine_start_s")} for e in ENGINES}
    info["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    return {"machine": info, "params": {"customers": customers, "history_days": history, "repeat": repeat, "day": day},
            "runs": runs, "rows": rows["sail"],
            "summary": {"sail_s": med["sail"]["run_s"], "classic_s": med["classic"]["run_s"],
                        "ratio_classic_vs_sail": med["classic"]["run_s"] / med["sail"]["run_s"],
                        "sail_start_s": med["sail"]["engine_start_s"], "classic_start_s": med["classic"]["engine_start_s"],
                        "sail_peak_rss_mib": max(r["peak_rss_mib"] for r in runs["sail"]),
                        "classic_peak_rss_mib": max(r["peak_rss_mib"] for r in runs["classic"])}}


def markdown(r: dict[str, Any]) -> str:
    p, s, m = r["params"], r["summary"], r["machine"]
    steps = "\n".join(f"| {step} | {r['runs']['sail'][0]['steps'][step]:.2f} | {seconds:.2f} |"
                      for step, seconds in r["runs"]["classic"][0]["steps"].items())
    return f"""# Engine: the daily data work on Sail vs classic local Spark (JVM)

`python benchmarks/bench_engine.py --customers {p['customers']} --repeat {p['repeat']}`: benchmarks/baseline_daily.py
(parquet mode) for day {p['day']} after {p['history_days']} days at {p['customers']:,} customers, one process per run.
Machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['memory_gib']} GiB; load {m['load_average_1m_at_start']} at start,
{m['load_average_1m_at_end']} at end. {m['date']}, commit {m['git_commit']}.

| | Sail | classic (JVM, local[{m['cpu_count']}]) | classic / Sail |
|---|---:|---:|---:|
| the day's data work (median of {p['repeat']}) | {s['sail_s']:.1f} s | {s['classic_s']:.1f} s | **{s['ratio_classic_vs_sail']:.2f}** |
| engine start | {s['sail_start_s']:.1f} s | {s['classic_start_s']:.1f} s | |
| peak memory (Python process + JVM) | {s['sail_peak_rss_mib']:,.0f} MiB | {s['classic_peak_rss_mib']:,.0f} MiB | |

Row counts written, equal on both engines: {r['rows']}.

| step (first run) | Sail s | classic s |
|---|---:|---:|
{steps}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=45, help="days before the measured day (bench_daily's state)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    report = run(args.customers, args.history, args.repeat)
    write_results("engine", report, markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
