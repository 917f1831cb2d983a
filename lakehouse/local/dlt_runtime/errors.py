"""Errors of the local DLT runtime, each naming the pipeline, dataset or flow involved."""

from lakehouse.core.errors import DeclaredSchemaMismatch, LakehouseError, PipelineDefinitionError  # noqa: F401 - defined in core


class UpstreamNotAppendOnly(LakehouseError):
    """A streaming read found a non-append change in its upstream table."""


class PipelineBusy(LakehouseError):
    """Another update of the same pipeline holds the lock."""


class ChangeFeedError(LakehouseError):
    """Change rows auto CDC refuses to apply (Databricks' AUTOCDC_MICROBATCH_VALIDATION), e.g. a NULL sequence."""
