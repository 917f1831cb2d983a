"""Which dataset reads which: the edges of a pipeline's graph for the pipeline page.

Databricks records them in the event log (`flow_definition` events, `input_datasets` ->
`output_dataset`), and those are used when the log has them. The local runtime's log does not (yet),
so the edges then come from the pipeline's current definition: its bundle resource's source files,
loaded by the local DLT runtime as an update would (nothing runs, no table is read). Reads of tables
outside the pipeline appear as external inputs under their full name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakehouse.app.ui.source import Tables
from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings

FROM_LOG, FROM_DEFINITION, UNKNOWN = "event log", "pipeline definition", "unknown"


@dataclass(frozen=True)
class Edges:
    pairs: tuple[tuple[str, str], ...]  # (input, dataset)
    origin: str  # FROM_LOG, FROM_DEFINITION or UNKNOWN (no edges found)


def update_edges(tables: Tables, pipeline: str, update_id: str) -> Edges:
    """The update's edges from its `flow_definition` events, else from the pipeline definition."""
    rows = tables.edges(pipeline, update_id)
    if rows:
        pairs = sorted({(r["input"], r["dataset"]) for r in rows if r["input"] and r["dataset"]})
        return Edges(tuple(pairs), FROM_LOG)
    pairs = definition_edges(tables.spark, tables.settings, pipeline)
    return Edges(pairs, FROM_DEFINITION if pairs else UNKNOWN)


def definition_edges(spark: Any, settings: Settings, pipeline: str) -> tuple[tuple[str, str], ...]:
    """Edges of the bundle's pipeline `pipeline` as its files declare them; none when it cannot be loaded.

    Loaded once per process and pipeline target (a definition changes with the code, not the data).
    """
    key = (pipeline, settings.catalog, settings.schema_name)
    if key not in _LOADED:
        try:
            _LOADED[key] = _load_edges(spark, settings, pipeline)
        except (LakehouseError, NotImplementedError, OSError, ValueError):
            return ()
    return _LOADED[key]


_LOADED: dict[tuple[str, str, str], tuple[tuple[str, str], ...]] = {}


def _load_edges(spark: Any, settings: Settings, pipeline: str) -> tuple[tuple[str, str], ...]:
    from lakehouse.core.storage import TableStore
    from lakehouse.local.dlt_runtime.execution import session_conf
    from lakehouse.local.dlt_runtime.runner import load_graph
    from lakehouse.local.pipelines import local_pipeline

    spec = local_pipeline(settings, pipeline)
    with session_conf(spark, spec.configuration):
        graph = load_graph(spark, TableStore(spark, settings), spec)
    pairs = {(source, output) for flow in graph.flows.values()
             for output, inputs in [graph.definition(flow)] for source in inputs}
    return tuple(sorted(pairs))
