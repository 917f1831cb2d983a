"""The `lakehouse` command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

LAKEHOUSE = [sys.executable, "-m", "lakehouse.app.cli"]


def cli(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """The command with its output piped, as in a log or CI: not a terminal, no COLUMNS."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_") and k != "COLUMNS"}
    return subprocess.run([*LAKEHOUSE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**clean, **(env or {})})


def table_row(output: str, *cells: str) -> bool:
    """Whether a rich table in `output` has a row starting with these whole cells."""
    return re.search(r"│ " + r"\s+│ ".join(map(re.escape, cells)) + r"\s+│", output) is not None


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
    # In a log the summary keeps whole names (rich's 80 columns for a non-terminal cut them to `silver_cus…`)
    assert table_row(out.stderr, "silver_customer_updates", "COMPLETED") and "…" not in out.stderr, out.stderr
    out = cli("status", env=lake_env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert table_row(out.stderr, "lakehouse.churn.quarantine_transactions") and "…" not in out.stderr, out.stderr
    assert "2026-01-03" in out.stderr


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


LOG_A_MODEL = """
import sys
from lakehouse.app.cli import main  # every module the command imports, as `lakehouse train` has them
from lakehouse.app.verbosity import configure_logging
configure_logging()  # what `lakehouse` does first; -v is LAKEHOUSE_VERBOSE=1
import logging, mlflow, pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from ml.serialization import log_model
mlflow.set_tracking_uri(sys.argv[1])
X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
model = Pipeline([("m", LogisticRegression())]).fit(X, [0, 0, 1, 1])
with mlflow.start_run():
    log_model(model, X)
logging.getLogger("mlflow.anything").error("a real error")
"""
MLFLOW_CHATTER = re.compile(r"^\S+ \S+ (INFO|WARNING) mlflow", re.MULTILINE)  # MLflow's own line format


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_mlflow_logs_info_and_warnings_only_when_verbose_and_errors_always(tmp_path, verbose):
    """Logging a model as training does: MLflow's INFO/WARNING lines (uv, pip, database setup) only with -v."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEHOUSE_", "MLFLOW_"))}
    if verbose:
        env["LAKEHOUSE_VERBOSE"] = "1"
    # cwd: with a database tracking store MLflow's default experiment keeps artifacts in ./mlruns
    out = subprocess.run([sys.executable, "-c", LOG_A_MODEL, f"sqlite:///{tmp_path / 'mlflow.db'}"],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    output = out.stdout + out.stderr
    assert bool(MLFLOW_CHATTER.search(output)) == verbose, output[-3000:]
    assert "a real error" in output


def test_verbose_flag_shows_info_lines(lake_env):
    quiet, verbose = cli("status", env=lake_env), cli("-v", "status", env=lake_env)
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr[-2000:] + verbose.stderr[-2000:]
    assert "INFO lakehouse.core.engine: starting engine sail" in verbose.stderr
    assert "INFO" not in quiet.stderr


def test_job_history_in_a_log_shows_whole_names_dates_and_the_errors_first_line(store, settings):
    from lakehouse.local.jobs.history import TaskRun, record

    error = "pipeline offline_features update u-1 failed: [expect_or_fail] currency_allowed " + "x" * 100 + "\ntrace"
    start = datetime(2026, 6, 22, 5, 0, 1)
    record(store, TaskRun("r1", "churn_daily", "offline_features", date(2026, 6, 22), 2, "FAILED", start,
                          start + timedelta(seconds=12), error))
    out = cli("job", "history", env={"LAKEHOUSE_STORAGE_ROOT": str(settings.storage_root),
                                     "LAKEHOUSE_SCHEMA_NAME": settings.schema_name})
    assert out.returncode == 0, out.stderr[-2000:]
    assert table_row(out.stderr, "2026-06-22 05:00:01", "churn_daily", "offline_features", "2026-06-22", "2",
                     "FAILED"), out.stderr
    words = " ".join(line.split("│")[-2].strip() for line in out.stderr.splitlines() if line.count("│") == 9)
    assert words.replace(" ", "") == error.splitlines()[0].replace(" ", "") and "…" not in out.stderr, out.stderr


def test_a_log_gets_one_progress_line_per_tenth_of_the_work_and_the_last():
    script = ("from lakehouse.app.progress import progress_bar\n"
              "with progress_bar('generating', 181) as advance:\n"
              "    for day in range(181): advance(f'day {day}')\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()  # stderr is a pipe here, as in `make demo 2>&1 | cat`
    assert len(lines) == 10 and lines[0] == "generating: 19/181 day 18", lines
    assert lines[-1] == "generating: 181/181 day 180"
