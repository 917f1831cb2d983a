"""The `lakehouse` command as the wheel installs it: it says where the real one is, and exits 2.

The wheel deployed to Databricks carries what runs there (docs/architecture.md); the `lakehouse` CLI drives the local
emulation (DLT runtime, job runner, Azurite, UI), which stays out of it. `[project.scripts]` cannot differ per build
target, so the wheel would declare a console script whose module it lacks; the wheel build puts this file in place
of `lakehouse/app/cli.py` instead (`[tool.hatch.build.targets.wheel.force-include]` in pyproject.toml), so an
installed wheel's `lakehouse` explains itself rather than failing with ModuleNotFoundError.
"""

import sys

MESSAGE = (
    "lakehouse: this installation is the Databricks wheel (job tasks: `lakehouse-task`); the `lakehouse` CLI runs "
    "the local emulation, which is not in it. Use a checkout of the repository with the local extras: "
    "`make setup`, then `.venv/bin/lakehouse --help` (README.md)."
)


def main() -> int:
    print(MESSAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
