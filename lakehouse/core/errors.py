"""Errors the CLI turns into one clear line and a non-zero exit (no traceback for a user mistake)."""


class LakehouseError(Exception):
    """A problem the user can fix: the message names what is wrong and where."""


class ConfigError(LakehouseError):
    """Settings cannot be resolved: unknown environment, malformed file, invalid value."""


class EngineError(LakehouseError):
    """The compute engine could not start or is not usable here."""


class StorageError(LakehouseError):
    """A table operation was refused; the table is left as it was."""


class SchemaMismatch(StorageError):
    """A write whose columns or types differ from the stored table's."""


class PipelineDefinitionError(LakehouseError):
    """The pipeline's source files define an invalid graph (as Databricks would refuse it)."""


class DeclaredSchemaMismatch(LakehouseError):
    """A flow's output differs from its dataset's declared schema (columns, types) or breaks its NOT NULL."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an error's message (its type when it has none), bounded: SDK errors can run on for pages."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
