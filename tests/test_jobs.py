"""The bundle's jobs: offline validation, schedules, run_if semantics, the local runner, resume and backfill.

Runner tests use small jobs whose wheel tasks are test functions registered under TASKS (the runner's
real dispatch); the real daily job on real pipelines is in test_daily_job.py.
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from lakehouse import tasks
from lakehouse.core.errors import ConfigError
from lakehouse.local.bundle import BUNDLE_DIR, load_bundle
from lakehouse.local.jobs import conditions as cond
from lakehouse.local.jobs.backfill import backfill, plan
from lakehouse.local.jobs.check import check_bundle
from lakehouse.local.jobs.history import TABLE, runs
from lakehouse.local.jobs.runner import JobBusy, RunOptions, run_job
from lakehouse.local.jobs.schedule import fire_times, validate_cron
from lakehouse.local.jobs.spec import Schedule, bundle_jobs, parse_job
from quality.drift.windows import last_complete_month
from tests.wheel import built_wheel, repo_copy


def wheel(name: str, *deps: str, **extra: object) -> dict:
    return {"task_key": name, "depends_on": [{"task_key": d} for d in deps], **extra,
            "python_wheel_task": {"package_name": "churn_lakehouse", "entry_point": "lakehouse-task",
                                  "parameters": [name, "--date", "{{job.parameters.run_date}}"]}}


# --- the bundle, offline -------------------------------------------------------------------------------

def test_bundle_check_builds_the_wheel_and_resolves_every_local_path_for_dev():
    assert check_bundle("dev") == []  # builds dist/*.whl with the artifact's own command first
    assert len(list((BUNDLE_DIR.parent / "dist").glob("*.whl"))) == 1


@pytest.mark.parametrize("target", ["local", "staging", "prod"])
def test_bundle_is_valid_for_every_target(target):
    built_wheel()
    assert check_bundle(target, build=False) == []


def test_targets_resolve_variables_and_includes():
    prod, dev = load_bundle("prod"), load_bundle("dev")
    assert prod["resources"]["jobs"]["churn_daily"]["name"] == "churn-daily-prod"
    assert prod["resources"]["jobs"]["churn_daily"]["schedule"]["pause_status"] == "UNPAUSED"
    assert dev["resources"]["jobs"]["churn_daily"]["schedule"]["pause_status"] == "PAUSED"
    assert prod["resources"]["pipelines"]["offline_features"]["catalog"] == "churn_prod"
    assert prod["resources"]["jobs"]["churn_daily"]["tasks"][0]["pipeline_task"]["pipeline_id"] == "offline_features"
    assert prod["targets"]["prod"]["run_as"]["service_principal_name"] == "00000000-0000-0000-0000-000000000000"
    params = prod["resources"]["jobs"]["churn_daily"]["tasks"][2]["python_wheel_task"]["parameters"]
    assert params[:3] == ["publish_features", "--env", "prod"]


def test_daily_job_runs_its_tasks_in_dependency_order():
    order = [t.key for t in bundle_jobs()["churn_daily"].order()]
    assert order == ["offline_features", "online_features", "data_quality", "publish_features", "quality_gate",
                     "train", "score"]
    daily = bundle_jobs()["churn_daily"]
    assert [(d.task_key, d.outcome) for d in daily.task("train").depends_on] == [("quality_gate", "true")]
    # A failed pipeline update closes the gate instead of leaving it unevaluated (test_daily_job.py runs it).
    assert (daily.task("data_quality").run_if, daily.task("quality_gate").run_if) == ("ALL_DONE", "AT_LEAST_ONE_SUCCESS")


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    return repo_copy(tmp_path)


def edit_daily(root: Path, change) -> None:
    path = root / "resources" / "daily.job.yml"
    data = yaml.safe_load(path.read_text())
    change(data["resources"]["jobs"]["churn_daily"])
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize("change, problem", [
    (lambda j: j.update(bogus_field=1), "Unexpected field 'bogus_field'"),
    (lambda j: j["tasks"][1].update(run_if="SOMETIMES"), "SOMETIMES"),
    (lambda j: j["tasks"][1]["depends_on"].append({"task_key": "nope"}), "unknown task(s) nope"),
    (lambda j: j["tasks"][0]["depends_on"] if "depends_on" in j["tasks"][0] else
        j["tasks"][0].update(depends_on=[{"task_key": "score"}]), "cycle"),
    (lambda j: j["tasks"][2].update(pipeline_task={"pipeline_id": "x"}), "exactly one task type"),
    (lambda j: j["schedule"].update(quartz_cron_expression="0 0 25 * * ?"), "not a valid Quartz expression"),
    (lambda j: j["schedule"].update(timezone_id="Mars/Olympus"), "time zone 'Mars/Olympus' is unknown"),
    (lambda j: j["tasks"][2]["python_wheel_task"].update(entry_point="nope"), "entry point 'nope'"),
    (lambda j: j["tasks"][2]["python_wheel_task"].update(parameters=["no_such_task"]), "no_such_task"),
    (lambda j: j["tasks"][6]["depends_on"][0].update(outcome="true"), "not a condition task"),
    (lambda j: j["tasks"][4]["condition_task"].update(left="{{tasks.score.values.rows}}"), "not upstream"),
])
def test_bundle_check_finds_what_the_models_skip(bundle_copy, change, problem):
    edit_daily(bundle_copy, change)
    problems = check_bundle("dev", root=bundle_copy, build=False)
    assert any(problem in p for p in problems), problems


def test_a_copy_of_the_repository_passes_the_check(bundle_copy):
    assert check_bundle("dev", root=bundle_copy, build=False) == []


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def _daily_env(data: dict) -> dict:
    return data["resources"]["jobs"]["churn_daily"]["environments"][0]["spec"]


@pytest.mark.parametrize("file, change, problem", [
    # the path the bundle had before: relative to the YAML file it is bundle/dist, where nothing is built
    ("resources/daily.job.yml", lambda d: _daily_env(d).update(dependencies=["../dist/*.whl"]),
     "jobs.churn_daily.environments[0].spec.dependencies[0]: no files match pattern: ../dist/*.whl"),
    ("resources/offline_features.pipeline.yml",
     lambda d: d["resources"]["pipelines"]["offline_features"]["environment"].update(dependencies=["./dist/*.whl"]),
     "pipelines.offline_features.environment.dependencies[0]: no files match pattern: ./dist/*.whl"),
    ("resources/online_features.pipeline.yml",
     lambda d: d["resources"]["pipelines"]["online_features"]["libraries"][0]["glob"].update(include="../dlt/online/**"),
     "pipelines.online_features.libraries[0].glob.include: no files match pattern: ../dlt/online/**"),
    ("resources/daily.job.yml",
     lambda d: d["resources"]["jobs"]["churn_daily"]["tasks"][0].update(
         pipeline_task=None, notebook_task={"notebook_path": "../notebooks/gate"}),
     "jobs.churn_daily.tasks.offline_features.notebook_task.notebook_path: no such file or directory"),
    ("databricks.yml", lambda d: d["sync"].update(paths=["../dlt", "../nowhere"]),
     "sync.paths[1]: no such file or directory: ../nowhere"),
])
def test_bundle_check_resolves_local_paths_as_the_cli_does(bundle_copy, file, change, problem):
    edit_yaml(bundle_copy / file, change)
    problems = check_bundle("dev", root=bundle_copy, build=False)
    assert any(p.startswith(problem) for p in problems), problems


def test_pypi_requirements_and_workspace_paths_are_not_local_files(bundle_copy):
    edit_yaml(bundle_copy / "resources/daily.job.yml", lambda d: _daily_env(d)["dependencies"].extend(
        ["pydantic-settings>=2.6", "/Volumes/churn_dev/churn/libs/x.whl", "-r /Workspace/requirements.txt"]))
    assert check_bundle("dev", root=bundle_copy, build=False) == []


def test_bundle_check_reports_a_failing_artifact_build(bundle_copy):
    edit_yaml(bundle_copy / "databricks.yml",
              lambda d: d["artifacts"]["lakehouse_wheel"].update(build="echo no compiler here >&2; exit 3"))
    problems = check_bundle("dev", root=bundle_copy)
    assert problems == ["artifacts.lakehouse_wheel: `echo no compiler here >&2; exit 3` failed (3): no compiler here"]


def test_wheel_tasks_must_read_the_schema_the_pipelines_write(bundle_copy):
    def drop_schema(data: dict) -> None:
        task = data["resources"]["jobs"]["churn_daily"]["tasks"][6]["python_wheel_task"]
        task["parameters"] = task["parameters"][:-2]

    edit_yaml(bundle_copy / "resources/daily.job.yml", drop_schema)
    problems = check_bundle("dev", root=bundle_copy, build=False)
    assert problems == ["jobs.churn_daily.score: reads churn_dev.None, but the pipelines write "
                        "churn_dev.${workspace.current_user.short_name} (pass --catalog ${var.catalog} "
                        "--schema ${var.schema})"]


# --- schedules ------------------------------------------------------------------------------------------

def test_schedules_fire_when_expected():
    daily = fire_times(Schedule("0 0 5 * * ?"), date(2026, 1, 30), date(2026, 2, 2))
    assert daily == [datetime(2026, 1, d, 5, tzinfo=ZoneInfo("UTC")) for d in (30, 31)] + [
        datetime(2026, 2, d, 5, tzinfo=ZoneInfo("UTC")) for d in (1, 2)]
    monthly = fire_times(Schedule("0 0 6 2 * ?"), date(2026, 1, 1), date(2026, 3, 31))
    assert [m.date() for m in monthly] == [date(2026, 1, 2), date(2026, 2, 2), date(2026, 3, 2)]
    mondays = fire_times(Schedule("0 30 7 ? * 2", "Europe/Amsterdam"), date(2026, 3, 1), date(2026, 3, 16))
    assert [m.date() for m in mondays] == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]  # Quartz 2 = MON
    assert mondays[0].utcoffset().total_seconds() == 3600


@pytest.mark.parametrize("cron", ["0 5 * * *", "0 0 5 * * *", "0 0 5 * * ? 2026 1", "0 0 5 ? * 9"])
def test_invalid_quartz_expressions_are_refused(cron):
    with pytest.raises(ConfigError):
        validate_cron(cron)


def test_backfill_plan_follows_both_schedules():
    jobs = bundle_jobs()
    fired = plan(jobs.values(), date(2026, 1, 20), date(2026, 3, 10))
    assert sum(f.job.key == "churn_daily" for f in fired) == 50
    drift = [f for f in fired if f.job.key == "churn_drift"]
    assert [f.run_date for f in drift] == [date(2026, 2, 1), date(2026, 3, 1)]
    assert last_complete_month(date(2026, 2, 1)) == date(2026, 1, 1)
    assert last_complete_month(date(2026, 3, 31)) == date(2026, 3, 1)
    # the drift run for Feb 1 comes after that day's daily run
    index = fired.index(drift[0])
    assert fired[index - 1].job.key == "churn_daily" and fired[index - 1].run_date == date(2026, 2, 1)


# --- run_if and conditions ------------------------------------------------------------------------------

def decide(run_if: str, *states: str, outcome: str | None = None, outcomes: dict | None = None) -> str:
    deps = [{"task_key": f"d{i}", **({"outcome": outcome} if outcome and i == 0 else {})} for i in range(len(states))]
    job = parse_job("j", {"tasks": [{**wheel("t"), "depends_on": deps, "run_if": run_if}]})
    return cond.decide(job.tasks[0], {f"d{i}": s for i, s in enumerate(states)}, outcomes or {})


@pytest.mark.parametrize("run_if, states, expected", [
    ("ALL_SUCCESS", ("SUCCESS", "SUCCESS"), "RUN"),
    ("ALL_SUCCESS", ("SUCCESS", "FAILED"), "UPSTREAM_FAILED"),
    ("ALL_SUCCESS", ("SUCCESS", "EXCLUDED"), "RUN"),
    ("ALL_SUCCESS", ("EXCLUDED", "EXCLUDED"), "EXCLUDED"),
    ("ALL_SUCCESS", ("SKIPPED", "SUCCESS"), "RUN"),
    ("AT_LEAST_ONE_SUCCESS", ("FAILED", "SUCCESS"), "RUN"),
    ("AT_LEAST_ONE_SUCCESS", ("FAILED", "UPSTREAM_FAILED"), "UPSTREAM_FAILED"),
    ("AT_LEAST_ONE_SUCCESS", ("EXCLUDED", "FAILED"), "RUN"),  # excluded tasks are treated as successful
    ("AT_LEAST_ONE_SUCCESS", ("UPSTREAM_FAILED", "SUCCESS"), "RUN"),  # quality_gate after a failed pipeline update
    ("NONE_FAILED", ("SUCCESS", "EXCLUDED"), "RUN"),
    ("NONE_FAILED", ("SUCCESS", "UPSTREAM_FAILED"), "UPSTREAM_FAILED"),
    ("ALL_DONE", ("FAILED", "SUCCESS"), "RUN"),
    ("ALL_DONE", ("FAILED",), "RUN"),  # data_quality after a failed pipeline update
    ("ALL_DONE", ("UPSTREAM_FAILED", "EXCLUDED"), "RUN"),
    ("ALL_DONE", ("EXCLUDED", "EXCLUDED"), "EXCLUDED"),  # all dependencies excluded: excluded, whatever run_if says
    ("AT_LEAST_ONE_FAILED", ("SUCCESS", "SUCCESS"), "EXCLUDED"),
    ("AT_LEAST_ONE_FAILED", ("FAILED", "SUCCESS"), "RUN"),
    ("ALL_FAILED", ("FAILED", "SUCCESS"), "EXCLUDED"),
    ("ALL_FAILED", ("FAILED", "FAILED"), "RUN"),
])
def test_run_if_follows_databricks(run_if, states, expected):
    assert decide(run_if, *states) == expected


def test_a_condition_outcome_gates_its_branch():
    assert decide("ALL_SUCCESS", "SUCCESS", outcome="true", outcomes={"d0": "true"}) == "RUN"
    assert decide("ALL_SUCCESS", "SUCCESS", outcome="true", outcomes={"d0": "false"}) == "EXCLUDED"


@pytest.mark.parametrize("op, left, right, expected", [
    ("EQUAL_TO", "true", "true", True), ("EQUAL_TO", "12.0", "12", False), ("NOT_EQUAL", "a", "b", True),
    ("GREATER_THAN_OR_EQUAL", "12.0", "12", True), ("LESS_THAN", "10", "9.5", False),
])
def test_conditions_compare_like_databricks(op, left, right, expected):
    assert cond.evaluate(op, left, right) is expected


def test_unresolvable_references_are_refused():
    assert cond.resolve("{{job.parameters.run_date}}/{{tasks.a.values.k}}", {"run_date": "D"}, {"a": {"k": "v"}}) == "D/v"
    with pytest.raises(ConfigError, match="set no value 'x'"):
        cond.resolve("{{tasks.a.values.x}}", {}, {"a": {}})
    with pytest.raises(ConfigError, match="cannot be resolved"):
        cond.resolve("{{job.start_time.iso_date}}", {}, {})


# --- the runner -----------------------------------------------------------------------------------------

class Calls(list):
    """The (task, date) calls of the test tasks; names in `fail_flags` raise."""

    fail_flags: set[str]


@pytest.fixture
def calls(monkeypatch) -> Calls:
    """Test tasks under TASKS: `ok` sets a value, `flaky` fails while flagged, `gate` says no."""
    seen = Calls()
    seen.fail_flags = set()
    fail_flags = seen.fail_flags

    def task(name: str, values: dict[str, str]):
        def run(spark, settings, run_date):
            seen.append((name, run_date))
            if name in fail_flags:
                raise RuntimeError(f"{name} broke")
            return values
        return run

    for name, values in {"ok": {"n": "1"}, "flaky": {}, "gate": {"passed": "false"}, "after": {}}.items():
        monkeypatch.setitem(tasks.TASKS, name, task(name, values))
    return seen


def notebook(name: str, *deps: str, path: str = "../notebooks/lakehouse_task.py", **params: str) -> dict:
    """A task running the bundle's task notebook (a path relative to the job's YAML, as in bundle/resources)."""
    return {"task_key": name, "depends_on": [{"task_key": d} for d in deps],
            "notebook_task": {"notebook_path": path,
                              "base_parameters": {"task": name, "date": "{{job.parameters.run_date}}", **params}}}


def small_job() -> dict:
    """Only a notebook task can set the task value a condition reads, so `gate` runs through the task notebook."""
    return {"name": "small", "_file": str(BUNDLE_DIR / "resources" / "small.job.yml"),
            "parameters": [{"name": "run_date", "default": ""}], "tasks": [
        wheel("ok"), wheel("flaky", "ok", max_retries=1, min_retry_interval_millis=5),
        notebook("gate", "ok"),
        {"task_key": "check", "depends_on": [{"task_key": "gate"}],
         "condition_task": {"op": "EQUAL_TO", "left": "{{tasks.gate.values.passed}}", "right": "true"}},
        {**wheel("after", "check"), "depends_on": [{"task_key": "check", "outcome": "true"}]},
        {**wheel("cleanup", "flaky"), "run_if": "AT_LEAST_ONE_FAILED"},
    ]}


DAY = date(2026, 3, 4)


def test_runner_retries_records_every_attempt_and_resumes(spark, settings, store, calls):
    calls.fail_flags.add("flaky")
    job = parse_job("small", small_job())
    first = run_job(spark, settings, job, DAY, RunOptions(retry_delay_scale=0))
    assert first.status == {"ok": "SUCCESS", "flaky": "FAILED", "gate": "SUCCESS", "check": "SUCCESS",
                            "after": "EXCLUDED", "cleanup": "FAILED"}
    assert "no task 'cleanup'" in first.tasks["cleanup"].error  # it ran (a dependency failed): no such task
    assert calls.count(("flaky", DAY)) == 2  # one retry
    assert not first.leaves_ok(job)
    rows = runs(store, "small")
    assert sorted((r["task"], r["attempt"], r["status"]) for r in rows if r["task"] == "flaky") == [
        ("flaky", 0, "FAILED"), ("flaky", 1, "FAILED")]
    assert {r["run_date"] for r in rows} == {DAY}

    calls.fail_flags.clear()
    calls.clear()
    second = run_job(spark, settings, job, DAY, RunOptions(retry_delay_scale=0))
    assert second.status == {"ok": "SKIPPED", "flaky": "SUCCESS", "gate": "SKIPPED", "check": "SUCCESS",
                             "after": "EXCLUDED", "cleanup": "EXCLUDED"}
    assert calls == [("flaky", DAY)]  # only the failed task ran again; the condition reused the gate's value
    assert second.leaves_ok(job)

    calls.clear()
    run_job(spark, settings, job, DAY, RunOptions(resume=False, retry_delay_scale=0))
    assert [c[0] for c in calls] == ["ok", "flaky", "gate"]
    assert store.read(TABLE).count() == (6 + 1) + 6 + 6  # a row per task and run, plus the first retry


def test_backfill_across_two_month_boundaries_runs_the_drift_job_twice(spark, settings, calls, monkeypatch):
    drift_months: list[date] = []

    def drift(spark_, settings_, run_date):
        drift_months.append(last_complete_month(run_date))
        return {"retrain": "true" if len(drift_months) == 2 else "false", "dataset_drift": "false"}

    monkeypatch.setitem(tasks.TASKS, "drift", drift)
    monkeypatch.setitem(tasks.TASKS, "train", lambda spark_, settings_, day: calls.append(("train", day)) or {})
    daily = parse_job("tiny_daily", {"schedule": {"quartz_cron_expression": "0 0 5 * * ?", "timezone_id": "UTC"},
                                     "tasks": [wheel("ok")]})
    runs_ = backfill(spark, settings, [daily, bundle_jobs()["churn_drift"]], date(2026, 1, 25), date(2026, 3, 5),
                     RunOptions(retry_delay_scale=0))
    assert drift_months == [date(2026, 1, 1), date(2026, 2, 1)]
    assert sum(r.job == "tiny_daily" for r in runs_) == 40
    assert calls.count(("ok", date(2026, 2, 1))) == 1
    assert [c for c in calls if c[0] == "train"] == [("train", date(2026, 3, 1))]  # retrain only when signalled


# --- Azure DevOps -------------------------------------------------------------------------------------------

DEVOPS = BUNDLE_DIR.parent / ".azure" / "devops-pipelines"


def test_devops_pipelines_test_deploy_staging_and_release_prod_without_secrets():
    docs = {p.name: yaml.safe_load(p.read_text()) for p in DEVOPS.glob("*.yml")}
    assert set(docs) == {"pr.yml", "main.yml", "release.yml"}
    assert docs["pr.yml"]["pr"]["branches"]["include"] == ["main"]
    staging = docs["main.yml"]["stages"][1]
    assert staging["dependsOn"] == "test" and staging["variables"] == [{"group": "churn-staging"}]
    deploy = staging["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"][1]
    assert deploy["parameters"] == {"target": "staging", "serviceConnection": "churn-staging-arm", "runJob": "churn_daily"}
    assert docs["release.yml"]["trigger"]["tags"]["include"] == ["v*"]
    for path in DEVOPS.rglob("*.yml"):  # credentials come from variable groups and service connections only
        text = path.read_text()
        assert "dapi" not in text and "AccountKey=" not in text and "DATABRICKS_TOKEN" not in text, path


# What a Microsoft-hosted ubuntu-latest agent has (actions/runner-images images/ubuntu/Ubuntu2404-Readme.md:
# curl, sudo, GNU make, Python 3.12 with pip and venv; uv is not there), plus the shell's own `set`.
STOCK_AGENT = {"curl", "sudo", "sh", "make", "python3", "set"}


def _commands(script: str) -> list[str]:
    return [part.split()[0] for line in script.splitlines() for part in re.split(r"&&|\|", line) if part.split()]


def test_devops_deploy_runs_the_readme_commands_with_tools_a_stock_agent_has_or_installs():
    steps = yaml.safe_load((DEVOPS / "templates" / "deploy-bundle.yml").read_text())["steps"]
    scripts = [s["script"] for s in steps if "script" in s]
    scripts += [s["inputs"]["inlineScript"] for s in steps if "task" in s]
    scripts += [s["inputs"]["inlineScript"] for group in steps for key, inner in group.items()
                if key.startswith("${{") for s in inner]
    text = "\n".join(scripts)
    readme = (BUNDLE_DIR.parent / "README.md").read_text().split("## Deploying to Databricks")[1]
    documented = set(re.findall(r"\.venv/bin/lakehouse bundle (validate|deploy|run) -t", readme))
    assert documented == {"validate", "deploy", "run"}
    for action in documented:
        assert f".venv/bin/lakehouse bundle {action} --target ${{{{ parameters.target }}}}" in text, action
    installed_by_steps = {".venv/bin/lakehouse"}  # make setup creates .venv; the first step installs databricks
    assert set(_commands(text)) <= STOCK_AGENT | installed_by_steps, set(_commands(text))
    build = load_bundle("prod")["artifacts"]["lakehouse_wheel"]["build"]
    assert set(_commands(build)) <= STOCK_AGENT, build  # the CLI runs it inside `lakehouse bundle deploy`


def test_a_second_run_of_the_same_job_refuses_while_the_first_holds_the_lock(spark, settings, calls, monkeypatch):
    job = parse_job("small", small_job())
    inner: list[str] = []

    def concurrent(spark_, settings_, run_date):
        with pytest.raises(JobBusy, match=r"job 'small' is already running \(run \w+ for 2026-03-04, pid \d+"):
            run_job(spark, settings, job, run_date)
        inner.append("refused")
        return {}

    monkeypatch.setitem(tasks.TASKS, "ok", concurrent)
    first = run_job(spark, settings, job, DAY, RunOptions(retry_delay_scale=0))
    assert inner == ["refused"] and first.tasks["ok"].status == "SUCCESS"
    assert not (settings.storage_root / "_jobs" / "small" / "lock").exists()  # released


def test_deploy_helpers_check_first_and_explain_a_missing_cli(monkeypatch, tmp_path):
    from lakehouse.core.errors import LakehouseError
    from lakehouse.local.jobs import deploy

    # no databricks executable anywhere, only the environment's python3 (with pip) the artifact build calls
    monkeypatch.setenv("PATH", f"{tmp_path}:{Path(sys.executable).parent}")
    with pytest.raises(LakehouseError, match="Databricks CLI is not installed"):
        deploy.bundle_command("deploy", "staging")
    with pytest.raises(ConfigError, match="target 'local' is not deployable"):
        deploy.bundle_command("deploy", "local")
    fake = tmp_path / "databricks"
    fake.write_text("#!/bin/sh\necho \"$@\"\n")
    fake.chmod(0o755)
    assert deploy.bundle_command("run", "dev", ["churn_daily"]) == [str(fake), "bundle", "run", "--target", "dev",
                                                                     "churn_daily"]
