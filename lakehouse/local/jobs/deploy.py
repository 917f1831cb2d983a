"""Thin wrappers over `databricks bundle validate | deploy | run` for users who have the Databricks CLI.

The CLI authenticates from its own profile or DATABRICKS_HOST / DATABRICKS_TOKEN (or Azure service
principal variables); nothing here reads or stores credentials. Before handing over, the bundle is
checked offline (lakehouse.local.jobs.check) so mistakes show up without a workspace round trip.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Sequence

from lakehouse.core.errors import ConfigError, LakehouseError
from lakehouse.local.bundle import BUNDLE_DIR
from lakehouse.local.jobs.check import check_bundle

INSTALL_HINT = ("the Databricks CLI is not installed (or not on PATH): install it with "
                "`curl -fsSL https://raw.githubusercontent.com/databricks/setup-cli/main/install.sh | sh` "
                "(see https://docs.databricks.com/dev-tools/cli/install.html), then `databricks auth login`")


def databricks_cli() -> str:
    path = shutil.which("databricks")
    if path is None:
        raise LakehouseError(INSTALL_HINT)
    return path


def bundle_command(action: str, target: str, extra: Sequence[str] = ()) -> list[str]:
    """The `databricks bundle` command line for `action` on `target`, after the offline check passed."""
    if target == "local":
        raise ConfigError("target 'local' is not deployable: it only describes local runs (use dev, staging or prod)")
    cli = databricks_cli()
    problems = check_bundle(target)
    if problems:
        raise ConfigError("the bundle has problems:\n  " + "\n  ".join(problems))
    return [cli, "bundle", action, "--target", target, *extra]


def run_bundle(action: str, target: str, extra: Sequence[str] = ()) -> int:
    """Run `databricks bundle <action>` in bundle/, streaming its output; returns its exit code."""
    return subprocess.run(bundle_command(action, target, extra), cwd=BUNDLE_DIR, check=False).returncode
