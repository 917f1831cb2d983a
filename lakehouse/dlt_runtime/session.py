"""The `spark` a pipeline file sees locally: the real session, with table reads by name served by the runtime.

In a Databricks pipeline, `spark.read.table("name")` / `spark.readStream.table("name")` of a dataset of the same
pipeline is a batch / streaming read of that dataset and makes the reading dataset depend on it, exactly like
`dlt.read` / `dlt.read_stream`; a fully qualified name outside the pipeline reads that table
(https://docs.databricks.com/aws/en/ldp/developer/python-ref, "Load data from ... datasets in the same pipeline";
https://docs.databricks.com/aws/en/dlt-ref/definition-function, "Batch read on a table"). So inside a dataset
function both are routed to the running flow's reader (reads.py): at graph discovery that records the edge, at
execution it serves the dataset's rows, or for a stream only the rows appended since the flow last read it
(increments.py). `spark.table(name)` is the same batch read. Outside a dataset function (a file's top level) and for
everything else it is the session itself, except `spark.readStream.format("cloudFiles")`, which is Auto Loader on
the runtime's file ingestion (auto_loader.py).
"""

from __future__ import annotations

from typing import Any

from lakehouse.dlt_runtime import auto_loader, context


class PipelineSession:
    """Delegates to the real session; table reads by name go through the current flow's reader."""

    def __init__(self, spark: Any) -> None:
        self._spark = spark

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spark, name)

    @property
    def read(self) -> "_TableReader":
        return _TableReader(self._spark.read, streaming=False)

    @property
    def readStream(self) -> "_TableReader":  # noqa: N802 - the PySpark name
        return _TableReader(self._spark.readStream, streaming=True)

    def table(self, tableName: str) -> Any:  # noqa: N803 - the PySpark name
        return self.read.table(tableName)


class _TableReader:
    """A DataFrameReader / DataStreamReader whose `table(name)` is a pipeline read while a flow is declared or runs."""

    def __init__(self, reader: Any, streaming: bool) -> None:
        self._reader, self._streaming = reader, streaming

    def __getattr__(self, name: str) -> Any:  # option(), load(), ...: the real reader's
        return getattr(self._reader, name)

    def format(self, source: str) -> Any:  # noqa: A003 - the PySpark name
        """`readStream.format("cloudFiles")` is Auto Loader (auto_loader.py); any other format the real reader's."""
        if self._streaming and source == auto_loader.SOURCE:
            return auto_loader.CloudFilesReader()
        return self._reader.format(source)

    def table(self, tableName: str) -> Any:  # noqa: N803 - the PySpark name
        reader = context.current_reader.get()
        if reader is None:
            return self._reader.table(tableName)
        return reader.read_table(tableName, streaming=self._streaming)
