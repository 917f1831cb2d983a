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

from pathlib import Path
from typing import Any

from lakehouse.local.dlt_runtime import auto_loader, context
from lakehouse.local.dlt_runtime.sources import local_path


class PipelineSession:
    """Delegates to the real session; table reads by name go through the current flow's reader, and a file read's
    `/Volumes/...` path is its local folder (sources.local_path)."""

    def __init__(self, spark: Any, volumes_root: Path) -> None:
        self._spark, self._volumes_root = spark, volumes_root

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spark, name)

    @property
    def read(self) -> "_TableReader":
        return _TableReader(self._spark.read, False, self._volumes_root)

    @property
    def readStream(self) -> "_TableReader":  # noqa: N802 - the PySpark name
        return _TableReader(self._spark.readStream, True, self._volumes_root)

    def table(self, tableName: str) -> Any:  # noqa: N803 - the PySpark name
        return self.read.table(tableName)


class _TableReader:
    """A DataFrameReader / DataStreamReader whose `table(name)` is a pipeline read while a flow is declared or runs;
    everything else is the real reader's, with file paths mapped (_FileReader)."""

    def __init__(self, reader: Any, streaming: bool, volumes_root: Path) -> None:
        self._reader, self._streaming, self._volumes_root = reader, streaming, volumes_root

    def __getattr__(self, name: str) -> Any:  # option(), schema(), load(), csv(), ...
        return getattr(_FileReader(self._reader, self._volumes_root), name)

    def format(self, source: str) -> Any:  # noqa: A003 - the PySpark name
        """`readStream.format("cloudFiles")` is Auto Loader (auto_loader.py); any other format the real reader's."""
        if self._streaming and source == auto_loader.SOURCE:
            return auto_loader.CloudFilesReader()
        return _FileReader(self._reader.format(source), self._volumes_root)

    def table(self, tableName: str) -> Any:  # noqa: N803 - the PySpark name
        reader = context.current_reader.get()
        if reader is None:
            return self._reader.table(tableName)
        return reader.read_table(tableName, streaming=self._streaming)


_CONFIGURE = ("option", "options", "schema", "format")
_LOADERS = ("load", "csv", "json", "parquet", "text", "orc")


class _FileReader:
    """A reader whose loads (`load`, `csv`, `json`, ...) read a `/Volumes/...` path from its local folder; what
    configures the reader (option(), schema(), ...) keeps this wrapper, anything else is the real reader's."""

    def __init__(self, reader: Any, volumes_root: Path) -> None:
        self._reader, self._volumes_root = reader, volumes_root

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._reader, name)
        if name in _CONFIGURE:
            return lambda *args, **kwargs: _FileReader(attribute(*args, **kwargs), self._volumes_root)
        if name in _LOADERS:
            return lambda path=None, *args, **kwargs: attribute(self._local(path), *args, **kwargs)
        return attribute

    def _local(self, path: Any) -> Any:
        if isinstance(path, str):
            return str(local_path(path, self._volumes_root))
        return None if path is None else [str(local_path(p, self._volumes_root)) for p in path]
