"""The project wheel, built once per test process with the bundle's own artifact build command."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from lakehouse.local.bundle import BUNDLE_DIR, load_bundle
from lakehouse.local.jobs.paths import build_artifacts

DIST = BUNDLE_DIR.parent / "dist"
REPO_PARTS = ("dlt", "lakehouse", "ml", "quality", "pyproject.toml", "README.md")


@functools.cache
def built_wheel() -> Path:
    """dist/<the wheel>, as `databricks bundle deploy` builds it before uploading."""
    problems = build_artifacts(load_bundle("dev"), BUNDLE_DIR)
    assert problems == [], problems
    wheels = sorted(DIST.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def repo_copy(tmp_path: Path) -> Path:
    """A repository-shaped folder whose bundle/ is a copy (free to edit) and whose other parts are the real ones,
    with the built wheel in dist/: the bundle's relative paths resolve there as in the repository."""
    repo = tmp_path / "repo"
    shutil.copytree(BUNDLE_DIR, repo / "bundle")
    for part in REPO_PARTS:
        (repo / part).symlink_to(BUNDLE_DIR.parent / part)
    (repo / "dist").mkdir()
    shutil.copy(built_wheel(), repo / "dist")
    return repo / "bundle"
