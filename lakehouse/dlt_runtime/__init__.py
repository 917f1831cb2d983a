"""Local Delta Live Tables runtime: runs pipeline files written for Databricks (`import dlt`) through Sail.

Entry points: `run_update` with a `PipelineSettings` (runner.py), the streaming-source hook
(`register_streaming_source`, `read_streaming_source`, sources.py) and the event log (event_log.py).
"""

from lakehouse.dlt_runtime.errors import PipelineBusy, PipelineDefinitionError, UpstreamNotAppendOnly
from lakehouse.dlt_runtime.event_log import table_name as event_log_table
from lakehouse.dlt_runtime.results import DatasetResult, ExpectationResult, FlowResult, UpdateResult
from lakehouse.dlt_runtime.runner import PipelineSettings, run_update
from lakehouse.dlt_runtime.sources import SourceRequest, read_streaming_source, register_streaming_source

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
