"""Throughput of the tolerant landing-file parser (lakehouse.local.ingest.parse), single-threaded.

Four files of the same 10-column transactions-like data: clean CSV, clean JSON lines, and each with
1% bad lines (mixed defects: truncated or non-object JSON lines, CSV rows with a wrong field count,
values of the wrong type, impossible dates, extra fields). Reports the median of --repeat runs.

    .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from lakehouse.local.ingest.parse import parse_file

SCHEMA = [
    ("transaction_id", "string"),
    ("customer_id", "string"),
    ("event_time", "timestamp"),
    ("amount", "double"),
    ("quantity", "int"),
    ("currency", "string"),
    ("category", "string"),
    ("channel", "string"),
    ("is_refund", "boolean"),
    ("event_date", "date"),
]


def _records(rows: int, seed: int = 7) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    day = rng.integers(1, 29, rows)
    cols = [
        [f"t{i:010d}" for i in range(rows)],
        [f"c{x:07d}" for x in rng.integers(0, 100_000, rows)],
        [f"2026-01-{d:02d}T{h:02d}:{m:02d}:{s:02d}Z" for d, h, m, s in
         zip(day, rng.integers(0, 24, rows), rng.integers(0, 60, rows), rng.integers(0, 60, rows))],
        [f"{x:.2f}" for x in rng.random(rows) * 500],
        [str(x) for x in rng.integers(1, 10, rows)],
        ["EUR"] * rows,
        rng.choice(["groceries", "electronics", "fashion", "travel", "services"], rows).tolist(),
        rng.choice(["web", "store", "app"], rows).tolist(),
        rng.choice(["true", "false"], rows, p=[0.05, 0.95]).tolist(),
        [f"2026-01-{d:02d}" for d in day],
    ]
    return [list(r) for r in zip(*cols)]


def _json_line(rec: list[str]) -> str:
    obj = dict(zip((n for n, _ in SCHEMA), rec))
    obj["amount"], obj["quantity"], obj["is_refund"] = float(rec[3]), int(rec[4]), rec[8] == "true"
    return json.dumps(obj, separators=(",", ":"))


def _bad_csv(rec: list[str], k: int) -> str:
    line = ",".join(rec)
    return [line + ",extra-field", ",".join(rec[:3]), line.replace(rec[3], "12,50"),
            ",".join(rec[:3] + ["abc"] + rec[4:]), ",".join(rec[:9] + ["2026-02-30"])][k % 5]


def _bad_json(rec: list[str], k: int) -> str:
    good = _json_line(rec)
    obj = json.loads(good)
    variants = [good[: len(good) // 2], "[1,2,3]", json.dumps({**obj, "amount": "abc"}),
                json.dumps({**obj, "coupon": "X1"}), json.dumps({**obj, "event_date": "2026-02-30"})]
    return variants[k % 5]


def write_files(rows: int, folder: Path) -> dict[str, tuple[Path, str]]:
    recs = _records(rows)
    bad = set(np.random.default_rng(11).choice(rows, rows // 100, replace=False).tolist())
    header = ",".join(n for n, _ in SCHEMA)
    files = {
        "clean CSV": ("clean.csv", "csv", [header] + [",".join(r) for r in recs]),
        "clean JSON lines": ("clean.jsonl", "json", [_json_line(r) for r in recs]),
        "CSV, 1% bad lines": ("bad.csv", "csv", [header] + [
            _bad_csv(r, i) if i in bad else ",".join(r) for i, r in enumerate(recs)]),
        "JSON lines, 1% bad lines": ("bad.jsonl", "json", [
            _bad_json(r, i) if i in bad else _json_line(r) for i, r in enumerate(recs)]),
    }
    out = {}
    for label, (name, fmt, lines) in files.items():
        path = folder / name
        path.write_text("\n".join(lines) + "\n")
        out[label] = (path, fmt)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    print(f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at start; "
          f"Python {platform.python_version()}, pyarrow {pa.__version__}; "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {args.rows:,} rows, median of {args.repeat}")
    print("| file | MB | rows | rescued | corrupt | seconds (median) | rows/s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (path, fmt) in write_files(args.rows, Path(tmp)).items():
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                table, stats = parse_file(path, fmt, SCHEMA)
                times.append(time.perf_counter() - start)
                del table
            assert stats.rows == args.rows, stats
            sec = statistics.median(times)
            print(f"| {label} | {stats.bytes / 1e6:.0f} | {stats.rows:,} | {stats.rescued:,} | {stats.corrupt:,} "
                  f"| {sec:.2f} | {stats.rows / sec:,.0f} |")


if __name__ == "__main__":
    main()
