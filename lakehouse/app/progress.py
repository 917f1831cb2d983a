"""Progress display for long work: a rich progress bar on a terminal, a few plain lines otherwise (CI logs).

`console` is where every command prints its tables and summaries. On a terminal rich fits them to the window;
in a log (`make demo 2>&1 | cat`, CI) it would assume 80 columns and cut dataset names and dates to `silver_cus…`,
so there it gets LOG_WIDTH columns, unless COLUMNS says otherwise.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

LOG_WIDTH = 160  # fits every table the commands print, with room for the long columns to wrap on words
LOG_LINES = 10  # a log gets about this many progress lines per bar (every tenth of the work), not one per step

console = Console(stderr=True)
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = LOG_WIDTH


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[str], None]]:
    """Yields `advance(label)`: one step done, `label` naming it."""
    if not console.is_terminal:
        done = 0

        def advance_plain(label: str) -> None:
            nonlocal done
            done += 1
            if done == total or done * LOG_LINES // total > (done - 1) * LOG_LINES // total:
                console.print(f"{description}: {done}/{total} {label}", highlight=False)

        yield advance_plain
        return
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[label]}"), TimeElapsedColumn(), console=console, transient=False,
    ) as bar:
        task = bar.add_task(description, total=total, label="")
        yield lambda label: bar.update(task, advance=1, label=label)
