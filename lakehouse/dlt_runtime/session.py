"""The `spark` a pipeline file sees locally: the real session, with streaming table reads served by the runtime.

Databricks reads a table outside the pipeline with `spark.read.table("catalog.schema.table")` (batch) or
`spark.readStream.table(...)` (streaming) (https://docs.databricks.com/aws/en/dlt-ref/definition-function). A batch read needs
nothing from the runtime: it is a plain read of the table, which discovery finds in the flow's plan (reads.py).
A streaming read must deliver only the rows appended since the flow last ran, which the local runtime does
with its own checkpoints (increments.py), so `spark.readStream.table(name)` is routed to the running flow's
reader. Everything else is the session itself.
"""

from __future__ import annotations

from typing import Any

from lakehouse.dlt_runtime import context


class PipelineSession:
    """Delegates to the real session; `readStream.table(name)` reads through the current flow's reader."""

    def __init__(self, spark: Any) -> None:
        self._spark = spark

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spark, name)

    @property
    def readStream(self) -> "_StreamReader":  # noqa: N802 - the PySpark name
        return _StreamReader(self._spark)


class _StreamReader:
    def __init__(self, spark: Any) -> None:
        self._spark = spark

    def __getattr__(self, name: str) -> Any:  # format(), option(), load(): the real DataStreamReader
        return getattr(self._spark.readStream, name)

    def table(self, name: str) -> Any:
        """The rows appended to table `name` since this flow last read it (a dataset of the pipeline: as
        `dlt.read_stream`)."""
        return context.reader().read_table(name, streaming=True)
