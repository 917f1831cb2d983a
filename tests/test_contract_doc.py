"""docs/databricks-contract.md names a test for every Databricks behaviour the project relies on: each must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTRACT = REPO / "docs" / "databricks-contract.md"


def _defined_tests(path: Path) -> set[str]:
    return {node.name for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_test_the_contract_names_exists():
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", CONTRACT.read_text())
    assert len(named) >= 40
    missing = [f"{file}::{test}" for file, test in named
               if not (REPO / file).exists() or test not in _defined_tests(REPO / file)]
    assert missing == []


def test_every_row_of_the_contract_names_a_test():
    rows = [line for line in CONTRACT.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| behaviour") and not line.startswith("|---")]
    assert rows and [row for row in rows if "`tests/" not in row.split("|")[-2]] == []
