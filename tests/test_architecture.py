"""The layers hold (docs/architecture.md): the import contracts in pyproject.toml ([tool.importlinter]), ruff and mypy.

`lint-imports` counts every import, also one made inside a function, so a lazy import cannot hide an arrow that
runs up a layer. Every module of the `lakehouse` package sits in one layer, so that its path says whether it runs
on Databricks.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import grimp

from tests.test_packaging import TASK_MODULES
from tests.wheel import built_wheel

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("lakehouse", "ml", "quality")
BIN = Path(sys.executable).parent
# Where each part of `lakehouse/` runs: on Databricks (and locally), or only locally.
LAYERS = {"core": "databricks", "platform": "databricks", "local": "local", "app": "local"}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def test_the_import_contracts_hold():
    done = run(str(BIN / "lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_ruff_finds_nothing():
    done = run(sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_finds_nothing_in_what_runs_on_databricks():
    """[tool.mypy] in pyproject.toml: core, platform, the task entry points, ml and quality, with the pydantic plugin.

    Its incremental cache (.mypy_cache/) makes a rerun take seconds instead of most of a minute."""
    done = run(sys.executable, "-m", "mypy")
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert done.returncode == 0, "\n".join([*errors, *done.stdout.splitlines()[-1:]]) + done.stderr[-2000:]


def test_every_module_of_the_lakehouse_package_is_in_a_layer():
    top = REPO / "lakehouse"
    loose = sorted(p.name for p in top.iterdir() if p.name not in {*LAYERS, "__init__.py", "tasks.py", "__pycache__"})
    assert loose == [], f"place these in one of lakehouse/{{{','.join(LAYERS)}}}/ (docs/architecture.md): {loose}"
    for layer in LAYERS:
        assert (top / layer / "__init__.py").is_file(), layer


def test_every_folder_of_modules_is_a_package():
    """import-linter does not see the modules of a namespace package (a folder without __init__.py)."""
    folders = {p.parent for package in PACKAGES for p in (REPO / package).rglob("*.py") if "__pycache__" not in p.parts}
    assert sorted(str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").is_file()) == []


def function_level_imports(path: Path, module: str) -> list[tuple[int, list[str]]]:
    """(line, the project modules it may name) of each import made inside a function of one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found.append((inner.lineno, [a.name for a in inner.names]))
                elif isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                    found.append((inner.lineno, [inner.module, *(f"{inner.module}.{a.name}" for a in inner.names)]))
    return [(line, [n for n in names if n.split(".")[0] in PACKAGES]) for line, names in found]


def test_no_function_level_import_hides_a_cycle():
    """An import made inside a function is there for start-up time or an optional dependency: the module it imports
    never imports the importing module back (not even through others), so it could as well stand at the top."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    hiding = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            for line, names in function_level_imports(path, module):
                for name in names:
                    if name in graph.modules and name != module and not name.startswith(module + "."):
                        chain = graph.find_shortest_chain(importer=name, imported=module)
                        if chain:
                            hiding.append(f"{path.relative_to(REPO)}:{line} {name} -> {' -> '.join(chain[1:])}")
    assert hiding == []


# Core's modules that may ask where they run: the settings' own validation, the table catalog's choice
# (docs/architecture.md: platform choices outside the seam), the local-only table declarations.
CORE_ASKING = {"settings.py", "catalogs.py", "table_metadata.py"}


def test_the_domain_and_the_entry_points_never_ask_where_they_run():
    """`Settings.local` is read in the seam (lakehouse/platform/), three core modules and the local side only: ml/,
    quality/, the pipeline files, the task entry points and the rest of core (table storage included) call a seam or
    catalog module instead (docs/architecture.md)."""
    asking = []
    core = [p for p in (REPO / "lakehouse" / "core").glob("*.py") if p.name not in CORE_ASKING]
    for path in [*(REPO / "ml").rglob("*.py"), *(REPO / "quality").rglob("*.py"), *(REPO / "dlt").rglob("*.py"),
                 REPO / "lakehouse" / "tasks.py", *core]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "local":
                asking.append(f"{path.relative_to(REPO)}:{node.lineno} {ast.unparse(node)}")
    assert asking == []


def test_the_wheel_holds_what_runs_on_databricks_and_its_tasks_import_from_it_alone(tmp_path):
    """core, the seam, the task entry points and the domain packages; not the local emulation nor the app shell
    (docs/architecture.md). The task modules import from the unpacked wheel with the checkout taken off sys.path."""
    with zipfile.ZipFile(built_wheel()) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    packages = {n.rsplit("/", 1)[0] for n in names if n.endswith(".py")}
    assert {"lakehouse", "lakehouse/core", "lakehouse/platform", "ml", "quality"} <= packages
    assert "lakehouse/tasks.py" in names and "lakehouse/core/conf/prod.yaml" in names
    assert [n for n in names if n.startswith(("lakehouse/local/", "lakehouse/app/"))] == ["lakehouse/app/cli.py"]
    probe = f"""
import importlib, sys
from pathlib import Path
sys.path[:] = [{str(tmp_path)!r}] + [p for p in sys.path if p and Path(p).resolve() != Path({str(REPO)!r})]
for module in {list(TASK_MODULES)!r}:
    file = Path(importlib.import_module(module).__file__)
    assert file.is_relative_to({str(tmp_path)!r}), (module, file)
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_wheels_lakehouse_command_says_it_needs_a_checkout(tmp_path):
    """The wheel declares the `lakehouse` console script (scripts are per project, not per build target); its module
    there is lakehouse/app/cli_without_checkout.py, which names the way to the real CLI and exits 2, not an ImportError."""
    with zipfile.ZipFile(built_wheel()) as archive:
        archive.extractall(tmp_path)
        entry_points = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        assert "lakehouse = lakehouse.app.cli:main" in archive.read(entry_points).decode()
    probe = f"""
import sys
from pathlib import Path
sys.path[:] = [{str(tmp_path)!r}] + [p for p in sys.path if p and Path(p).resolve() != Path({str(REPO)!r})]
from lakehouse.app.cli import main
sys.exit(main())
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "checkout" in done.stderr and "make setup" in done.stderr
