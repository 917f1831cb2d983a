"""The benchmark entry point: a quick run writes a summary with numeric ratios; every step reads its script's results.

The run itself is a smoke test at a tiny size (the storage step, about 20 s); the figure readers of all the
other steps are checked against the results recorded in benchmarks/results/, which have the shapes the
scripts write.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import run_all  # noqa: E402


def test_quick_run_writes_summary_with_ratios(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--customers", "1000", "--quick",
                           "--only", "storage", "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    rows = {r["figure"].split(" (")[0]: r for r in summary["rows"]}
    assert set(rows) == {f"storage {op}" for op in ("overwrite", "append", "replace_where", "merge", "read_count",
                                                    "filtered_aggregate")}
    for row in rows.values():
        assert row["ratio"] > 0 and row["value"] > 0 and row["step_peak_rss_mib"] > 0 and row["quick"]
        assert row["git_commit"] and row["date"]
    assert "| storage merge" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize("step", run_all.STEPS, ids=lambda s: s.name)
def test_figures_read_recorded_results(step: run_all.Step) -> None:
    recorded = ROOT / "benchmarks" / "results" / f"{step.result}.json"
    if not recorded.exists():
        pytest.skip(f"no recorded {recorded.name} yet")
    figures = step.figures(json.loads(recorded.read_text()))
    assert figures
    for f in figures:
        assert isinstance(f["value"], (int, float))
        assert f["ratio"] is None or f["ratio"] > 0
        assert (f["baseline_value"] is None) == (f["ratio"] is None)
