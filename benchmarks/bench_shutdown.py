"""Benchmark: `lakehouse ui` and `lakehouse quality azurite` stop on SIGTERM and SIGINT, under CPU load, leaving
nothing behind (issue 20, part 5).

Why: Python runs signal handlers only in the main thread between bytecodes, so a server whose main thread sits
in the engine (Sail's Rust server) ignored SIGTERM now and then, and SIGTERM to `lakehouse quality azurite` left
its `node azurite-blob` running. Both now stop by design (lakehouse/local/shutdown.py); this counts how often that
holds on a busy machine, and how long a stop takes, which a unit test must not assert.

Each run: start the command on an empty local lakehouse with no report store (so `lakehouse ui` starts Azurite
too), wait for its ready line, for the UI fetch the index and the Reports page (the engine and Azurite have
worked), send SIGTERM or SIGINT (alternately), then measure the seconds until the command exits and until the
last process it started (read from /proc before the signal) is gone. `--burners` processes spin on the CPUs
meanwhile. A run fails when the exit code is not 0 or a process is still there after `--deadline` seconds.

Run: `python benchmarks/bench_shutdown.py` (defaults: 20 runs per command, 2 burners; about 5 minutes on 2
cores); writes benchmarks/results/shutdown.{md,json}.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import machine_info, write_results  # noqa: E402
from processes import alive, command_line, descendants  # noqa: E402

LAKEHOUSE = [sys.executable, "-m", "lakehouse.app.cli"]
COMMANDS = {"ui": (["ui", "--port", "0"], "lakehouse UI on "), "quality azurite": (["quality", "azurite"], "Azurite Blob at ")}


@contextmanager
def burning(count: int) -> Iterator[None]:
    """`count` processes that keep a CPU busy each, for the duration of the block."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def one_stop(command: str, number: signal.Signals, root: Path, deadline_s: float) -> dict[str, Any]:
    """Start `command`, signal it once it is ready, and time its exit and the end of everything it started."""
    args, ready = COMMANDS[command]
    env = {k: v for k, v in os.environ.items() if k != "AZURE_STORAGE_CONNECTION_STRING" and not k.startswith("LAKEHOUSE_")}
    env.update(LAKEHOUSE_ENV="local", LAKEHOUSE_STORAGE_ROOT=str(root / "warehouse"))
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen([*LAKEHOUSE, *args], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        line = process.stdout.readline()
        if ready not in line:
            process.kill()
            stderr.seek(0)
            raise RuntimeError(f"{command} did not start: {line!r} {stderr.read()[-2000:]}")
        if command == "ui":
            url = line.split(" on ", 1)[1].split()[0]
            for page in ("/", "/reports"):
                with urllib.request.urlopen(url + page, timeout=120) as reply:
                    reply.read()
        children = descendants(process.pid)
        sent = time.monotonic()
        process.send_signal(number)
        try:
            code = process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        exited = time.monotonic() - sent
        while alive(children) and time.monotonic() - sent < deadline_s:
            time.sleep(0.01)
        left = [command_line(pid) for pid, _ in alive(children)]
        for pid, _ in alive(children):
            os.kill(pid, signal.SIGKILL)
        return {"command": command, "signal": number.name, "exit_code": code, "exit_s": round(exited, 3),
                "all_gone_s": round(time.monotonic() - sent, 3), "processes": len(children), "left": left,
                "ok": code == 0 and not left}


def summary(stops: list[dict[str, Any]]) -> dict[str, Any]:
    gone = [s["all_gone_s"] for s in stops]
    return {"runs": len(stops), "ok": sum(s["ok"] for s in stops), "median_all_gone_s": round(statistics.median(gone), 3),
            "max_all_gone_s": max(gone), "max_exit_s": max(s["exit_s"] for s in stops)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="stops per command")
    parser.add_argument("--burners", type=int, default=2, help="busy processes meanwhile")
    parser.add_argument("--deadline", type=float, default=30.0, help="seconds after which a stop counts as failed")
    options = parser.parse_args()
    stops = []
    with burning(options.burners), tempfile.TemporaryDirectory(prefix="bench-shutdown-") as scratch:
        for command in COMMANDS:
            for run in range(options.runs):
                number = (signal.SIGTERM, signal.SIGINT)[run % 2]
                stops.append(one_stop(command, number, Path(scratch) / command.replace(" ", "_"), options.deadline))
                print(stops[-1], flush=True)
    load = os.getloadavg()[0]
    report = {"machine": machine_info(("pysail", "pyspark")), "burners": options.burners, "load_1min_at_end": load,
              "per_command": {c: summary([s for s in stops if s["command"] == c]) for c in COMMANDS}, "stops": stops}
    rows = "\n".join(f"| `lakehouse {c}` | {r['ok']} of {r['runs']} | {r['median_all_gone_s']} | {r['max_all_gone_s']} "
                     f"| {r['max_exit_s']} |" for c, r in report["per_command"].items())
    markdown = f"""# Shutdown under CPU load (issue 20, part 5)

`python benchmarks/bench_shutdown.py --runs {options.runs} --burners {options.burners}`: each command started on an
empty local lakehouse with no report store (`lakehouse ui` starts Azurite), stopped with SIGTERM and SIGINT
alternately while {options.burners} processes spin on the CPUs (1-minute load {load:.1f} at the end). A stop is
clean when the command exits 0 and every process it started is gone.

| command | clean stops | median s to all gone | max s to all gone | max s to exit |
|---|---|---|---|---|
{rows}

{report['machine']['cpu']}, {report['machine']['cpu_count']} CPUs, commit {report['machine']['git_commit']}.
"""
    write_results("shutdown", report, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
