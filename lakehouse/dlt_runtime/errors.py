"""Errors of the local DLT runtime, each naming the pipeline, dataset or flow involved."""

from lakehouse.errors import LakehouseError


class PipelineDefinitionError(LakehouseError):
    """The pipeline's source files define an invalid graph (as Databricks would refuse it)."""


class UpstreamNotAppendOnly(LakehouseError):
    """A streaming read found a non-append change in its upstream table."""


class PipelineBusy(LakehouseError):
    """Another update of the same pipeline holds the lock."""


class DeclaredSchemaMismatch(LakehouseError):
    """A flow's output differs from its dataset's declared schema (columns, types) or breaks its NOT NULL."""


class ChangeFeedError(LakehouseError):
    """Change rows auto CDC refuses to apply (Databricks' AUTOCDC_MICROBATCH_VALIDATION), e.g. a NULL sequence."""
