"""Small helpers shared by benchmark scripts: machine description, peak RSS, and writing results.

    from benchmarks.common import machine_info, measured, reset_peak_rss, peak_rss_mib, write_results
    info = machine_info(("pysail", "pyspark", "deltalake"))
    reset_peak_rss(); ...; peak = peak_rss_mib()
    seconds, cpu_s, peak, value = measured(lambda: work())   # or .seconds, .cpu_s, .peak_rss_mib, .value
    write_results("offline_pipeline", report_dict, markdown_text)   # benchmarks/results/<name>.{json,md}

Results go to benchmarks/results/, or to $BENCH_RESULTS_DIR when set (benchmarks/run_all.py points its
children there, e.g. a temporary directory in tests).

Scripts run as `python benchmarks/<script>.py`, so import this as `from common import ...` after putting
benchmarks/ on sys.path, or as `benchmarks.common` from the repository root.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or BENCHMARKS / "results")


def git_commit() -> str:
    """Short HEAD commit, with '+ uncommitted changes' when the work tree is dirty (read-only git calls)."""
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = run("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + uncommitted changes" if run("status", "--porcelain") else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine_info(packages: Iterable[str] = ()) -> dict[str, Any]:
    """Platform, CPUs, memory, Python, package versions, UTC date, git commit and the 1-minute load."""
    versions = {}
    for package in packages:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "versions": versions,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": git_commit(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux /proc/self/clear_refs); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib(pid: int | str = "self") -> float:
    """A process's RSS high-water mark in MiB: VmHWM (honours reset_peak_rss), else this process's ru_maxrss."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Measured(NamedTuple):
    seconds: float  # wall
    cpu_s: float  # this process's CPU time, Sail's threads included: steadier than wall time on a shared machine
    peak_rss_mib: float  # high-water mark during the call (Sail runs in-process, so it includes the engine)
    value: Any

    def numbers(self) -> dict[str, float]:
        return {"seconds": self.seconds, "cpu_s": self.cpu_s, "peak_rss_mib": self.peak_rss_mib}


def measured(fn: Callable[[], Any]) -> Measured:
    """Call `fn` once: wall and CPU seconds, the peak RSS during the call (reset first where Linux allows)."""
    reset_peak_rss()
    cpu, start = time.process_time(), time.perf_counter()
    value = fn()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Measured(seconds, cpu, peak_rss_mib(), value)


def write_results(name: str, report: dict[str, Any], markdown: str, directory: Path = RESULTS) -> tuple[Path, Path]:
    """Write `<directory>/<name>.json` (all numbers) and `<name>.md` (the readable report)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{name}.json", directory / f"{name}.md"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    md_path.write_text(markdown if markdown.endswith("\n") else markdown + "\n")
    return json_path, md_path
