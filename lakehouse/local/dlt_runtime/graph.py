"""The dataset graph a pipeline's source files declare: datasets, the flows that fill them, and their reads.

Declarations arrive while the files execute (api.py); reads are discovered afterwards by calling every
flow's function once with a recording reader (runner.py). `validate` then refuses what Databricks refuses:
flows into unknown or non-streaming targets, datasets without flows, reads of unknown datasets,
streaming reads of materialized views, and cycles; `order` gives a dependency order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from lakehouse.core.declared_schema import DeclaredSchema
from lakehouse.local.dlt_runtime.errors import PipelineDefinitionError

LIVE_PREFIX = "live."


class Kind(str, Enum):
    MATERIALIZED_VIEW = "materialized_view"
    STREAMING_TABLE = "streaming_table"
    VIEW = "view"


class Action(str, Enum):
    WARN = "warn"
    DROP = "drop"
    FAIL = "fail"


@dataclass(frozen=True)
class Expectation:
    name: str
    constraint: str
    action: Action


@dataclass
class Dataset:
    """A table or view. `kind` is None for an `@dlt.table` until its flow's reads show whether it streams."""

    name: str
    kind: Kind | None
    source_file: str = ""
    comment: str | None = None
    temporary: bool = False
    partition_cols: tuple[str, ...] = ()
    table_properties: dict[str, str] = field(default_factory=dict)
    spark_conf: dict[str, str] = field(default_factory=dict)
    expectations: list[Expectation] = field(default_factory=list)
    schema: DeclaredSchema | None = None  # `schema=`: output columns and types, NOT NULL, comments, primary key


@dataclass(frozen=True)
class ChangeSpec:
    """What `apply_changes` / `create_auto_cdc_flow` needs: keys, ordering, deletes, truncates, the stored
    columns and the SCD type with its tracked columns (cdc.py, change_log.py)."""

    source: Any  # a dataset or table name; for a snapshot flow also a function returning (DataFrame, version)
    keys: tuple[str, ...]
    sequence_by: str
    ignore_null_updates: bool = False
    apply_as_deletes: Any = None  # SQL string or Column
    column_list: tuple[str, ...] | None = None
    except_column_list: tuple[str, ...] | None = None
    scd_type: int = 1
    apply_as_truncates: Any = None  # SQL string or Column; SCD type 1 only
    track_history_column_list: tuple[str, ...] | None = None
    track_history_except_column_list: tuple[str, ...] | None = None
    snapshot: bool = False  # create_auto_cdc_from_snapshot_flow (snapshots.py)


@dataclass
class Flow:
    """Something that writes into a dataset: its query function, or a change feed (`cdc`)."""

    name: str
    target: str
    func: Callable[[], Any] | None
    cdc: ChangeSpec | None = None
    once: bool = False
    spark_conf: dict[str, str] = field(default_factory=dict)
    reads: dict[str, bool] = field(default_factory=dict)  # dataset key -> read as stream
    external_reads: dict[str, bool] = field(default_factory=dict)  # table name -> read as stream
    uses_source: bool = False

    @property
    def streaming(self) -> bool:
        return self.uses_source or any(self.reads.values()) or any(self.external_reads.values())


def dataset_key(name: str) -> str:
    """Datasets are named case-insensitively; `LIVE.x` is `x`."""
    key = name.strip().lower()
    return key[len(LIVE_PREFIX) :] if key.startswith(LIVE_PREFIX) else key


class Graph:
    """Datasets and flows in declaration order."""

    def __init__(self) -> None:
        self.datasets: dict[str, Dataset] = {}
        self.flows: dict[str, Flow] = {}

    # -- declaration -----------------------------------------------------------------------
    def add_dataset(self, dataset: Dataset) -> None:
        key = dataset_key(dataset.name)
        if key in self.datasets:
            first = self.datasets[key].source_file
            raise PipelineDefinitionError(
                f"dataset {dataset.name!r} is defined more than once ({first} and {dataset.source_file}); "
                "dataset names must be unique within a pipeline"
            )
        self.datasets[key] = dataset

    def add_flow(self, flow: Flow) -> None:
        key = flow.name.lower()
        if key in self.flows:
            raise PipelineDefinitionError(f"flow {flow.name!r} is defined more than once; flow names must be unique")
        self.flows[key] = flow

    def add_expectations(self, dataset: Dataset, expectations: list[Expectation]) -> None:
        for expectation in expectations:
            if any(e.name == expectation.name for e in dataset.expectations):
                raise PipelineDefinitionError(
                    f"dataset {dataset.name!r}: expectation name {expectation.name!r} is used more than once; "
                    "expectation names must be unique per dataset"
                )
            dataset.expectations.append(expectation)

    # -- lookup ----------------------------------------------------------------------------
    def find(self, name: str) -> str | None:
        """The key of the dataset a read refers to, or None when it is not a pipeline dataset."""
        key = dataset_key(name)
        return key if key in self.datasets else None

    def definition(self, flow: Flow) -> tuple[str, list[str]]:
        """(output dataset, input datasets and tables) of a flow, by name: a `flow_definition` event's content."""
        inputs = [self.datasets[key].name for key in flow.reads] + list(flow.external_reads)
        return self.datasets[dataset_key(flow.target)].name, sorted(inputs)

    def flows_of(self, key: str) -> list[Flow]:
        return [f for f in self.flows.values() if dataset_key(f.target) == key]

    def upstream(self, key: str) -> set[str]:
        return {read for flow in self.flows_of(key) for read in flow.reads}

    # -- validation ------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the discovered graph and settle each `@dlt.table`'s kind from its reads."""
        for flow in self.flows.values():
            target = self.datasets.get(dataset_key(flow.target))
            if target is None:
                raise PipelineDefinitionError(
                    f"flow {flow.name!r} writes to {flow.target!r}, which is not defined: declare it with "
                    "dlt.create_streaming_table() or @dlt.table"
                )
            if flow.name.lower() != dataset_key(target.name) and target.kind is not Kind.STREAMING_TABLE:
                raise PipelineDefinitionError(
                    f"flow {flow.name!r} targets {target.name!r}, which is not a streaming table; "
                    "append_flow and apply_changes need a target from dlt.create_streaming_table()"
                )
        for key, dataset in self.datasets.items():
            flows = self.flows_of(key)
            if not flows:
                raise PipelineDefinitionError(f"dataset {dataset.name!r} has no flow writing to it")
            if dataset.kind is None:
                dataset.kind = Kind.STREAMING_TABLE if any(f.streaming for f in flows) else Kind.MATERIALIZED_VIEW
            elif dataset.kind is Kind.MATERIALIZED_VIEW and any(f.streaming for f in flows):
                # "Materialized views ... are defined as batch queries":
                # https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-materialized-view
                raise PipelineDefinitionError(
                    f"materialized view {dataset.name!r} reads a stream; a materialized view is defined by a batch "
                    "query (declare a streaming table with @dp.table instead)"
                )
            if dataset.schema is not None and any(f.cdc for f in flows):
                raise NotImplementedError(
                    f"dataset {dataset.name!r}: a declared schema on an apply_changes target is not supported by "
                    "the local runtime; declare it on the dataset the changes come from"
                )
        for flow in self.flows.values():
            for read, streaming in flow.reads.items():
                if streaming and self.datasets[read].kind is Kind.MATERIALIZED_VIEW:
                    raise PipelineDefinitionError(
                        f"flow {flow.name!r} reads materialized view {self.datasets[read].name!r} as a stream; "
                        "streaming reads need an append-only source (a streaming table or a view over one)"
                    )
        self.order()

    def order(self) -> list[str]:
        """Dataset keys so that every dataset comes after the datasets it reads; refuses cycles."""
        done: list[str] = []
        state: dict[str, str] = {}

        def visit(key: str, path: list[str]) -> None:
            if state.get(key) == "done":
                return
            if state.get(key) == "visiting":
                cycle = path[path.index(key) :] + [key]
                names = " -> ".join(self.datasets[k].name for k in cycle)
                raise PipelineDefinitionError(f"the pipeline's datasets form a cycle: {names}")
            state[key] = "visiting"
            for upstream in sorted(self.upstream(key), key=list(self.datasets).index):
                visit(upstream, path + [key])
            state[key] = "done"
            done.append(key)

        for key in self.datasets:
            visit(key, [])
        return done
