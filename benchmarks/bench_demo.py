"""`lakehouse demo` end to end: wall time, peak memory and where the time goes (from the job_runs table).

Runs the README's main command in a subprocess on fresh directories under benchmarks/work/demo (the
default size: 10,000 customers x 90 days), then a second time on the same data, which resumes and
skips every task that succeeded: the fixed cost of starting the engine, Azurite and reading the
bundle. Peak memory is the largest resident set of the process tree (RUSAGE_CHILDREN).

    .venv/bin/python benchmarks/bench_demo.py [--customers 10000] [--days 90]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCHMARKS, ROOT, machine_info, write_results  # noqa: E402

WORK = BENCHMARKS / "work" / "demo"


def run_demo(customers: int, days: int) -> tuple[float, float, str]:
    env = {**os.environ, "LAKEHOUSE_STORAGE_ROOT": str(WORK / "warehouse"),
           "LAKEHOUSE_LANDING_PATH": str(WORK / "landing")}
    started = time.monotonic()
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "lakehouse"), "demo", "--customers", str(customers),
                           "--days", str(days)], env=env, cwd=WORK, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"demo failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.stdout


def task_totals() -> dict[str, float]:
    """Seconds per task summed over all job runs of the demo (first run only: attempts with status SUCCESS)."""
    from deltalake import DeltaTable

    runs = DeltaTable(str(next((WORK / "warehouse").glob("*/*/job_runs")))).to_pandas()
    ok = runs[runs.status == "SUCCESS"]
    return {f"{job}.{task}": round(float(s), 1) for (job, task), s in ok.groupby(["job", "task"]).duration_s.sum().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    info = machine_info(("pysail", "pyspark", "deltalake", "mlflow", "scikit-learn", "evidently"))
    first_wall, first_peak, output = run_demo(args.customers, args.days)
    totals = task_totals()
    rerun_wall, _, _ = run_demo(args.customers, args.days)
    report = {"machine": info, "customers": args.customers, "days": args.days,
              "demo_wall_s": round(first_wall, 1), "demo_peak_rss_mib": round(first_peak),
              "rerun_all_skipped_wall_s": round(rerun_wall, 1), "task_seconds": totals,
              "load_average_1m_at_end": round(os.getloadavg()[0], 2)}
    rows = "\n".join(f"| {task} | {seconds} |" for task, seconds in sorted(totals.items(), key=lambda kv: -kv[1]))
    markdown = f"""# `lakehouse demo` end to end

{args.customers:,} customers x {args.days} days, {info['cpu_count']} CPUs ({info['cpu']}), {info['memory_gib']} GiB,
{info['date']}, commit {info['git_commit']}, load {info['load_average_1m_at_start']} at start,
{report['load_average_1m_at_end']} at end.

| figure | value |
|---|---|
| demo wall time (generate, first deployment, 7 daily runs, drift) | {report['demo_wall_s']} s |
| peak memory (largest process) | {report['demo_peak_rss_mib']} MiB |
| rerun on the same data (every task resumed as done) | {report['rerun_all_skipped_wall_s']} s |

Seconds per task, summed over the demo's job runs (successful attempts):

| job.task | seconds |
|---|---|
{rows}
"""
    write_results("demo", report, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
