"""Run a pipeline update locally: load its files, resolve the graph, run the flows in dependency order.

    result = run_update(spark, settings, PipelineSettings(name="offline_features", catalog="lakehouse",
                        target="churn", sources=(Path("dlt/offline_features"),),
                        configuration={"lakehouse.run_date": "2026-03-01"}))

Modes, as on Databricks: an incremental update (default), `full_refresh=True` (recompute everything,
streaming tables truncated and their checkpoints reset), `refresh=[...]` (update only those datasets) and
`full_refresh_selection=[...]` (full refresh of those); the last two combine. Datasets outside a selection
are EXCLUDED and read as they are. The pipeline's configuration is set on the session before its files
load, so `spark.conf.get(key)` in pipeline code returns it. A flow failure (e.g. `expect_or_fail`) marks
the update FAILED and skips everything downstream of it; independent flows still run. Invalid pipeline
definitions raise PipelineDefinitionError after recording the failed update in the event log.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from lakehouse.core.errors import EngineError, LakehouseError, SchemaMismatch
from lakehouse.core.lock import exclusive
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime import api, context, event_log, interrupted, pipelines_api, writers
from lakehouse.local.dlt_runtime.dbutils import DBUtils
from lakehouse.local.dlt_runtime.errors import PipelineBusy, PipelineDefinitionError
from lakehouse.local.dlt_runtime.event_log import QUEUED, RUNNING, STARTING
from lakehouse.local.dlt_runtime.execution import UpdateState, failure_message, run_flow, session_conf
from lakehouse.local.dlt_runtime.graph import Flow, Graph, Kind
from lakehouse.local.dlt_runtime.progress import Progress
from lakehouse.local.dlt_runtime.reads import DiscoveryReader
from lakehouse.local.dlt_runtime.results import (
    COMPLETED,
    EXCLUDED,
    FAILED,
    SKIPPED,
    DatasetResult,
    FlowResult,
    UpdateResult,
)
from lakehouse.local.dlt_runtime.session import PipelineSession
from lakehouse.local.dlt_runtime.sources import VOLUMES_DIR
from lakehouse.local.dlt_runtime.staging import STAGING


@dataclass(frozen=True)
class PipelineSettings:
    """A pipeline as the bundle declares it: name, where its tables go, its source files, its configuration."""

    name: str
    catalog: str
    target: str
    sources: tuple[Path, ...]
    configuration: Mapping[str, str] = field(default_factory=dict)
    event_log: str | None = None  # the resource's `event_log.name`; None: event_log_<name>


def source_files(pipeline: PipelineSettings) -> list[Path]:
    """The pipeline's .py files: files as given, folders' files (recursively) in sorted order."""
    files: list[Path] = []
    for source in pipeline.sources:
        path = Path(source)
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.is_file():
            files.append(path)
        else:
            raise PipelineDefinitionError(f"pipeline {pipeline.name!r}: source {path} does not exist")
    if not files:
        raise PipelineDefinitionError(f"pipeline {pipeline.name!r} has no .py source files in {pipeline.sources}")
    return files


def _definition_events(events: event_log.EventLog, graph: Graph) -> None:
    """One `flow_definition` event per flow, as Databricks logs them: the update's dataset graph."""
    for flow in graph.flows.values():
        output, inputs = graph.definition(flow)
        events.emit("flow_definition", f"Flow '{flow.name}' is defined as writing to {output}.",
                    {"flow_definition": {"output_dataset": output, "input_datasets": inputs,
                                         "flow_type": "CDC" if flow.cdc else "STREAMING" if flow.streaming else "COMPLETE"}},
                    flow=flow.name, dataset=output)


def load_graph(spark: Any, store: TableStore, pipeline: PipelineSettings) -> Graph:
    """Execute the pipeline's files with `dlt`, `pyspark.pipelines` and `spark` available, then discover and
    validate the graph."""
    graph = Graph()
    volumes = store.settings.storage_root / VOLUMES_DIR
    with api.installed(), pipelines_api.installed(), context.using(context.current_graph, graph):
        for path in source_files(pipeline):
            code = compile(path.read_text(), str(path), "exec")
            scope = {"__name__": f"dlt_pipeline_{path.stem}", "__file__": str(path),
                     "spark": PipelineSession(spark, volumes), "dbutils": DBUtils(volumes)}
            try:
                exec(code, scope)
            except (LakehouseError, NotImplementedError):
                raise
            except Exception as exc:
                raise PipelineDefinitionError(f"pipeline file {path} failed to load: {failure_message(exc)}") from exc
    for flow in graph.flows.values():
        _discover(graph, flow, store)
    graph.validate()
    for dataset in graph.datasets.values():
        writers.write_policy(dataset)
    return graph


def run_update(
    spark: Any,
    settings: Settings,
    pipeline: PipelineSettings,
    *,
    full_refresh: bool = False,
    refresh: Sequence[str] | None = None,
    full_refresh_selection: Sequence[str] | None = None,
    console: Console | None = None,
) -> UpdateResult:
    """Run one update of `pipeline` on this machine and return what happened."""
    if not settings.local:
        raise EngineError("the local DLT runtime does not run on Databricks: there, deploy the pipeline with the bundle")
    if full_refresh and (refresh or full_refresh_selection):
        raise ValueError("full_refresh refreshes everything: do not combine it with refresh or full_refresh_selection")
    store = TableStore(spark, settings.model_copy(update={"catalog": pipeline.catalog, "schema_name": pipeline.target}))
    state_dir = settings.storage_root / "_pipelines" / re.sub(r"[^A-Za-z0-9_]", "_", pipeline.name)
    update_id = str(uuid.uuid4())
    pipeline_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"lakehouse-pipeline:{pipeline.catalog}.{pipeline.target}.{pipeline.name}"))
    events = event_log.EventLog(pipeline.name, pipeline_id, update_id, pipeline.event_log)
    progress = Progress(console)
    with exclusive(state_dir / "lock", f"pipeline {pipeline.name!r} is already being updated", f"update {update_id}",
                   PipelineBusy):
        shutil.rmtree(state_dir / STAGING, ignore_errors=True)
        _record_interrupted(state_dir, store, events)
        interrupted.begin(state_dir, update_id)
        started = time.monotonic()
        result = UpdateResult(update_id=update_id, pipeline=pipeline.name, state=FAILED)
        events.emit(
            "create_update",
            f"Update {update_id[:6]} started.",
            {"create_update": {
                "cause": "API_CALL", "full_refresh": full_refresh, "refresh_selection": list(refresh or []),
                "full_refresh_selection": list(full_refresh_selection or []), "config": dict(pipeline.configuration),
            }},
        )  # fmt: skip
        _progress_event(events, "INITIALIZING")
        progress.started(pipeline.name, update_id, _mode(full_refresh, refresh, full_refresh_selection))
        try:
            with session_conf(spark, pipeline.configuration):
                graph = load_graph(spark, store, pipeline)
                _definition_events(events, graph)
                selected, fresh = _selection(graph, full_refresh, refresh, full_refresh_selection)
                _progress_event(events, "RUNNING")
                state = UpdateState(graph, store, pipeline.name, state_dir, fresh)
                _run_flows(state, selected, events, progress, result)
            result.state = FAILED if any(d.status == FAILED for d in result.datasets.values()) else COMPLETED
        except Exception as exc:
            result.error = failure_message(exc)
            _progress_event(events, FAILED, error=result.error)
            raise
        else:
            result.error = _first_error(result)
            _progress_event(events, result.state, error=result.error)
        finally:
            result.duration_s = time.monotonic() - started
            events.flush(store)
            interrupted.end(state_dir)
            progress.summary(result)
    return result


def _discover(graph: Graph, flow: Flow, store: TableStore) -> None:
    """Call the flow's function once with a recording reader to learn what it reads."""
    reader = DiscoveryReader(graph, flow, store)
    if flow.cdc is not None:
        if isinstance(flow.cdc.source, str):  # a dataset or a table by name; a snapshot function reads no dataset
            reader.read_table(flow.cdc.source, streaming=not flow.cdc.snapshot)
        return
    with context.using(context.current_reader, reader):
        try:
            reader.record_tables(flow.func())
        except (LakehouseError, NotImplementedError):
            raise
        except Exception as exc:
            raise PipelineDefinitionError(
                f"the function of flow {flow.name!r} failed while the pipeline graph was resolved: "
                f"{failure_message(exc)}. Dataset functions must only build a DataFrame; eager calls on their "
                "inputs (count(), collect(), toPandas(), columns, schema) are not allowed"
            ) from exc


def _selection(
    graph: Graph, full_refresh: bool, refresh: Iterable[str] | None, full_refresh_selection: Iterable[str] | None
) -> tuple[set[str], set[str]]:
    """(datasets to run, datasets to refresh from scratch); views a selected dataset reads come along."""
    if not refresh and not full_refresh_selection:
        everything = set(graph.datasets)
        return everything, set(everything) if full_refresh else set()
    chosen = {name: graph.find(name) for name in [*(refresh or []), *(full_refresh_selection or [])]}
    unknown = [name for name, key in chosen.items() if key is None]
    if unknown:
        raise PipelineDefinitionError(f"refresh selection names unknown dataset(s) {unknown}")
    fresh = {graph.find(n) for n in full_refresh_selection or []}
    return _with_views(graph, set(chosen.values())), _with_views(graph, fresh)


def _with_views(graph: Graph, keys: set[str]) -> set[str]:
    result, pending = set(keys), list(keys)
    while pending:
        for upstream in graph.upstream(pending.pop()):
            if graph.datasets[upstream].kind is Kind.VIEW and upstream not in result:
                result.add(upstream)
                pending.append(upstream)
    return result


def _run_flows(state: UpdateState, selected: set[str], events: event_log.EventLog, progress: Progress, result: UpdateResult) -> None:
    graph = state.graph
    running = [f for key in selected for f in graph.flows_of(key)]
    for key, dataset in graph.datasets.items():
        if dataset.kind is Kind.VIEW:
            state.view_readers[key] = {f.name for f in running if key in f.reads}
    order = graph.order()
    for key in order:  # the update's plan: every selected flow waits for its turn
        if key in selected:
            for flow in graph.flows_of(key):
                _flow_status(events, flow.name, graph.datasets[key].name, QUEUED)
    broken: set[str] = set()
    for key in order:
        dataset = graph.datasets[key]
        flows: list[FlowResult] = []
        for flow in graph.flows_of(key):
            if key not in selected:
                outcome = FlowResult(flow.name, dataset.name, EXCLUDED)
            elif graph.upstream(key) & broken or any(f.status == FAILED for f in flows):
                outcome = FlowResult(flow.name, dataset.name, SKIPPED)
            else:
                for status in (STARTING, RUNNING):  # one moment locally: nothing sits between setup and run
                    _flow_status(events, flow.name, dataset.name, status)
                try:
                    outcome = run_flow(state, flow, first=not flows)
                except SchemaMismatch as exc:  # the definition changed since the table was written
                    hint = f"run a full refresh of {dataset.name!r} to rebuild it with its current definition"
                    outcome = FlowResult(flow.name, dataset.name, FAILED, error=f"{failure_message(exc)}; {hint}")
                except Exception as exc:  # noqa: BLE001 - a flow failure is recorded, the update goes on
                    outcome = FlowResult(flow.name, dataset.name, FAILED, error=failure_message(exc))
            flows.append(outcome)
            result.flows[flow.name] = outcome
            _flow_event(events, outcome, dataset.expectations != [])
        combined = DatasetResult.combine(dataset.name, dataset.kind.value, flows)
        result.datasets[dataset.name] = combined
        if combined.status in (FAILED, SKIPPED):
            broken.add(key)
        if combined.status != EXCLUDED:
            progress.dataset_done(combined)


def _flow_event(events: event_log.EventLog, outcome: FlowResult, has_expectations: bool) -> None:
    """The flow's end event: its status with the rows it wrote and its expectations' counts."""
    details: dict[str, Any] = {}
    if outcome.status in (COMPLETED, FAILED):
        metrics: dict[str, int] = {"num_output_rows": outcome.rows_written}
        if outcome.rows_upserted or outcome.rows_deleted or outcome.rows_superseded:
            metrics.update(
                num_upserted_rows=outcome.rows_upserted,
                num_deleted_rows=outcome.rows_deleted,
                num_superseded_rows=outcome.rows_superseded,
            )
        details["metrics"] = metrics
        if has_expectations:
            details["data_quality"] = {
                "dropped_records": outcome.rows_dropped,
                "expectations": [e.event() for e in outcome.expectations],
            }
    _flow_status(events, outcome.flow, outcome.dataset, outcome.status, details, outcome.error)


def _flow_status(events: event_log.EventLog, flow: str, dataset: str, status: str,
                 details: Mapping[str, Any] | None = None, error: str | None = None) -> None:
    """A flow's `flow_progress` event: its status, plus `metrics` / `data_quality` on its end event only (see
    event_log.py), so readers summing those never count a flow twice."""
    events.emit(
        "flow_progress",
        f"Flow '{flow}' is {status}.",
        {"flow_progress": {"status": status, **(details or {})}},
        level="ERROR" if status == FAILED else "INFO",
        flow=flow,
        dataset=dataset,
        error=error,
    )


def _progress_event(events: event_log.EventLog, state: str, error: str | None = None) -> None:
    events.emit(
        "update_progress",
        f"Update {events.update_id[:6]} is {state}.",
        {"update_progress": {"state": state}},
        level="ERROR" if state == FAILED else "INFO",
        error=error,
    )


def _record_interrupted(state_dir: Path, store: TableStore, events: event_log.EventLog) -> None:
    """Write the FAILED state of an update whose process ended mid-update (it could not write it itself)."""
    found = interrupted.previous(state_dir)
    if found is None:
        return
    dead = event_log.EventLog(events.pipeline, events.pipeline_id, found.update_id, events.table)
    error = (f"update {found.update_id} (started {found.started}) was interrupted: its process ended before the update "
             "finished (killed or crashed); what it committed stays, nothing partial is visible, and the next update "
             "carried on from there")
    _progress_event(dead, FAILED, error=error)
    dead.flush(store)
    interrupted.end(state_dir)


def _first_error(result: UpdateResult) -> str | None:
    return next((f"{d.name}: {d.error}" for d in result.datasets.values() if d.error), None)


def _mode(full_refresh: bool, refresh: Sequence[str] | None, full_refresh_selection: Sequence[str] | None) -> str:
    if full_refresh:
        return "full refresh"
    parts = [f"refresh {', '.join(refresh)}" if refresh else "", f"full refresh {', '.join(full_refresh_selection)}" if full_refresh_selection else ""]
    return "; ".join(p for p in parts if p) or "incremental"
