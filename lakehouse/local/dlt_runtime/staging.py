"""Computing a lazy frame once: its rows written to a scratch Parquet folder and read back.

Sail caches nothing, so every action on a lazy frame recomputes its whole plan. A materialized view's
expectations pass and its write each ran the plan (the ARDS join twice per update), and a MERGE
evaluates a lazy source inside the merge; staging the rows first measured 35-60% faster for both
(benchmarks/results/offline_pipeline.md). The cost is one Parquet write and read of the output.
Parquet keeps the exact column types; the folder is removed when the block ends (after the write).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STAGING = "staging"  # under the pipeline's state dir; cleared when an update starts (a crash leaves rows)


@contextmanager
def staged(spark: Any, frame: Any, directory: Path) -> Iterator[Any]:
    """`frame` computed once into `directory`; yields a frame reading those rows, removed afterwards."""
    path = directory / f"stage-{uuid.uuid4().hex}"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        frame.write.mode("overwrite").parquet(str(path))
        yield spark.read.schema(frame.schema).parquet(str(path))
    finally:
        shutil.rmtree(path, ignore_errors=True)
