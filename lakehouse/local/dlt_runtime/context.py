"""Who answers the `dlt` calls right now: the graph being declared and the reader of the running flow.

The runner sets these around loading the pipeline files and around each flow; `dlt.table` and friends
declare into the current graph, `dlt.read`/`dlt.read_stream` and streaming sources ask the current reader.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from lakehouse.local.dlt_runtime.graph import Graph

T = TypeVar("T")


class Reader(Protocol):
    """Turns a read inside a dataset function into a DataFrame (recording it, or serving real data)."""

    def read(self, name: str, streaming: bool) -> Any: ...

    def read_table(self, name: str, streaming: bool) -> Any: ...

    def read_source(self, name: str, options: Mapping[str, Any]) -> Any: ...


current_graph: ContextVar[Graph | None] = ContextVar("current_graph", default=None)
current_reader: ContextVar[Reader | None] = ContextVar("current_reader", default=None)


@contextmanager
def using(var: ContextVar[T | None], value: T) -> Iterator[T]:
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)


def graph() -> Graph:
    found = current_graph.get()
    if found is None:
        raise RuntimeError("dlt declarations only work while the local runtime loads a pipeline's source files")
    return found


def reader() -> Reader:
    found = current_reader.get()
    if found is None:
        raise RuntimeError(
            "dlt.read / dlt.read_stream / streaming sources can only be called inside a dataset function "
            "while a pipeline update runs"
        )
    return found
