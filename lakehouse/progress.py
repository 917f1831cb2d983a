"""Progress display for long work: a rich progress bar on a terminal, plain lines otherwise (CI logs)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[str], None]]:
    """Yields `advance(label)`: one step done, `label` naming it."""
    if not console.is_terminal:
        done = 0

        def advance_plain(label: str) -> None:
            nonlocal done
            done += 1
            console.print(f"{description}: {done}/{total} {label}", highlight=False)

        yield advance_plain
        return
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"), TimeElapsedColumn(), console=console, transient=False,
    ) as bar:
        task = bar.add_task(description, total=total, label="")
        yield lambda label: bar.update(task, advance=1, label=label)
