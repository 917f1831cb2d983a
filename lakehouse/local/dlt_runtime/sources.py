"""Streaming sources: the hook through which a streaming flow gets input that is not a pipeline table.

A streaming source is a callable registered under a name:

    def landing_transactions(request: SourceRequest) -> tuple[DataFrame, Callable[[], None]]:
        ...  # find the input not yet consumed (honour request.full_refresh), return it and a commit

    register_streaming_source("landing_transactions", landing_transactions)

and a dataset function reads it with `read_streaming_source("landing_transactions", **options)`. The
runtime calls the source once per update when the flow runs (never while the graph is being discovered),
and calls the returned `commit()` only after the flow's target table write has committed (for a view,
after every table reading it has committed). A crash before that leaves the input unconsumed, so it is
delivered again: input is never marked consumed without having been written. `request.state_dir` is a
folder under the storage root reserved for the source's own bookkeeping (e.g. an ingested-files log).
A flow that reads a source is a streaming flow (its table is a streaming table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.local.dlt_runtime import context

Commit = Callable[[], None]
VOLUMES_DIR = "_volumes"  # under the storage root: the local folder of Unity Catalog volumes
DATASETS_DIR = "_databricks_datasets"  # next to it: the local copy of what a workspace has under /databricks-datasets


def local_path(path: str, volumes_root: Path | None) -> Path:
    """Where a path a pipeline reads is on this machine: `/Volumes/<catalog>/<schema>/<volume>/<path>`, a Unity
    Catalog volume (https://docs.databricks.com/aws/en/volumes/), is the same path under `volumes_root`;
    `/databricks-datasets/<path>`, the sample data Databricks' tutorials read
    (https://docs.databricks.com/aws/en/discover/databricks-datasets), is under `DATASETS_DIR` beside it; `file:` and
    `dbfs:` prefixes are dropped; any other path is itself."""
    plain = path.removeprefix("file:").removeprefix("dbfs:")
    parts = Path(plain).parts
    if volumes_root is not None and len(parts) >= 5 and parts[:2] == ("/", "Volumes"):
        return volumes_root.joinpath(*parts[2:])
    if volumes_root is not None and parts[:2] == ("/", "databricks-datasets"):
        return volumes_root.parent.joinpath(DATASETS_DIR, *parts[2:])
    return Path(plain)


@dataclass(frozen=True)
class SourceRequest:
    """What a source is told about the read it serves."""

    spark: Any
    pipeline: str
    flow: str
    target: str  # fully qualified name of the table the flow writes
    full_refresh: bool
    state_dir: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    target_dir: Path | None = None  # where the target table's files are (None for a view)
    volumes_root: Path | None = None  # the local folder of Unity Catalog volumes: /Volumes/<c>/<s>/<v>/... is under it


StreamingSource = Callable[[SourceRequest], tuple[Any, Commit]]

_SOURCES: dict[str, StreamingSource] = {}
_HIDDEN: dict[str, tuple[str, ...]] = {}


def register_streaming_source(name: str, source: StreamingSource, hidden_columns: tuple[str, ...] = ()) -> None:
    """Make `source` readable as `name` (registering the same name again replaces it). `hidden_columns` are
    columns of its frames that, like Databricks' `_metadata`, never reach a flow's output unless renamed."""
    _SOURCES[name] = source
    _HIDDEN[name] = hidden_columns


def hidden_columns(name: str) -> tuple[str, ...]:
    return _HIDDEN.get(name, ())


def streaming_source(name: str) -> StreamingSource:
    try:
        return _SOURCES[name]
    except KeyError:
        known = ", ".join(sorted(_SOURCES)) or "none"
        raise LookupError(f"no streaming source named {name!r} is registered (registered: {known})") from None


def read_streaming_source(name: str, **options: Any) -> Any:
    """Inside a dataset function: the new input of the registered source `name` as a DataFrame."""
    return context.reader().read_source(name, options)
