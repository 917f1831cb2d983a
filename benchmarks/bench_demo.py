"""`lakehouse demo` end to end: wall time, peak memory and where the time goes (from the job_runs table).

Runs the README's main command in a subprocess on fresh directories under benchmarks/work/demo (by default at the
demo's default size, lakehouse.core.settings.GeneratorSettings: 6,000 customers x 181 days, with its story: defects,
the incident day and its recovery, two drift months), then a second time on the same data, which resumes and
skips every task that succeeded: the fixed cost of starting the engine, Azurite and reading the
bundle. Peak memory is the largest resident set of the process tree (RUSAGE_CHILDREN). The demo's own summary
("What happened") is recorded with the figures.

    .venv/bin/python benchmarks/bench_demo.py [--customers N] [--days N]
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

from lakehouse.core.settings import GeneratorSettings  # noqa: E402

WORK = BENCHMARKS / "work" / "demo"


def run_demo(customers: int, days: int) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system of the demo's processes), peak MiB and what the demo printed (its
    console writes to stderr). CPU seconds depend less on what else the machine runs than wall time does."""
    env = {**os.environ, "LAKEHOUSE_STORAGE_ROOT": str(WORK / "warehouse"),
           "LAKEHOUSE_LANDING_PATH": str(WORK / "landing")}
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "lakehouse"), "demo", "--customers", str(customers),
                           "--days", str(days)], env=env, cwd=WORK, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"demo failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, after.ru_maxrss / 1024, done.stdout + done.stderr


def task_totals() -> dict[str, float]:
    """Seconds per task summed over all job runs of the demo (first run only: attempts with status SUCCESS; the
    incident day's failed pipeline update is not counted)."""
    from deltalake import DeltaTable

    runs = DeltaTable(str(next((WORK / "warehouse").glob("*/*/job_runs")))).to_pandas()
    ok = runs[runs.status == "SUCCESS"]
    return {f"{job}.{task}": round(float(s), 1) for (job, task), s in ok.groupby(["job", "task"]).duration_s.sum().items()}


def summary(output: str) -> str:
    """The demo's closing summary, from its "What happened" line on, with the console's wrapping undone (a wrapped
    line continues after the space the console broke it at)."""
    text = output[output.rfind("What happened"):] if "What happened" in output else ""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith(" ") or line.endswith(":") or not lines:
            lines.append(line.rstrip())
        else:
            lines[-1] += " " + line.rstrip()
    return "\n".join(lines)


def offline_updates() -> dict[str, float]:
    """Seconds of the offline_features updates (create_update to the final state, from its event log): the first
    deployment's full refresh, the recovery's full refresh of the transactions tables (the update after the failed
    one, run outside the job), and the median of the other daily updates."""
    from deltalake import DeltaTable

    log = DeltaTable(str(next((WORK / "warehouse").glob("*/*/event_log_offline_features")))).to_pandas()
    log["update"] = log.origin.map(lambda o: o["update_id"])
    spans = log.groupby("update").timestamp.agg(["min", "max"]).sort_values("min")
    seconds = [(row.Index, (row.max - row.min).total_seconds()) for row in spans.itertuples()]
    failed = set(log[log.details.str.contains('"state": "FAILED"') & (log.event_type == "update_progress")]["update"])
    after_failure = next(i + 1 for i, (update, _) in enumerate(seconds) if update in failed)
    daily = [s for i, (u, s) in enumerate(seconds) if i not in (0, after_failure) and u not in failed]
    return {"first_deployment_s": round(seconds[0][1], 1), "recovery_s": round(seconds[after_failure][1], 1),
            "daily_median_s": round(sorted(daily)[len(daily) // 2], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = GeneratorSettings()
    parser.add_argument("--customers", type=int, default=defaults.customers)
    parser.add_argument("--days", type=int, default=defaults.days)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    info = machine_info(("pysail", "pyspark", "deltalake", "mlflow", "scikit-learn", "evidently"))
    first_wall, first_cpu, first_peak, output = run_demo(args.customers, args.days)
    totals, updates = task_totals(), offline_updates()
    rerun_wall, _, _, _ = run_demo(args.customers, args.days)
    story = summary(output)
    report = {"machine": info, "customers": args.customers, "days": args.days,
              "demo_wall_s": round(first_wall, 1), "demo_cpu_s": round(first_cpu, 1), "demo_peak_rss_mib": round(first_peak),
              "rerun_all_skipped_wall_s": round(rerun_wall, 1), "task_seconds": totals,
              "offline_updates": updates,
              "load_average_1m_at_end": round(os.getloadavg()[0], 2), "summary": story}
    rows = "\n".join(f"| {task} | {seconds} |" for task, seconds in sorted(totals.items(), key=lambda kv: -kv[1]))
    markdown = f"""# `lakehouse demo` end to end

{args.customers:,} customers x {args.days} days, {info['cpu_count']} CPUs ({info['cpu']}), {info['memory_gib']} GiB,
{info['date']}, commit {info['git_commit']}, 1-minute load {info['load_average_1m_at_start']} at start,
{report['load_average_1m_at_end']} at end (other engineers' work shares the machine when it is above 2).

| figure | value |
|---|---|
| demo wall time (generate, first deployment, 2 drift months, 7 daily runs with the incident and its recovery) | {report['demo_wall_s']} s (CPU {report['demo_cpu_s']} s) |
| peak memory (largest process) | {report['demo_peak_rss_mib']} MiB |
| rerun on the same data (every task resumed as done) | {report['rerun_all_skipped_wall_s']} s |
| offline_features updates: first deployment (full refresh) / recovery (full refresh of the transactions tables) / daily median | {updates['first_deployment_s']} / {updates['recovery_s']} / {updates['daily_median_s']} s |

Seconds per task, summed over the demo's job runs (successful attempts):

| job.task | seconds |
|---|---|
{rows}

What the demo said at the end:

```
{story}
```
"""
    write_results("demo", report, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
