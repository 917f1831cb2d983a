"""Benchmark of the source data generator: rows written per second, per source and in total.

Runs generate_range for --days days from world_start (the heaviest case: the first drop holds
the whole customer base) into a temporary landing zone, on one process, and writes a markdown
report (machine, date, parameters, results) to benchmarks/results/generator.md.

    .venv/bin/python benchmarks/bench_generator.py --customers 100000 --days 3
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.datagen.schema import SOURCES

RESULTS = Path(__file__).parent / "results" / "generator.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--defect-rate", type=float, default=0.0)
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown report to write")
    args = parser.parse_args()

    config = GeneratorConfig(seed=args.seed, customers=args.customers, defect_rate=args.defect_rate)
    start, end = config.world_start, config.world_start + timedelta(days=args.days - 1)
    day_seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-generator-") as landing:
        began = last = time.perf_counter()

        def progress(day: date) -> None:
            nonlocal last
            now = time.perf_counter()
            day_seconds.append(now - last)
            last = now
            print(f"  {day}  {day_seconds[-1]:.2f} s", flush=True)

        manifests = generate_range(config, Path(landing), start, end, progress)
        seconds = time.perf_counter() - began
    rows = {s: sum(m["files"][s]["rows"] for m in manifests) for s in SOURCES}
    megabytes = sum(f["bytes"] for m in manifests for f in m["files"].values()) / 1e6
    report = render_report(args, config, rows, seconds, day_seconds, megabytes)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(report)


def render_report(
    args: argparse.Namespace,
    config: GeneratorConfig,
    rows: dict[str, int],
    seconds: float,
    day_seconds: list[float],
    megabytes: float,
) -> str:
    total = sum(rows.values())
    lines = [
        "# Source data generator benchmark",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs (one process, one core used); "
        f"load average at the end {os.getloadavg()[0]:.1f} (other work shares the machine when > 1)",
        f"- python {platform.python_version()}, numpy {np.__version__}, pyarrow {pa.__version__}",
        f"- parameters: customers={config.customers}, days={args.days} from world_start {config.world_start}, "
        f"transactions_per_customer_day={config.transactions_per_customer_day}, seed={config.seed}, "
        f"defect_rate={config.defect_rate}, late_fraction={config.late_fraction}, "
        f"duplicate_fraction={config.duplicate_fraction}",
        f"- command: `.venv/bin/python benchmarks/bench_generator.py --customers {config.customers} "
        f"--days {args.days}`",
        "",
        "Wall time covers everything generate_range does in one process: simulating the world from",
        "world_start, drawing events, rendering, writing files atomically and writing manifests.",
        "Rows/s per source is that source's rows over the same total wall time.",
        "",
        "| source | rows | rows/s |",
        "|---|---:|---:|",
        *(f"| {s} | {n:,} | {n / seconds:,.0f} |" for s, n in rows.items()),
        f"| **total** | **{total:,}** | **{total / seconds:,.0f}** |",
        "",
        f"Wall time {seconds:.2f} s ({', '.join(f'{s:.2f}' for s in day_seconds)} s per day; "
        f"the first includes the initial customer snapshot and one-off library start-up), "
        f"{megabytes:,.1f} MB written ({megabytes / seconds:,.1f} MB/s).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
