"""Answers to `dlt.read` / `dlt.read_stream` / streaming-source reads, at discovery and at execution.

Discovery records which datasets a flow reads and returns a placeholder plan that is never executed
(Spark Connect DataFrames are lazy client-side plans, so building on it touches no server). Execution
returns real data: a table's current rows, a view's computed frame, or for a streaming read only the rows
appended since the flow's checkpoint; what must be committed after the write is collected on the reader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.dlt_runtime.checkpoints import Checkpoint, Position
from lakehouse.dlt_runtime.errors import PipelineDefinitionError
from lakehouse.dlt_runtime.graph import LIVE_PREFIX, Flow, Graph, Kind
from lakehouse.dlt_runtime.increments import read_appended
from lakehouse.dlt_runtime.sources import SourceRequest, streaming_source
from lakehouse.errors import LakehouseError
from lakehouse.storage import TableStore


class DiscoveryReader:
    """Records a flow's reads into the graph."""

    def __init__(self, graph: Graph, flow: Flow, store: TableStore) -> None:
        self.graph, self.flow, self.store = graph, flow, store

    def read(self, name: str, streaming: bool) -> Any:
        key = self.graph.find(name)
        if key is not None:
            self.flow.reads[key] = self.flow.reads.get(key, False) or streaming
        elif "." in name and not name.lower().startswith(LIVE_PREFIX):
            table = self.store.name(name)
            self.flow.external_reads[table] = self.flow.external_reads.get(table, False) or streaming
        else:
            known = ", ".join(d.name for d in self.graph.datasets.values())
            raise PipelineDefinitionError(
                f"flow {self.flow.name!r} reads {name!r}, which is not a dataset of this pipeline "
                f"(datasets: {known}); a table outside the pipeline needs its catalog.schema.table name"
            )
        return self.store.spark.range(0)

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

    def read(self, name: str, streaming: bool) -> Any:
        key = self.graph.find(name)
        if key is not None and self.graph.datasets[key].kind is Kind.VIEW:
            self.views_read.add(key)
            return self.view_frames[key]
        table = self.store.name(self.graph.datasets[key].name if key else name)
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
        )
        frame, commit = streaming_source(name)(request)
        self.source_commits.append(commit)
        return frame

    def committed_checkpoint(self) -> Checkpoint:
        """The checkpoint to store once the flow's write committed (a full refresh starts afresh)."""
        inputs = {} if self.full_refresh else dict(self.checkpoint.inputs)
        inputs.update(self.positions)
        return Checkpoint(inputs=inputs, once_done=self.flow.once or self.checkpoint.once_done)
