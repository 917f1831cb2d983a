"""Task values come only from Python notebook tasks, on Databricks and here (issue 17, audit B6).

The bundle's gate and retrain signal are set by the notebook `bundle/notebooks/lakehouse_task.py`; `lakehouse job
check` and the runner refuse a job that reads the values of any other task type; the runner runs the notebook file
itself with a local dbutils. Runner tests use test tasks registered under TASKS (the real dispatch), as in
test_jobs.py; the real daily job is in test_daily_job.py. The local dbutils is imported inside its tests, so that
on code without it every other test here still fails for its own reason.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from lakehouse import tasks
from lakehouse.core.errors import ConfigError
from lakehouse.local.bundle import BUNDLE_DIR, load_bundle
from lakehouse.local.jobs.check import check_bundle
from lakehouse.local.jobs.runner import RunOptions, run_job
from lakehouse.local.jobs.spec import bundle_jobs, parse_job
from tests.test_jobs import notebook, wheel
from tests.wheel import repo_copy

RULE = "only a Python notebook task can set task values"
DOCS = "https://docs.databricks.com/jobs/task-values.html"
NOTEBOOK = BUNDLE_DIR / "notebooks" / "lakehouse_task.py"
DAY = date(2026, 3, 4)


def condition(name: str, source: str, key: str) -> dict:
    return {"task_key": name, "depends_on": [{"task_key": source}],
            "condition_task": {"op": "EQUAL_TO", "left": f"{{{{tasks.{source}.values.{key}}}}}", "right": "true"}}


def job(*task_list: dict, folder: Path = BUNDLE_DIR / "resources") -> dict:
    """A job body as load_bundle gives it: `_file` is the YAML it came from, which notebook paths resolve against."""
    return {"name": "j", "_file": str(folder / "j.job.yml"), "parameters": [{"name": "run_date", "default": ""}],
            "tasks": list(task_list)}


@pytest.fixture
def signals(monkeypatch) -> list[tuple[str, date]]:
    """Test tasks under TASKS, recording (task, date) calls: `yes` returns passed=true, `no` passed=false."""
    calls: list[tuple[str, date]] = []

    def task(name: str, values: dict[str, str]):
        def run(spark, settings, run_date):
            calls.append((name, run_date))
            return values
        return run

    for name, values in {"yes": {"passed": "true"}, "no": {"passed": "false"}, "after": {"done": "1"}}.items():
        monkeypatch.setitem(tasks.TASKS, name, task(name, values))
    return calls


# --- the bundle -----------------------------------------------------------------------------------------

def test_every_task_value_the_bundle_reads_is_set_by_a_python_notebook():
    """The gate and the retrain signal come from notebook tasks running the bundle's Python source notebook."""
    for target in ("dev", "prod"):
        for key, spec in bundle_jobs(target).items():
            for task in spec.tasks:
                for source in re.findall(r"\{\{\s*tasks\.(\w+)\.values\.", str(task.body)):
                    producer = spec.task(source)
                    assert producer.kind == "notebook_task", (key, task.key, source, producer.kind)
                    path = (producer.source_dir / producer.body["notebook_path"]).resolve()
                    assert path == NOTEBOOK and path.read_text().startswith("# Databricks notebook source\n")
    daily, drift = bundle_jobs("prod")["churn_daily"], bundle_jobs("prod")["churn_drift"]
    assert daily.task("data_quality").body["base_parameters"] == {
        "task": "data_quality", "env": "prod", "date": "{{job.parameters.run_date}}", "catalog": "churn_prod",
        "schema": "churn", "since": "{{job.start_time.iso_datetime}}"}
    assert drift.task("drift").body["base_parameters"]["task"] == "drift"


def test_the_notebook_is_thin_and_imports_the_package_from_the_job_environment():
    """One package call and taskValues.set; no %pip and no sys.path edit: the wheel comes from environment_key."""
    source = NOTEBOOK.read_text()
    assert source.count("run_notebook_task(") == 1 and "dbutils.jobs.taskValues.set(" in source
    assert "%pip" not in source.replace("`%pip`", "") and "sys.path" not in source
    for name, key in (("churn_daily", "data_quality"), ("churn_drift", "drift")):
        body = load_bundle("dev")["resources"]["jobs"][name]
        task = next(t for t in body["tasks"] if t["task_key"] == key)
        env = next(e for e in body["environments"] if e["environment_key"] == task["environment_key"])
        assert env["spec"]["dependencies"] == ["../../dist/*.whl"]


def edit_daily_tasks(root: Path, change) -> None:
    path = root / "resources" / "daily.job.yml"
    data = yaml.safe_load(path.read_text())
    change({t["task_key"]: t for t in data["resources"]["jobs"]["churn_daily"]["tasks"]})
    path.write_text(yaml.safe_dump(data))


def _as_wheel_task(tasks_by_key: dict) -> None:
    """The bundle as it was: data_quality a python_wheel_task whose values quality_gate reads."""
    task = tasks_by_key["data_quality"]
    task.pop("notebook_task", None)
    task["python_wheel_task"] = {"package_name": "churn_lakehouse", "entry_point": "lakehouse-task", "parameters": [
        "data_quality", "--env", "dev", "--catalog", "churn_dev", "--schema", "${workspace.current_user.short_name}"]}


def _data_quality_runs(path: str):
    def change(tasks_by_key: dict) -> None:
        task = tasks_by_key["data_quality"]
        task.pop("python_wheel_task", None)
        task["notebook_task"] = {"notebook_path": path, "base_parameters": {
            "task": "data_quality", "env": "dev", "catalog": "churn_dev",
            "schema": "${workspace.current_user.short_name}"}}
    return change


def test_bundle_check_refuses_a_condition_on_the_values_of_a_wheel_task(tmp_path):
    bundle = repo_copy(tmp_path)
    edit_daily_tasks(bundle, _as_wheel_task)
    problems = check_bundle("dev", root=bundle, build=False)
    assert problems == [
        "jobs.churn_daily.quality_gate: reads {{tasks.data_quality.values.gate_passed}}, but 'data_quality' is a "
        f"python_wheel_task; {RULE} (dbutils.jobs.taskValues.set is available only in Python notebooks: {DOCS})"]


def _synced(bundle: Path) -> None:
    """Make sure bundle/notebooks is uploaded (the repository's bundle lists it; an older one did not)."""
    text = (bundle / "databricks.yml").read_text()
    if "    - notebooks\n" not in text:
        (bundle / "databricks.yml").write_text(text.replace("    - ../quality\n", "    - ../quality\n    - notebooks\n"))


@pytest.mark.parametrize("file, source, problem", [
    # a SQL notebook runs, but cannot set the task value the gate reads
    ("gate.sql", "-- Databricks notebook source\nSELECT 1\n",
     "jobs.churn_daily.quality_gate: reads {{tasks.data_quality.values.gate_passed}}, but 'data_quality' is a "
     f"notebook_task whose notebook is sql; {RULE}"),
    # a .py file without the header is deployed as a plain file: the CLI stops ("expected a notebook")
    ("plain.py", "print('no header')\n",
     "jobs.churn_daily.tasks.data_quality.notebook_task.notebook_path: expected a notebook but got a file"),
])
def test_bundle_check_refuses_notebooks_that_cannot_set_the_gate(tmp_path, file, source, problem):
    bundle = repo_copy(tmp_path)
    _synced(bundle)
    (bundle / "notebooks").mkdir(exist_ok=True)
    (bundle / "notebooks" / file).write_text(source)
    edit_daily_tasks(bundle, _data_quality_runs(f"../notebooks/{file}"))
    problems = check_bundle("dev", root=bundle, build=False)
    assert any(p.startswith(problem) for p in problems), problems


def test_bundle_check_refuses_a_notebook_outside_sync_paths(tmp_path):
    """Only sync.paths are uploaded: a job naming a notebook elsewhere would point at a file that is never there."""
    bundle = repo_copy(tmp_path)
    (bundle / "scratch").mkdir()
    (bundle / "scratch" / "gate.py").write_text("# Databricks notebook source\nx = 1\n")
    edit_daily_tasks(bundle, _data_quality_runs("../scratch/gate.py"))
    problems = check_bundle("dev", root=bundle, build=False)
    assert any(p.startswith("jobs.churn_daily.tasks.data_quality.notebook_task.notebook_path: ../scratch/gate.py "
                            "is not under sync.paths") for p in problems), problems


# --- the runner -----------------------------------------------------------------------------------------

def test_runner_refuses_a_job_reading_values_of_a_wheel_task_before_running_anything(spark, settings, signals):
    spec = parse_job("j", job(wheel("yes"), condition("check", "yes", "passed"), wheel("after", "check")))
    with pytest.raises(ConfigError, match=re.escape(f"'yes' is a python_wheel_task; {RULE}")):
        run_job(spark, settings, spec, DAY, RunOptions(retry_delay_scale=0))
    assert signals == []


def test_wheel_tasks_set_no_task_values(spark, settings, signals):
    """The console script only prints what a task returns; nothing downstream can read it (as on Databricks)."""
    run = run_job(spark, settings, parse_job("j", job(wheel("yes"))), DAY)
    assert run.tasks["yes"].status == "SUCCESS" and run.tasks["yes"].values == {}
    assert not hasattr(tasks, "set_task_values")


@pytest.mark.parametrize("signal, outcome, after", [("yes", "true", "SUCCESS"), ("no", "false", "EXCLUDED")])
def test_a_condition_reads_what_the_notebook_set(spark, settings, signals, signal, outcome, after):
    spec = parse_job("j", job(notebook(signal), condition("check", signal, "passed"),
                              {**wheel("after"), "depends_on": [{"task_key": "check", "outcome": "true"}]}))
    run = run_job(spark, settings, spec, DAY, RunOptions(retry_delay_scale=0))
    assert run.status == {signal: "SUCCESS", "check": "SUCCESS", "after": after}, run.failures()
    assert run.tasks[signal].values == {"passed": outcome}  # what the notebook's taskValues.set published
    assert run.tasks["check"].values == {"outcome": outcome}
    assert signals[0] == (signal, DAY)  # the date widget: {{job.parameters.run_date}} resolved for the notebook


def test_a_notebook_that_fails_fails_its_task_and_upstream_failed_follows(spark, settings, tmp_path, signals):
    folder = tmp_path / "bundle" / "resources"
    folder.mkdir(parents=True)
    (folder / "broken.py").write_text("# Databricks notebook source\nraise RuntimeError('cell one broke')\n")
    spec = parse_job("j", job(notebook("yes", path="broken.py"), condition("check", "yes", "passed"), folder=folder))
    run = run_job(spark, settings, spec, DAY, RunOptions(retry_delay_scale=0))
    assert run.status == {"yes": "FAILED", "check": "UPSTREAM_FAILED"}
    assert run.tasks["yes"].error == "RuntimeError: cell one broke"


# --- the local dbutils ----------------------------------------------------------------------------------

def test_widgets_take_task_parameters_then_notebook_defaults_and_refuse_the_undeclared():
    from lakehouse.local.jobs.notebooks import LocalDbutils

    dbutils = LocalDbutils({"task": "drift"}, {})
    dbutils.widgets.text("task", "data_quality")
    dbutils.widgets.text("env", "")
    assert (dbutils.widgets.get("task"), dbutils.widgets.get("env")) == ("drift", "")
    with pytest.raises(ConfigError, match="No input widget named schema is defined"):
        dbutils.widgets.get("schema")


def test_job_parameters_are_pushed_down_and_win_over_base_parameters(spark, settings, signals):
    """Job parameter pushdown: a job parameter overrides a task parameter of the same key (the date here)."""
    spec = parse_job("j", {**job(notebook("yes")), "parameters": [{"name": "run_date", "default": ""},
                                                                 {"name": "date", "default": "2026-01-31"}]})
    run_job(spark, settings, spec, DAY)
    assert signals == [("yes", date(2026, 1, 31))]


def test_task_values_follow_databricks_limits():
    from lakehouse.local.jobs.notebooks import TaskValues

    values = TaskValues({"up": {"k": "v"}})
    values.set("flag", True)
    values.set("n", 3)
    values.set("s", "x")
    assert values.values == {"flag": "true", "n": "3", "s": "x"}  # as {{tasks.T.values.K}} renders them
    with pytest.raises(TypeError, match="JSON"):
        values.set("bad", {1, 2})
    with pytest.raises(ValueError, match="48 KiB"):
        values.set("big", "x" * (48 * 1024))
    assert values.get("up", "k") == "v" and values.get("up", "missing", default="d") == "d"
    with pytest.raises(ValueError):
        values.get("nowhere", "k", default="d")


@pytest.mark.parametrize("source, problem", [
    ("print('no header')\n", "is not a Databricks Python notebook"),
    ("# Databricks notebook source\n# MAGIC %pip install churn_lakehouse\n", "`%pip install churn_lakehouse` cannot run"),
])
def test_the_runner_refuses_what_it_cannot_run_as_databricks_would(tmp_path, source, problem):
    from lakehouse.local.jobs.notebooks import notebook_cells

    path = tmp_path / "nb.py"
    path.write_text(source)
    with pytest.raises(ConfigError, match=re.escape(problem)):
        notebook_cells(path)
    path.write_text("# Databricks notebook source\n# MAGIC %md\n# MAGIC # Title\n\n# COMMAND ----------\n\nx = 1\n")
    assert [c.strip() for c in notebook_cells(path)] == ["x = 1"]


@pytest.mark.parametrize("retrain, expected", [("true", "SUCCESS"), ("false", "EXCLUDED")])
def test_the_drift_jobs_retrain_signal_is_set_by_the_notebook(spark, settings, monkeypatch, retrain, expected):
    """The bundle's churn_drift: the notebook task drift publishes `retrain`, retrain_needed reads it."""
    trained: list[date] = []
    monkeypatch.setitem(tasks.TASKS, "drift", lambda spark_, settings_, day: {"retrain": retrain, "dataset_drift": "x"})
    monkeypatch.setitem(tasks.TASKS, "train", lambda spark_, settings_, day: trained.append(day) or {})
    drift = bundle_jobs()["churn_drift"]
    assert drift.task("drift").kind == "notebook_task"
    run = run_job(spark, settings, drift, DAY, RunOptions(retry_delay_scale=0))
    assert run.status == {"drift": "SUCCESS", "retrain_needed": "SUCCESS", "retrain": expected}, run.failures()
    assert run.tasks["drift"].values == {"retrain": retrain, "dataset_drift": "x"}
    assert run.tasks["retrain_needed"].values == {"outcome": retrain}
    assert trained == ([DAY] if retrain == "true" else [])


def test_the_runner_refuses_a_notebook_it_cannot_run_before_any_task_starts(spark, settings, tmp_path, signals):
    folder = tmp_path / "bundle" / "resources"
    folder.mkdir(parents=True)
    (folder / "pip.py").write_text("# Databricks notebook source\n# MAGIC %pip install churn_lakehouse\n")
    spec = parse_job("j", job(wheel("yes"), notebook("no", "yes", path="pip.py"), folder=folder))
    with pytest.raises(ConfigError, match=re.escape("jobs.j.no: ") + ".*`%pip install churn_lakehouse` cannot run"):
        run_job(spark, settings, spec, DAY)
    assert signals == []


def test_bundle_check_refuses_a_notebook_task_without_the_wheels_environment(tmp_path):
    """Without environment_key a serverless notebook task gets the notebook environment: no project package."""
    bundle = repo_copy(tmp_path)
    edit_daily_tasks(bundle, lambda tasks_by_key: tasks_by_key["data_quality"].pop("environment_key"))
    assert check_bundle("dev", root=bundle, build=False) == [
        "jobs.churn_daily.data_quality: a notebook_task needs the environment_key of one of the job's environments "
        "(has None): on serverless that is where the project wheel comes from"]
