"""The Databricks Delta Live Tables Python API (`import dlt`) for pipelines run by the local runtime.

Same names and signatures as Databricks' `dlt` module, so pipeline files run unchanged. Declarations go
into the graph being loaded; reads go to the running flow's reader (see context.py). `installed()` puts
this API in `sys.modules["dlt"]` only while the runner loads a pipeline's files, and restores whatever was
there before, so a real Databricks `dlt` is never shadowed.

Dataset functions must only build a DataFrame: the runtime calls each once to discover its reads (the
returned plan is never executed) and again when its flow runs, like Databricks which also "invokes them
multiple times". Eager calls on inputs (count(), collect(), toPandas(), columns, schema) therefore do not
belong in them.
"""

from __future__ import annotations

import inspect
import re
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lakehouse.core.declared_schema import DeclaredSchema, parse
from lakehouse.local.dlt_runtime import context
from lakehouse.local.dlt_runtime.graph import Action, ChangeSpec, Dataset, Expectation, Flow, Kind

_EXPECTATIONS_ATTR = "__dlt_expectations__"
_DATASET_ATTR = "__dlt_dataset__"
SNAPSHOT_VERSION = "__lakehouse_sequence"  # a snapshot's version, the sequence of its changes (change_log.SEQUENCE)
_COLUMN_REPR = re.compile(r"^Column<'([^']+)'>$")


# -- datasets -------------------------------------------------------------------------------------
def table(
    query_function: Callable[[], Any] | None = None,
    *,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    table_properties: dict[str, str] | None = None,
    path: str | None = None,
    partition_cols: list[str] | None = None,
    cluster_by: list[str] | None = None,
    schema: Any = None,
    temporary: bool = False,
    row_filter: str | None = None,
    private: bool | None = None,
    cluster_by_auto: bool = False,
) -> Any:
    """Declare a materialized view or streaming table (decided by whether its query streams).

    `schema` (a DDL string or StructType) is enforced as on Databricks (schema.py): the output must have its
    columns and types, NOT NULL holds, and its comments and primary key are stored with the table.
    `path`, `cluster_by`, `cluster_by_auto` and `row_filter` are accepted and ignored locally; a `temporary` (or `private`)
    table is still stored in the target schema. The local-only table property `lakehouse.write` selects
    the write policy (see writers.py).
    """

    return declare_table(query_function, None, name=name, comment=comment, spark_conf=spark_conf,
                         table_properties=table_properties, partition_cols=partition_cols, schema=schema,
                         temporary=bool(temporary or private))


def declare_table(
    query_function: Callable[[], Any] | None,
    kind: Kind | None,
    *,
    name: str | None,
    comment: str | None,
    spark_conf: dict[str, str] | None,
    table_properties: dict[str, str] | None,
    partition_cols: list[str] | None,
    schema: Any,
    temporary: bool,
) -> Any:
    """The decorator behind `@dlt.table` (kind None: decided by its reads) and `@dp.materialized_view`."""

    def register(func: Callable[[], Any]) -> Callable[[], Any]:
        dataset = Dataset(
            name=name or func.__name__,
            kind=kind,
            source_file=_source_of(func),
            comment=comment,
            temporary=temporary,
            partition_cols=tuple(partition_cols or ()),
            table_properties=dict(table_properties or {}),
            spark_conf=dict(spark_conf or {}),
            schema=_declared(schema, name or func.__name__),
        )
        return _declare(dataset, func)

    return register(query_function) if query_function is not None else register


def view(
    query_function: Callable[[], Any] | None = None,
    *,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
) -> Any:
    """Declare a view: computed during the update for its readers, never stored."""

    def register(func: Callable[[], Any]) -> Callable[[], Any]:
        dataset = Dataset(
            name=name or func.__name__,
            kind=Kind.VIEW,
            source_file=_source_of(func),
            comment=comment,
            spark_conf=dict(spark_conf or {}),
        )
        return _declare(dataset, func)

    return register(query_function) if query_function is not None else register


def create_streaming_table(
    name: str,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    table_properties: dict[str, str] | None = None,
    partition_cols: list[str] | None = None,
    cluster_by: list[str] | None = None,
    path: str | None = None,
    schema: Any = None,
    expect_all: dict[str, str] | None = None,
    expect_all_or_drop: dict[str, str] | None = None,
    expect_all_or_fail: dict[str, str] | None = None,
    row_filter: str | None = None,
    cluster_by_auto: bool = False,
) -> None:
    """Declare a streaming table filled by `append_flow` / `apply_changes` flows."""
    graph = context.graph()
    dataset = Dataset(
        name=name,
        kind=Kind.STREAMING_TABLE,
        source_file=_caller_file(),
        comment=comment,
        partition_cols=tuple(partition_cols or ()),
        table_properties=dict(table_properties or {}),
        spark_conf=dict(spark_conf or {}),
        schema=_declared(schema, name),
    )
    graph.add_dataset(dataset)
    for rules, action in ((expect_all, Action.WARN), (expect_all_or_drop, Action.DROP), (expect_all_or_fail, Action.FAIL)):
        graph.add_expectations(dataset, [Expectation(n, c, action) for n, c in (rules or {}).items()])


# -- flows ----------------------------------------------------------------------------------------
def append_flow(
    target: str,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    once: bool = False,
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Add a flow appending its query's rows to streaming table `target` (`once`: only on first run/full refresh)."""

    def register(func: Callable[[], Any]) -> Callable[[], Any]:
        flow = Flow(name=name or func.__name__, target=target, func=func, once=once, spark_conf=dict(spark_conf or {}))
        context.graph().add_flow(flow)
        return func

    return register


def apply_changes(
    target: str,
    source: str,
    keys: list[Any],
    sequence_by: Any,
    ignore_null_updates: bool = False,
    apply_as_deletes: Any = None,
    apply_as_truncates: Any = None,
    column_list: list[Any] | None = None,
    except_column_list: list[Any] | None = None,
    stored_as_scd_type: int | str = "1",
    track_history_column_list: list[Any] | None = None,
    track_history_except_column_list: list[Any] | None = None,
    flow_name: str | None = None,
    once: bool = False,
    ignore_null_updates_column_list: list[Any] | None = None,
    ignore_null_updates_except_column_list: list[Any] | None = None,
    name: str | None = None,
) -> None:
    """Apply a change feed from dataset `source` to streaming table `target` as SCD type 1 or 2 (cdc.py,
    change_log.py), refusing the combinations Databricks documents as invalid
    (https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-apply-changes): `apply_as_truncates` and
    `track_history_*` belong to one SCD type each, and each pair of column lists is either/or."""
    scd_type = _scd_type(stored_as_scd_type, target)
    unsupported = {
        "ignore_null_updates_column_list": ignore_null_updates_column_list,
        "ignore_null_updates_except_column_list": ignore_null_updates_except_column_list,
    }
    given = [arg for arg, value in unsupported.items() if value is not None]
    if ignore_null_updates and scd_type == 2:
        given.append("ignore_null_updates with stored_as_scd_type=2")
    if given:
        raise NotImplementedError(f"apply_changes into {target!r}: {', '.join(given)} not supported by the local runtime")
    if column_list is not None and except_column_list is not None:
        raise ValueError(f"apply_changes into {target!r}: give column_list or except_column_list, not both")
    _check_track_history(f"apply_changes into {target!r}", scd_type, track_history_column_list,
                         track_history_except_column_list)
    if scd_type == 2 and apply_as_truncates is not None:
        raise ValueError(f"apply_changes into {target!r}: apply_as_truncates is supported only for SCD type 1")
    spec = ChangeSpec(
        source=source,
        keys=tuple(_column_name(k) for k in keys),
        sequence_by=_column_name(sequence_by),
        ignore_null_updates=ignore_null_updates,
        apply_as_deletes=apply_as_deletes,
        column_list=_names(column_list),
        except_column_list=_names(except_column_list),
        scd_type=scd_type,
        apply_as_truncates=apply_as_truncates,
        track_history_column_list=_names(track_history_column_list),
        track_history_except_column_list=_names(track_history_except_column_list),
    )
    context.graph().add_flow(Flow(name=name or flow_name or target, target=target, func=None, cdc=spec, once=once))


create_auto_cdc_flow = apply_changes  # the newer Databricks name, same signature


def apply_changes_from_snapshot(
    target: str,
    source: Any,
    keys: list[Any],
    stored_as_scd_type: int | str,
    track_history_column_list: list[Any] | None = None,
    track_history_except_column_list: list[Any] | None = None,
) -> None:
    """Apply the differences between successive snapshots of `source` (a dataset or table name, or a function
    `latest_version -> (DataFrame, version) | None`) to streaming table `target` as SCD type 1 or 2 (snapshots.py,
    https://docs.databricks.com/aws/en/ldp/developer/ldp-python-ref-apply-changes-from-snapshot)."""
    scd_type = _scd_type(stored_as_scd_type, target)
    _check_track_history(f"auto CDC from snapshot into {target!r}", scd_type, track_history_column_list,
                         track_history_except_column_list)
    if not isinstance(source, str) and not callable(source):
        raise ValueError(f"auto CDC from snapshot into {target!r}: source must be a dataset or table name or a function")
    spec = ChangeSpec(
        source=source,
        keys=tuple(_column_name(k) for k in keys),
        sequence_by=SNAPSHOT_VERSION,
        scd_type=scd_type,
        track_history_column_list=_names(track_history_column_list),
        track_history_except_column_list=_names(track_history_except_column_list),
        snapshot=True,
    )
    context.graph().add_flow(Flow(name=target, target=target, func=None, cdc=spec))


create_auto_cdc_from_snapshot_flow = apply_changes_from_snapshot  # the newer Databricks name, same signature


# -- expectations ---------------------------------------------------------------------------------
def expect(description: str, constraint: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Keep rows failing `constraint`; count them."""
    return _expectations({description: constraint}, Action.WARN)


def expect_or_drop(description: str, constraint: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Drop rows failing `constraint` before the write; count them."""
    return _expectations({description: constraint}, Action.DROP)


def expect_or_fail(description: str, constraint: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Fail the flow (table unchanged) when any row fails `constraint`."""
    return _expectations({description: constraint}, Action.FAIL)


def expect_all(expectations: dict[str, str]) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    return _expectations(expectations, Action.WARN)


def expect_all_or_drop(expectations: dict[str, str]) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    return _expectations(expectations, Action.DROP)


def expect_all_or_fail(expectations: dict[str, str]) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    return _expectations(expectations, Action.FAIL)


# -- reads ----------------------------------------------------------------------------------------
def read(name: str) -> Any:
    """The complete current content of dataset `name` (a view's rows, a table's rows)."""
    return context.reader().read(name, streaming=False)


def read_stream(name: str) -> Any:
    """The rows appended to dataset `name` since this flow last read it."""
    return context.reader().read(name, streaming=True)


# -- installation ---------------------------------------------------------------------------------
PUBLIC = (
    "table", "view", "create_streaming_table", "append_flow", "apply_changes", "create_auto_cdc_flow",
    "apply_changes_from_snapshot", "create_auto_cdc_from_snapshot_flow",
    "expect", "expect_or_drop", "expect_or_fail", "expect_all", "expect_all_or_drop", "expect_all_or_fail",
    "read", "read_stream",
)  # fmt: skip


def module_of(name: str, doc: str, attributes: Mapping[str, Any]) -> types.ModuleType:
    """A module object named `name` holding `attributes`."""
    module = types.ModuleType(name, doc)
    for attribute, value in attributes.items():
        setattr(module, attribute, value)
    return module


@contextmanager
def swapped(module: types.ModuleType) -> Iterator[types.ModuleType]:
    """`module` importable under its name for the duration of the block; whatever was there is restored.

    For a submodule (`pyspark.pipelines`) the parent package's attribute is swapped too: `from pyspark import
    pipelines` reads that attribute when the real submodule was imported before."""
    name = module.__name__
    parent_name, _, leaf = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    missing = object()
    previous, previous_attr = sys.modules.get(name), getattr(parent, leaf, missing) if parent else missing
    sys.modules[name] = module
    if parent is not None:
        setattr(parent, leaf, module)
    try:
        yield module
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        if parent is not None:
            if previous_attr is missing:
                delattr(parent, leaf)
            else:
                setattr(parent, leaf, previous_attr)


@contextmanager
def installed() -> Iterator[types.ModuleType]:
    """This API as the `dlt` module for the duration of the block; the previous module is restored."""
    doc = "Local Delta Live Tables runtime (lakehouse.local.dlt_runtime)"
    with swapped(module_of("dlt", doc, {a: globals()[a] for a in PUBLIC})) as module:
        yield module


# -- helpers --------------------------------------------------------------------------------------
def _declared(schema: Any, dataset: str) -> DeclaredSchema | None:
    return None if schema is None else parse(schema, dataset)


def _declare(dataset: Dataset, func: Callable[[], Any]) -> Callable[[], Any]:
    graph = context.graph()
    graph.add_dataset(dataset)
    graph.add_expectations(dataset, list(getattr(func, _EXPECTATIONS_ATTR, [])))
    graph.add_flow(Flow(name=dataset.name, target=dataset.name, func=func, spark_conf=dict(dataset.spark_conf)))
    setattr(func, _DATASET_ATTR, dataset)
    return func


def _expectations(rules: Mapping[str, str], action: Action) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Decorator attaching rules to a dataset function, whether it sits below or above @dlt.table."""
    expectations = [Expectation(name, constraint, action) for name, constraint in rules.items()]

    def attach(func: Callable[[], Any]) -> Callable[[], Any]:
        dataset = getattr(func, _DATASET_ATTR, None)
        if dataset is not None:
            context.graph().add_expectations(dataset, expectations)
        else:  # decorators apply bottom-up: prepend to keep the order they are written in
            setattr(func, _EXPECTATIONS_ATTR, expectations + list(getattr(func, _EXPECTATIONS_ATTR, [])))
        return func

    return attach


def _scd_type(stored_as_scd_type: int | str, target: str) -> int:
    if str(stored_as_scd_type) not in ("1", "2"):
        raise ValueError(f"apply_changes into {target!r}: stored_as_scd_type must be 1 or 2, not {stored_as_scd_type!r}")
    return int(stored_as_scd_type)


def _check_track_history(flow: str, scd_type: int, columns: list[Any] | None, except_columns: list[Any] | None) -> None:
    """The track_history lists are either/or and SCD type 2 only."""
    if columns is not None and except_columns is not None:
        raise ValueError(f"{flow}: give track_history_column_list or track_history_except_column_list, not both")
    if scd_type == 1 and (columns is not None or except_columns is not None):
        raise ValueError(f"{flow}: track_history_column_list / track_history_except_column_list are for SCD type 2 "
                         "(stored_as_scd_type=2)")


def _names(columns: list[Any] | None) -> tuple[str, ...] | None:
    return None if columns is None else tuple(_column_name(c) for c in columns)


def _column_name(column: Any) -> str:
    """A column given as a name or as `col("name")`."""
    if isinstance(column, str):
        return column
    match = _COLUMN_REPR.match(str(column))
    if match is None:
        raise NotImplementedError(f"only plain column names or col('name') are supported here, not {column!r}")
    return match.group(1)


def _source_of(func: Callable[[], Any]) -> str:
    return getattr(getattr(func, "__code__", None), "co_filename", "")


def _caller_file() -> str:
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame and frame.f_back else None
    return caller.f_code.co_filename if caller else ""
