"""Running one flow: build its frame (staged once for a materialized view), check its declared schema on
the plan, expectations and NOT NULL in one pass, write, then commit its progress.

A flow's streaming progress (checkpoint positions, streaming-source commits) is committed only after its
target write committed. A view is not written: its progress is committed once every flow that read it in
this update has committed, so a failure downstream re-delivers the view's input next time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.core.declared_schema import with_comments
from lakehouse.core.faults import maybe_crash
from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime import cdc, change_log, context, snapshots, writers
from lakehouse.local.dlt_runtime.checkpoints import Checkpoint, CheckpointStore, commit_token
from lakehouse.local.dlt_runtime.expectations import Checked, check
from lakehouse.local.dlt_runtime.graph import Flow, Graph, Kind
from lakehouse.local.dlt_runtime.reads import ExecutionReader
from lakehouse.local.dlt_runtime.results import COMPLETED, FAILED, FlowResult
from lakehouse.local.dlt_runtime.staging import STAGING, staged


@dataclass
class UpdateState:
    """What the flows of one update share."""

    graph: Graph
    store: TableStore
    pipeline: str
    state_dir: Path
    full_refresh: set[str]  # dataset keys refreshed from scratch
    view_frames: dict[str, Any] = field(default_factory=dict)
    view_commits: dict[str, Callable[[], None]] = field(default_factory=dict)
    view_readers: dict[str, set[str]] = field(default_factory=dict)  # view key -> flows still to commit
    view_increments: dict[str, Checkpoint] = field(default_factory=dict)  # view key -> what its frame read up to

    @property
    def checkpoints(self) -> CheckpointStore:
        return CheckpointStore(self.state_dir / "checkpoints")

    def consumed(self, view: str, flow: str) -> None:
        """`flow` committed after reading `view`; commit the view when it was the last reader."""
        waiting = self.view_readers.get(view, set())
        waiting.discard(flow)
        if not waiting and view in self.view_commits:
            self.view_commits.pop(view)()


def run_flow(state: UpdateState, flow: Flow, first: bool) -> FlowResult:
    """Execute `flow` (`first`: the first flow of its dataset in this update); raises on engine errors."""
    started = time.monotonic()
    key = state.graph.find(flow.target)
    dataset = state.graph.datasets[key]
    table = state.store.name(dataset.name)
    refresh = key in state.full_refresh
    checkpoint = state.checkpoints.load(flow.name)
    result = FlowResult(flow=flow.name, dataset=dataset.name, status=COMPLETED)
    if flow.once and checkpoint.once_done and not refresh:
        return result
    reader = ExecutionReader(
        state.graph, flow, state.store, state.pipeline, state.state_dir, refresh, checkpoint, state.view_frames
    )
    staging_dir = state.state_dir / STAGING / flow.name
    if flow.cdc is not None and flow.cdc.snapshot:
        with session_conf(state.store.spark, dataset.spark_conf), context.using(context.current_reader, reader):
            applied = snapshots.apply(
                state.store, table, flow.cdc, dataset, lambda: reader.read_table(flow.cdc.source, streaming=False),
                state.state_dir / change_log.LOGS / flow.name, staging_dir, reset=refresh and first,
            )
        result.rows_in = result.rows_written = applied.source_rows
        result.rows_upserted, result.rows_deleted = applied.upserted, applied.deleted
        result.table_version = applied.version
        _commit(state, flow, reader)
        result.duration_s = time.monotonic() - started
        return result
    with session_conf(state.store.spark, {**dataset.spark_conf, **flow.spark_conf}), ExitStack() as stack:
        with context.using(context.current_reader, reader):
            frame = reader.read_table(flow.cdc.source, streaming=True) if flow.cdc else flow.func()
        if reader.hidden:  # e.g. Auto Loader's `_metadata`: hidden, so never in the output (a no-op when absent)
            frame = frame.drop(*reader.hidden)
        if dataset.schema is not None:  # declared columns and types, checked on the plan's schema (no data read)
            dataset.schema.check_frame(frame.schema.fields, dataset.name)
            frame = frame.select(*[f"`{c}`" for c in dataset.schema.names])
        if dataset.kind is Kind.MATERIALIZED_VIEW:  # recomputed plans: computed once for check and write
            frame = stack.enter_context(staged(state.store.spark, frame, staging_dir))
        if dataset.schema is not None:
            frame = with_comments(frame, dataset.schema)
        track = dataset.partition_cols if flow.cdc else writers.tracked_columns(dataset)
        checked = check(frame, dataset, track, cdc.required_columns(flow.cdc, frame.columns) if flow.cdc else ())
        result.rows_in, result.rows_dropped = checked.rows_in, checked.rows_dropped
        result.expectations = checked.expectations
        if checked.failure:
            result.status, result.error = FAILED, checked.failure
        elif dataset.kind is Kind.VIEW:
            state.view_frames[key] = checked.kept
            if reader.positions and not flow.uses_source:
                state.view_increments[key] = reader.committed_checkpoint()
            state.view_commits[key] = lambda: _commit(state, flow, reader)
            result.rows_written = checked.rows_in - checked.rows_dropped
        elif flow.cdc:
            applied = _apply_changes(state, flow, table, checked, staging_dir, reset=refresh and first)
            result.rows_written, result.table_version = applied.source_rows, applied.version
            result.rows_upserted, result.rows_deleted = applied.upserted, applied.deleted
            result.rows_superseded = checked.rows_in - checked.rows_dropped - applied.source_rows
        else:
            append = dataset.kind is Kind.STREAMING_TABLE
            increment = _increment(state, reader) if append else None
            token = commit_token(flow.name, increment) if increment else None
            # Auto Loader's new columns (addNewColumns) reach its streaming table, as Databricks evolves it when the
            # pipeline restarts on them:
            # https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/schema
            result.table_version = writers.write(
                state.store, table, dataset, checked, append=append, replace_all=refresh and first, token=token,
                add_columns=flow.uses_source and dataset.schema is None,
            )
            result.rows_written = checked.rows_in - checked.rows_dropped
    maybe_crash(f"flow.written:{flow.name}")
    if result.status == COMPLETED and dataset.kind is not Kind.VIEW:
        _commit(state, flow, reader)
    result.duration_s = time.monotonic() - started
    return result


def _apply_changes(state: UpdateState, flow: Flow, table: str, checked: Checked, staging_dir: Path,
                   reset: bool) -> cdc.Applied:
    """Auto CDC: incrementally (cdc.py) where the target holds what that needs, else from the change log."""
    spec, dataset = flow.cdc, state.graph.datasets[state.graph.find(flow.target)]
    cdc.refuse_nulls(spec, checked, dataset.name)
    if change_log.needs_log(spec, cdc.target_columns(checked.kept.columns, spec, dataset.name)):
        log_dir = state.state_dir / change_log.LOGS / flow.name
        return change_log.apply(state.store, table, checked.kept, spec, dataset, log_dir, staging_dir, reset=reset)
    return cdc.apply(state.store, table, dataset, spec, checked, staging_dir, reset=reset)


def _increment(state: UpdateState, reader: ExecutionReader) -> Checkpoint | None:
    """The input positions a streaming flow's rows came from, directly or through views; None when any of
    its rows came from elsewhere (a landing source keeps its own exactly-once log)."""
    if reader.flow.uses_source or any(view not in state.view_increments for view in reader.views_read):
        return None
    inputs = dict(reader.positions)
    for view in sorted(reader.views_read):
        inputs.update({f"{view}/{table}": pos for table, pos in state.view_increments[view].inputs.items()})
    return Checkpoint(inputs=inputs) if inputs else None


def failure_message(exc: BaseException) -> str:
    """One readable line for results and the event log."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:1000]}"


def _commit(state: UpdateState, flow: Flow, reader: ExecutionReader) -> None:
    state.checkpoints.save(flow.name, reader.committed_checkpoint())
    for commit in reader.source_commits:
        commit()
    for view in reader.views_read:
        state.consumed(view, flow.name)


@contextmanager
def session_conf(spark: Any, values: Mapping[str, str]) -> Iterator[None]:
    """Session configuration for the duration of a block, restored afterwards."""
    previous = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, str(value))
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
