"""What a person sees while an update runs: one line per dataset as it finishes, then a summary table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from lakehouse.local.dlt_runtime.results import COMPLETED, FAILED, DatasetResult, ExpectationResult, UpdateResult

_MARK = {COMPLETED: "[green]✓[/]", FAILED: "[red]✗[/]"}


class Progress:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)

    def started(self, pipeline: str, update_id: str, mode: str) -> None:
        self.console.print(f"[bold]{pipeline}[/] update {update_id} ({mode})")

    def dataset_done(self, result: DatasetResult) -> None:
        mark = _MARK.get(result.status, "[yellow]-[/]")
        line = f"{mark} {result.name} [dim]{result.kind}[/] {result.status.lower()}"
        if result.status in (COMPLETED, FAILED):
            line += f"  written {result.rows_written:,}  dropped {result.rows_dropped:,}  {result.duration_s:.1f}s"
        self.console.print(line)
        if result.error:
            self.console.print(f"  {result.error}", style="red", markup=False, highlight=False)

    def summary(self, update: UpdateResult) -> None:
        table = Table(title=f"{update.pipeline}: {update.state} in {update.duration_s:.1f}s")
        for column in ("dataset", "status", "rows in", "written", "dropped", "expectations", "seconds"):
            table.add_column(column, justify="right" if column in ("rows in", "written", "dropped", "seconds") else "left")
        for d in update.datasets.values():
            rates = _expectation_summary(d.expectations)
            table.add_row(
                d.name, d.status, f"{d.rows_in:,}", f"{d.rows_written:,}", f"{d.rows_dropped:,}", rates, f"{d.duration_s:.1f}"
            )
        self.console.print(table)


def _expectation_summary(expectations: Sequence[ExpectationResult]) -> str:
    """`n rules, all passed` or the failing rules with their pass rates, worst first."""
    if not expectations:
        return ""
    failing = sorted((e for e in expectations if e.failed_records), key=lambda e: e.pass_rate)
    if not failing:
        return f"{len(expectations)} rules, all passed"
    return ", ".join(f"{e.name} {e.pass_rate:.1%} ({e.failed_records:,} failed)" for e in failing)
