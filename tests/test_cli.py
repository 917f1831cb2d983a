"""The `lakehouse` command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAKEHOUSE = [sys.executable, "-m", "lakehouse.cli"]


def cli(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    return subprocess.run([*LAKEHOUSE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**clean, "COLUMNS": "200", **(env or {})})


@pytest.fixture
def lake_env(tmp_path: Path) -> dict[str, str]:
    return {"LAKEHOUSE_STORAGE_ROOT": str(tmp_path / "wh"), "LAKEHOUSE_LANDING_PATH": str(tmp_path / "landing")}


def test_help_lists_the_subcommands():
    out = cli("--help")
    assert out.returncode == 0
    for command in ("generate", "status", "pipeline", "demo"):
        assert command in out.stdout
    assert "Run one update of pipeline NAME" in cli("pipeline", "run", "--help").stdout


def test_generate_then_pipeline_then_status(lake_env, tmp_path: Path):
    out = cli("generate", "--start", "2026-01-01", "--days", "3", "--customers", "200", env=lake_env)
    assert out.returncode == 0, out.stderr
    assert "wrote 3 daily drops" in out.stderr
    manifest = json.loads((tmp_path / "landing" / "_manifest" / "2026-01-03.json").read_text())
    assert manifest["config"]["customers"] == 200
    out = cli("pipeline", "run", "offline_features", "--date", "2026-01-03", "--full-refresh", env=lake_env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "offline_features: COMPLETED" in out.stderr
    out = cli("status", env=lake_env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "lakehouse.churn.ards" in out.stderr and "2026-01-03" in out.stderr


@pytest.mark.parametrize(
    "args, env, message",
    [
        (("generate", "--start", "2026-01-05", "--end", "2026-01-01"), {}, "is before --start"),
        (("generate", "--start", "2025-12-01"), {}, "before world_start"),
        (("generate", "--start", "yesterday"), {}, "is not a date"),
        (("status",), {"LAKEHOUSE_ENV": "qa"}, "error: unknown environment 'qa'"),
        (("status",), {"LAKEHOUSE_STORAGE_ROOT": "/proc/no/such/place"}, "error: storage root /proc/no/such/place is not writable"),
        (("--engine", "databricks", "status"), {}, "error: engine 'databricks' runs only inside a Databricks job"),
        (("pipeline", "run", "no_such_pipeline"), {}, "error: bundle has no pipeline 'no_such_pipeline'"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_failing_exit(args, env, message, lake_env):
    out = cli(*args, env={**lake_env, **env})
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr
