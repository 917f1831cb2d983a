"""The wheel the bundle deploys fits a Databricks environment: no Spark of its own, and it resolves there.

On serverless jobs Spark is Databricks Connect's `pyspark` module, which "conflicts with PySpark"
(https://docs.databricks.com/dev-tools/databricks-connect/python/install.html); in pipelines it is the
Databricks Runtime's. So the wheel declares only what its Databricks-side modules import and the platform
lacks, and keeps the local engine, the UI and the tooling in extras. These tests build the wheel with the
bundle's own artifact command, resolve it against the package set of the jobs' serverless environment, and
import the Databricks-side modules with every local-only distribution made unimportable.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import zipfile
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from lakehouse.local.bundle import BUNDLE_DIR, load_bundle
from tests.wheel import built_wheel

REPO = BUNDLE_DIR.parent
ENVIRONMENT = BUNDLE_DIR / "environments" / "serverless-5.txt"
UV = REPO / ".uv" / "bin" / "uv"
LOCAL_ONLY = {"pyspark", "pysail", "delta-spark", "deltalake", "databricks-connect"}
# Modules the bundle's Python runs on Databricks: the wheel tasks (lakehouse-task and what each task imports) ...
TASK_MODULES = ("lakehouse.tasks", "lakehouse.core.engine", "quality.validation", "ml.feature_store",
                "ml.training.train", "ml.scoring", "quality.drift.job")
# ... and what the pipeline files import from the project (root_path puts the repository on sys.path there).
PIPELINE_DIRS = ("dlt/offline_features", "dlt/online_features")


def requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return [Requirement(r) for r in email.message_from_bytes(archive.read(meta)).get_all("Requires-Dist")]


def base(reqs: list[Requirement]) -> list[Requirement]:
    return [r for r in reqs if r.marker is None]


def extra(reqs: list[Requirement], name: str) -> list[Requirement]:
    return [r for r in reqs if r.marker is not None and r.marker.evaluate({"extra": name})]


@cache
def closure(names: tuple[str, ...]) -> frozenset[str]:
    """The installed distributions `names` need, transitively (markers evaluated here, extras followed)."""
    seen: set[str] = set()
    todo = [Requirement(n) for n in names]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for text in dist.requires or []:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                if canonicalize_name(dep.name) not in seen:
                    todo.append(dep)
        seen.add(name)
    return frozenset(seen)


def test_the_wheel_brings_no_spark_and_keeps_the_local_stack_in_extras():
    reqs = requirements(built_wheel())
    names = {canonicalize_name(r.name) for r in base(reqs)}
    assert names.isdisjoint(LOCAL_ONLY), names & LOCAL_ONLY
    assert {"pyspark", "pysail", "delta-spark", "deltalake", "mlflow"} <= {canonicalize_name(r.name)
                                                                            for r in extra(reqs, "local")}
    assert {"flask", "plotly"} <= {canonicalize_name(r.name) for r in extra(reqs, "ui")}
    assert not closure(tuple(sorted(names))) & {"pyspark", "pysail", "delta-spark"}  # not even transitively


def environment_pins() -> tuple[dict[str, str], dict[str, str]]:
    """The environment's pins, and among them the ones the wheel may move past (`# upgrade: <reason>`)."""
    pins, upgrades = {}, {}
    for line in ENVIRONMENT.read_text().splitlines():
        spec, _, comment = line.partition("#")
        if spec.strip():
            name, version = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)==(\S+)\s*", spec).groups()
            pins[canonicalize_name(name)] = version
            if comment.strip().startswith("upgrade:"):
                upgrades[canonicalize_name(name)] = comment.strip().removeprefix("upgrade:").strip()
    return pins, upgrades


def test_the_jobs_name_the_environment_the_wheel_is_resolved_against():
    bundle = load_bundle("prod")
    versions = {env["spec"]["environment_version"] for job in bundle["resources"]["jobs"].values()
                for env in job["environments"]}
    assert versions == {ENVIRONMENT.stem.removeprefix("serverless-")}
    pins, upgrades = environment_pins()
    assert pins["databricks-connect"] == "18.0.*" and "pyspark" not in pins
    assert set(upgrades) == {"protobuf", "databricks-sdk", "mlflow-skinny"}, upgrades  # each with its reason


def test_the_wheel_resolves_against_the_serverless_environment_without_a_second_pyspark(tmp_path):
    pins, upgrades = environment_pins()
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in pins.items() if n not in upgrades))
    wheel = built_wheel()
    done = subprocess.run(
        [str(UV), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python-version", "3.12",
         "--python-platform", "x86_64-manylinux_2_28", "-c", str(constraints), "-",
         ], input=f"churn-lakehouse @ {wheel.as_uri()}\ndatabricks-connect=={pins['databricks-connect']}\n",
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr  # no conflict with anything the environment pins
    resolved = dict(re.fullmatch(r"([a-z0-9_.-]+)==(\S+)", line).groups()
                    for line in done.stdout.splitlines() if "==" in line)
    assert "pyspark" not in resolved and "pysail" not in resolved
    for name, reason in upgrades.items():  # a deliberate upgrade stays within the pinned major version
        assert resolved[name].split(".")[0] == pins[name].split(".")[0], (name, resolved[name], reason)
    assert resolved["databricks-feature-engineering"].startswith("0.18.")


def module_prefixes(dist: str, owners: dict[str, list[str]]) -> set[str]:
    """The import names a distribution installs (`databricks.bundles` for a portion of a shared namespace)."""
    prefixes = set()
    for file in distribution(dist).files or []:
        parts = Path(file).parts
        if parts[0].endswith((".dist-info", ".data")) or not parts[-1].endswith((".py", ".so")):
            continue
        if len(parts) == 1:
            prefixes.add(parts[0].split(".")[0])
        else:
            prefixes.add(f"{parts[0]}.{parts[1]}" if len(owners.get(parts[0], [])) > 1 else parts[0])
    return prefixes


@pytest.fixture(scope="module")
def installed() -> dict[str, set[str]]:
    """Every installed third-party distribution and the import names it provides."""
    owners = packages_distributions()
    names = {canonicalize_name(d) for dists in owners.values() for d in dists} - {"churn-lakehouse"}
    return {name: module_prefixes(name, owners) for name in names}


def import_with_only(modules: list[str], allowed: frozenset[str], installed: dict[str, set[str]]) -> set[str]:
    """Import `modules` in a fresh interpreter in which, besides the standard library and this project, only the
    `allowed` distributions can be imported; fails when an import needs another. Returns the blocked names."""
    blocked = {p for dist, prefixes in installed.items() if dist not in allowed for p in prefixes}
    blocked -= {p for dist in allowed for p in installed.get(dist, ())}  # a namespace shared with an allowed one
    probe = f"""
import importlib, sys
BLOCKED = {sorted(blocked)!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"{{name}} is not installed there")
sys.meta_path.insert(0, Block())
for module in {modules!r}:
    importlib.import_module(module)
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return blocked


@pytest.fixture(scope="module")
def declared() -> frozenset[str]:
    """The distributions the wheel's own requirements bring."""
    return closure(tuple(sorted(str(r) for r in base(requirements(built_wheel())))))


# Databricks Connect (serverless jobs) and the Databricks Runtime (pipelines) provide pyspark and its Connect
# dependencies.
SPARK = ("pyspark[connect]",)


def test_the_wheel_tasks_import_on_databricks_with_only_the_declared_dependencies(declared, installed):
    blocked = import_with_only(list(TASK_MODULES), declared | closure(SPARK), installed)
    assert {"pysail", "deltalake", "flask", "databricks.bundles", "croniter"} <= blocked


def pipeline_imports() -> list[str]:
    imports = set()
    for folder in PIPELINE_DIRS:
        for path in (REPO / folder).glob("*.py"):
            imports.update(re.findall(r"^from ((?:lakehouse|ml|quality)[\w.]*) import", path.read_text(), re.M))
    return sorted(imports)


def test_the_pipeline_files_import_on_databricks_with_the_pipeline_environment(installed):
    pipelines = load_bundle("prod")["resources"]["pipelines"]
    assert {p.get("root_path") for p in pipelines.values()} == {"../.."}  # the repository root, as synced
    deps = {d for p in pipelines.values() for d in p["environment"]["dependencies"]}
    assert not any(d.endswith(".whl") for d in deps)  # no cached wheel in a pipeline environment
    modules = pipeline_imports()
    assert {"lakehouse.platform.sources", "ml.features.transforms", "lakehouse.core.rules"} <= set(modules)
    blocked = import_with_only(modules, closure(SPARK) | closure(tuple(sorted(deps))), installed)
    assert {"sklearn", "evidently", "deltalake"} <= blocked  # the pipelines need none of the ML stack
