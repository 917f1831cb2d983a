"""Every local path of the bundle, resolved the way the Databricks CLI resolves it, and checked.

`databricks bundle validate` does not expand library globs, so a wheel path that matches nothing only
fails at `bundle deploy`. These rules are the CLI's (databricks/cli, read for this module):
- a relative path is relative to the directory of the YAML file that defines it, not to the bundle
  root (bundle/config/mutator/translate_paths.go: "Local path is relative to the directory the resource
  was defined in"); `sync.paths` and `artifacts.*.path` are relative to databricks.yml;
- an environment dependency or library is a local path when it starts with ".", or has a file
  extension and is neither a pip flag, a remote scheme (dbfs:/, s3:/, ...) nor an absolute workspace
  path (bundle/libraries/local_path.go: IsLibraryLocal, IsLocalPath);
- library globs are expanded after the artifacts are built, and one that matches nothing stops the
  deploy with "no files match pattern" (bundle/libraries/expand_glob_references.go, run from
  bundle/phases/build.go);
- a `notebook_path` must name a notebook: a `.py` file is one only when its first line is
  `# Databricks notebook source` (libs/notebook/detect.go), otherwise deploy stops with "expected a notebook
  ... but got a file" (bundle/config/mutator/translate_paths.go);
- only `sync.paths` are uploaded (the default `.` applies only when `sync.paths` is unset:
  bundle/config/mutator/sync_default_path.go), while the notebook path is rewritten to its place under the
  workspace file path all the same, so a notebook outside them deploys and then fails at run time, not found.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

_PIP_FLAG = re.compile(r"--[a-zA-Z0-9-]+")
# The CLI's packageRegex: a requirement specifier (name, extras, version clauses) is a PyPI package, not a file.
_PACKAGE = re.compile(r"^[a-zA-Z0-9\-_]+\s?(\[.*\])?\s?((==|!=|<=|>=|~=|==|>|<)\s?\d+(\.\d+){0,2}(\.\*)?,?)*$")
_REMOTE_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")
_NOTEBOOK_EXTENSIONS = (".py", ".ipynb", ".sql", ".scala", ".r")
# The CLI's notebook detection (libs/notebook/detect.go): extension -> (first line, language).
_NOTEBOOK_HEADERS = {".py": ("# Databricks notebook source", "python"), ".r": ("# Databricks notebook source", "r"),
                     ".scala": ("// Databricks notebook source", "scala"), ".sql": ("-- Databricks notebook source", "sql")}


def notebook_language(path: Path) -> str | None:
    """The notebook's language as the CLI detects it (libs/notebook/detect.go), or None when it is not a notebook.

    Source files need their header line. A Jupyter file (cells, metadata, nbformat 4+; detect_jupyter.go) takes the
    language of its Databricks metadata; without one the CLI leaves it unset and the workspace imports it as Python.
    """
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        try:
            notebook = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(notebook, dict) or "cells" not in notebook or int(notebook.get("nbformat", 0)) < 4:
            return None
        meta = notebook.get("metadata") or {}
        return str((meta.get("application/vnd.databricks.v1+notebook") or {}).get("language") or "python")
    if suffix not in _NOTEBOOK_HEADERS:
        return None
    header, language = _NOTEBOOK_HEADERS[suffix]
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline().rstrip("\r\n")
    return language if first == header else None


def is_local_path(path: str) -> bool:
    """The CLI's IsLocalPath: relative paths and relative file:// URLs are local; schemes and absolute paths are not."""
    if path.startswith("file://"):
        return not path.removeprefix("file://").startswith("/")
    return not _REMOTE_SCHEME.match(path) and not path.startswith("/")


def _is_package(dependency: str) -> bool:
    """The CLI's isPackage: `name[extras]>=1.2,<2`, or `name @ <remote url>`."""
    name, at, url = dependency.partition(" @ ")
    return bool(_PACKAGE.match(dependency)) or bool(at and _PACKAGE.match(name) and _REMOTE_SCHEME.match(url))


def is_library_local(dependency: str) -> bool:
    """The CLI's IsLibraryLocal: which environment dependencies are files of the bundle, not PyPI requirements."""
    if not dependency:
        return False
    if dependency.startswith("."):
        return True
    if _PIP_FLAG.search(dependency) or dependency.startswith("-"):  # pip flags (-r, -e, --index-url ...)
        return False
    return not _is_package(dependency) and is_local_path(dependency)


@dataclass(frozen=True)
class LocalPath:
    """One local path as written in a bundle file, with the directory the CLI resolves it against."""

    where: str
    value: str
    base: Path
    notebook: bool = False

    @property
    def resolved(self) -> Path:
        return Path(os.path.normpath(self.base / self.value.removeprefix("file://")))

    @property
    def is_glob(self) -> bool:
        return glob.has_magic(self.value)

    def matches(self) -> list[Path]:
        """What the path names on disk now (globs expanded; a notebook may omit its extension)."""
        if self.is_glob:
            return [Path(p) for p in sorted(glob.glob(str(self.resolved), recursive=True)) if Path(p).is_file()]
        candidates = [self.resolved] + ([self.resolved.with_name(self.resolved.name + ext)
                                          for ext in _NOTEBOOK_EXTENSIONS] if self.notebook else [])
        return [p for p in candidates if p.exists()][:1]


def _dependencies(where: str, deps: Any, base: Path) -> Iterator[LocalPath]:
    for i, dep in enumerate(deps or []):
        if isinstance(dep, str) and is_library_local(dep):
            yield LocalPath(f"{where}[{i}]", dep, base)


def _job_paths(key: str, body: Mapping[str, Any], base: Path) -> Iterator[LocalPath]:
    for i, env in enumerate(body.get("environments") or []):
        yield from _dependencies(f"jobs.{key}.environments[{i}].spec.dependencies",
                                 (env.get("spec") or {}).get("dependencies"), base)
    for task in body.get("tasks") or []:
        where = f"jobs.{key}.tasks.{task.get('task_key')}"
        for i, library in enumerate(task.get("libraries") or []):
            for kind in ("whl", "jar", "requirements"):
                if isinstance(library.get(kind), str) and is_local_path(library[kind]):
                    yield LocalPath(f"{where}.libraries[{i}].{kind}", library[kind], base)
        notebook = (task.get("notebook_task") or {}).get("notebook_path")
        if isinstance(notebook, str) and is_local_path(notebook):
            yield LocalPath(f"{where}.notebook_task.notebook_path", notebook, base, notebook=True)
        script = (task.get("spark_python_task") or {}).get("python_file")
        if isinstance(script, str) and is_local_path(script):
            yield LocalPath(f"{where}.spark_python_task.python_file", script, base)


def _pipeline_paths(key: str, body: Mapping[str, Any], base: Path) -> Iterator[LocalPath]:
    where = f"pipelines.{key}"
    for i, library in enumerate(body.get("libraries") or []):
        for kind, field, notebook in (("glob", "include", False), ("file", "path", False), ("notebook", "path", True)):
            value = (library.get(kind) or {}).get(field)
            if isinstance(value, str) and is_local_path(value):
                yield LocalPath(f"{where}.libraries[{i}].{kind}.{field}", value, base, notebook=notebook)
    yield from _dependencies(f"{where}.environment.dependencies", (body.get("environment") or {}).get("dependencies"),
                             base)
    if isinstance(body.get("root_path"), str) and is_local_path(body["root_path"]):
        yield LocalPath(f"{where}.root_path", body["root_path"], base)


def local_paths(bundle: Mapping[str, Any], root: Path) -> list[LocalPath]:
    """Every local path the bundle names, each with the directory the CLI resolves it against."""
    found = [LocalPath(f"sync.paths[{i}]", p, root) for i, p in enumerate((bundle.get("sync") or {}).get("paths") or [])]
    found += [LocalPath(f"artifacts.{name}.path", str(spec.get("path", ".")), root)
              for name, spec in (bundle.get("artifacts") or {}).items()]
    resources = bundle.get("resources") or {}
    for key, body in (resources.get("jobs") or {}).items():
        found += _job_paths(key, body, Path(body["_file"]).parent)
    for key, body in (resources.get("pipelines") or {}).items():
        found += _pipeline_paths(key, body, Path(body["_file"]).parent)
    return found


def build_artifacts(bundle: Mapping[str, Any], root: Path) -> list[str]:
    """Run each artifact's `build` command in its path with the shell, as `bundle deploy` does; the failures."""
    problems = []
    for name, spec in (bundle.get("artifacts") or {}).items():
        if not spec.get("build"):
            continue
        done = subprocess.run(spec["build"], shell=True, cwd=root / str(spec.get("path", ".")),
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            problems.append(f"artifacts.{name}: `{spec['build']}` failed ({done.returncode}): {' / '.join(tail)}")
    return problems


def path_problems(bundle: Mapping[str, Any], root: Path) -> list[str]:
    """Local paths that name nothing (the CLI would stop on each at deploy), notebooks that are plain files, and
    notebooks outside `sync.paths` (deployed as a reference to a file that is never uploaded)."""
    problems = []
    synced = [p.resolved for p in local_paths(bundle, root) if p.where.startswith("sync.paths")]
    for path in local_paths(bundle, root):
        found = path.matches()
        if not found:
            what = "no files match pattern" if path.is_glob else "no such file or directory"
            problems.append(f"{path.where}: {what}: {path.value} (resolved against {path.base}: {path.resolved})")
        elif path.notebook and notebook_language(found[0]) is None:
            problems.append(f"{path.where}: expected a notebook but got a file: {path.value} (a .py notebook starts "
                            "with '# Databricks notebook source')")
        elif path.notebook and not any(found[0].is_relative_to(s) for s in synced):
            problems.append(f"{path.where}: {path.value} is not under sync.paths, so it is never uploaded "
                            f"(sync.paths: {', '.join(str(s) for s in synced)})")
    return problems
