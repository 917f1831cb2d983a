"""Local Delta Live Tables runtime: runs pipeline files written for Databricks (`import dlt`) through Sail.

Entry points: `run_update` with a `PipelineSettings` (runner.py), the streaming-source hook
(`register_streaming_source`, `read_streaming_source`, sources.py) and the event log (event_log.py).
"""

from importlib import import_module
from typing import Any

# Names re-exported lazily (PEP 562): importing one leaf module, such as event_log for its table names,
# must not load the whole runtime and its local-only dependencies (deltalake) where the runtime never runs.
_EXPORTS = {
    "PipelineBusy": "errors", "PipelineDefinitionError": "errors", "UpstreamNotAppendOnly": "errors",
    "event_log_table": "event_log", "DatasetResult": "results", "ExpectationResult": "results",
    "FlowResult": "results", "UpdateResult": "results", "PipelineSettings": "runner", "run_update": "runner",
    "SourceRequest": "sources", "read_streaming_source": "sources", "register_streaming_source": "sources",
}
_RENAMED = {"event_log_table": "table_name"}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), _RENAMED.get(name, name))


__all__ = [
    "DatasetResult",
    "ExpectationResult",
    "FlowResult",
    "PipelineBusy",
    "PipelineDefinitionError",
    "PipelineSettings",
    "SourceRequest",
    "UpdateResult",
    "UpstreamNotAppendOnly",
    "event_log_table",
    "read_streaming_source",
    "register_streaming_source",
    "run_update",
]
