"""Answers to `dlt.read` / `dlt.read_stream` / streaming-source reads, at discovery and at execution.

Discovery records which datasets a flow reads and returns a placeholder plan that is never executed
(Spark Connect DataFrames are lazy client-side plans, so building on it touches no server). Execution
returns real data: a table's current rows, a view's computed frame, or for a streaming read only the rows
appended since the flow's checkpoint; what must be committed after the write is collected on the reader.

`dlt.read` / `dlt.read_stream` name a dataset of the pipeline's own graph only: Databricks' Python API documents
them as "Reference another graph component as a complete [an incremental] input" (the `databricks-dlt` package's
`dlt/api.py`; https://docs.databricks.com/delta-live-tables/python-ref.html), so a name outside the graph is refused
at graph build. `spark.read.table(name)` / `spark.readStream.table(name)` (routed here by session.py) read a dataset
of the same pipeline exactly like them, and any other table by name
(https://docs.databricks.com/aws/en/ldp/developer/python-ref, https://docs.databricks.com/aws/en/dlt-ref/definition-function):
discovery checks that table exists, registers it in the session catalog, and lists it among the flow's inputs (the
`flow_definition` events' lineage). A table read that bypasses the session's `table()` (e.g. `spark.read.format(...)
.table(...)`) is found in the flow's plan instead (`record_tables`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.core.errors import LakehouseError
from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime.checkpoints import Checkpoint, Position
from lakehouse.local.dlt_runtime.errors import PipelineDefinitionError
from lakehouse.local.dlt_runtime.graph import Flow, Graph, Kind
from lakehouse.local.dlt_runtime.increments import read_appended
from lakehouse.local.dlt_runtime.sources import VOLUMES_DIR, SourceRequest, hidden_columns, streaming_source


class DiscoveryReader:
    """Records a flow's reads into the graph."""

    def __init__(self, graph: Graph, flow: Flow, store: TableStore) -> None:
        self.graph, self.flow, self.store = graph, flow, store

    def read(self, name: str, streaming: bool) -> Any:
        key = self.graph.find(name)
        if key is None:
            known = ", ".join(d.name for d in self.graph.datasets.values())
            call = "dlt.read_stream" if streaming else "dlt.read"
            fix = "spark.readStream.table" if streaming else "spark.read.table"
            raise PipelineDefinitionError(
                f"flow {self.flow.name!r}: {call}({name!r}) names no dataset of this pipeline (datasets: {known}); "
                f"{call} reads only another dataset of the pipeline's own graph, as Databricks documents it. "
                f"Read a table outside the pipeline with {fix}('catalog.schema.table')"
            )
        self.flow.reads[key] = self.flow.reads.get(key, False) or streaming
        return self.store.spark.range(0)

    def read_table(self, name: str, streaming: bool) -> Any:
        """`spark.read.table(name)` / `spark.readStream.table(name)`: a dataset of this pipeline (an edge, as
        `dlt.read` / `dlt.read_stream`), or a table outside it."""
        own = own_dataset(self.graph, self.store, name)
        if own is not None:
            return self.read(own, streaming)
        table = self._existing(name)
        self.flow.external_reads[table] = self.flow.external_reads.get(table, False) or streaming
        return self.store.spark.range(0)

    def record_tables(self, frame: Any) -> None:
        """Note the tables `frame`'s plan reads by name (`spark.read.table`), after checking they exist."""
        for name, streaming in tables_read(frame).items():
            if own_dataset(self.graph, self.store, name) is not None:
                raise PipelineDefinitionError(
                    f"flow {self.flow.name!r} reads {name!r}, a dataset of its own pipeline, through a reader the "
                    "local runtime cannot order after that dataset's update (options or format before .table()): "
                    "read it with spark.read.table(name) / spark.readStream.table(name) or dlt.read / dlt.read_stream"
                )
            if streaming:
                raise NotImplementedError(
                    f"flow {self.flow.name!r}: the local runtime serves a streaming read of {name!r} only when it is "
                    "called as spark.readStream.table(name), without options"
                )
            self.flow.external_reads.setdefault(self._existing(name), False)

    def _existing(self, name: str) -> str:
        """The full name of table `name`, checked to exist and registered in the session catalog."""
        table = self.store.name(name)
        if not self.store.exists(table):
            raise PipelineDefinitionError(
                f"flow {self.flow.name!r} reads table {table}, which does not exist: update the pipeline that writes "
                "it first"
            )
        self.store.register(table)
        return table

    def read_source(self, name: str, options: Mapping[str, Any]) -> Any:
        try:
            streaming_source(name)
        except LookupError as exc:
            raise PipelineDefinitionError(f"flow {self.flow.name!r}: {exc}") from None
        self.flow.uses_source = True
        return self.store.spark.range(0)


@dataclass
class ExecutionReader:
    """Serves a running flow's reads and collects what its commit must record."""

    graph: Graph
    flow: Flow
    store: TableStore
    pipeline: str
    state_dir: Path
    full_refresh: bool
    checkpoint: Checkpoint
    view_frames: Mapping[str, Any]
    positions: dict[str, Position] = field(default_factory=dict)
    source_commits: list[Callable[[], None]] = field(default_factory=list)
    views_read: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)  # source columns removed from the flow's output

    def read(self, name: str, streaming: bool) -> Any:
        key = self.graph.find(name)
        if key is None:  # refused at discovery already
            raise PipelineDefinitionError(f"flow {self.flow.name!r} reads {name!r}, which is not a dataset of this pipeline")
        if self.graph.datasets[key].kind is Kind.VIEW:
            self.views_read.add(key)
            return self.view_frames[key]
        return self._table(self.store.name(self.graph.datasets[key].name), streaming)

    def read_table(self, name: str, streaming: bool) -> Any:
        """`spark.read(Stream).table(name)`: as `read` for a dataset of this pipeline, else that table's rows."""
        own = own_dataset(self.graph, self.store, name)
        if own is not None:
            return self.read(own, streaming)
        return self._table(self.store.name(name), streaming)

    def _table(self, table: str, streaming: bool) -> Any:
        if not self.store.exists(table):
            raise LakehouseError(
                f"flow {self.flow.name!r} reads {table}, which does not exist yet: include it in the update"
            )
        if not streaming:
            return self.store.read(table)
        since = None if self.full_refresh else self.checkpoint.inputs.get(table)
        increment = read_appended(self.store, table, since, reader=self.flow.target)
        self.positions[table] = increment.position
        return increment.frame

    def read_source(self, name: str, options: Mapping[str, Any]) -> Any:
        request = SourceRequest(
            spark=self.store.spark,
            pipeline=self.pipeline,
            flow=self.flow.name,
            target=self.store.name(self.flow.target),
            full_refresh=self.full_refresh,
            state_dir=self.state_dir / "sources" / name,
            options=dict(options),
            target_dir=None if self.graph.datasets[self.graph.find(self.flow.target)].kind is Kind.VIEW
            else self.store.path(self.flow.target),
            volumes_root=self.store.settings.storage_root / VOLUMES_DIR,
        )
        frame, commit = streaming_source(name)(request)
        self.source_commits.append(commit)
        self.hidden.update(hidden_columns(name))
        return frame

    def committed_checkpoint(self) -> Checkpoint:
        """The checkpoint to store once the flow's write committed (a full refresh starts afresh)."""
        inputs = {} if self.full_refresh else dict(self.checkpoint.inputs)
        inputs.update(self.positions)
        return Checkpoint(inputs=inputs, once_done=self.flow.once or self.checkpoint.once_done)


def own_dataset(graph: Graph, store: TableStore, name: str) -> str | None:
    """The pipeline dataset a table name refers to (by its name or full name), None for any other table."""
    if graph.find(name) is not None:
        return name
    full = store.name(name) if name.count(".") <= 2 else name
    return next((d.name for d in graph.datasets.values() if store.name(d.name) == full), None)


def tables_read(frame: Any) -> dict[str, bool]:
    """Names of the tables a Spark Connect frame's plan reads (`spark.read.table`, `spark.table`), each with
    whether it is read as a stream. Found in the client-side plan, so nothing runs; {} for other frames."""
    plan = getattr(frame, "_plan", None)
    session = getattr(frame, "sparkSession", None)
    if plan is None or session is None:
        return {}
    found: dict[str, bool] = {}

    def walk(message: Any) -> None:
        for descriptor, value in message.ListFields():
            if descriptor.message_type is None or hasattr(value, "items"):
                continue
            for item in value if descriptor.is_repeated else [value]:
                if descriptor.name == "read" and item.HasField("named_table"):
                    found[item.named_table.unparsed_identifier] = item.is_streaming
                walk(item)

    walk(plan.to_proto(session.client))
    return found
