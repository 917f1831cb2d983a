"""Engine parity: run transformation functions on Sail and on classic Spark and compare the results.

Why: pipeline code runs on Sail locally but on classic Spark on Databricks, so a transformation is
only trusted when both engines give the same columns, types and rows. pyspark allows one engine per
process (a Connect session switches the whole process to Connect mode), so each engine runs every
case in one subprocess of its own (`python -m lakehouse.local.parity --engine NAME --workdir DIR`; classic
Spark takes ~15 s to start). Inputs and results travel as parquet files; the parent compares them.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.core.errors import EngineError

ENGINE_START_FAILED = 3  # subprocess exit code: the engine could not start (message in <engine>.engine_error)
MAX_ROWS_SHOWN = 5


def func_reference(func: Callable[..., Any]) -> str:
    """`module:qualname` of a function another process can import; ValueError says why not."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not callable(func) or not module or not qualname:
        raise ValueError(f"{func!r} is not a plain function: pass a module-level function, arguments via kwargs")
    if getattr(func, "__name__", "") == "<lambda>":
        raise ValueError(f"{module}.{qualname} is a lambda: define the transformation with def at module level")
    if "<locals>" in qualname:
        raise ValueError(
            f"{module}.{qualname} is defined inside a function (a closure): define it at module level, "
            "pass arguments via kwargs"
        )
    if module == "__main__":
        raise ValueError(f"{qualname} is defined in __main__: put it in an importable module")
    try:
        found = _resolve(f"{module}:{qualname}")
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"{module}.{qualname} cannot be imported by reference: {exc}") from None
    if found is not func:
        raise ValueError(f"{module}.{qualname} resolves to a different object (decorated or rebound?)")
    return f"{module}:{qualname}"


def _resolve(reference: str) -> Callable[..., Any]:
    module, qualname = reference.split(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _import_root(module_name: str) -> str | None:
    """The sys.path entry the module was imported from, so the subprocess can import it too."""
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if not file:
        return None
    depth = module_name.count(".") + (1 if Path(file).name == "__init__.py" else 0)
    return str(Path(file).resolve().parents[depth])


@dataclass(frozen=True)
class ParityCase:
    """One call `func(**inputs, **kwargs)` whose result must be identical on every engine.

    `schemas` maps an input name to a Spark DDL string (`"id bigint, day date"`) covering all its
    columns: parquet written from pandas does not carry Spark's exact types (int32 vs bigint,
    timestamp vs timestamp_ntz), so the subprocess casts each input to it. Rows are compared after
    sorting by `sort_by` then by every other column; floats match within `tolerance` (relative and absolute).
    """

    func: Callable[..., Any]
    inputs: Mapping[str, pd.DataFrame | pa.Table]
    schemas: Mapping[str, str] = field(default_factory=dict)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    sort_by: Sequence[str] = ()
    tolerance: float = 1e-9
    name: str = ""

    def __post_init__(self) -> None:
        reference = func_reference(self.func)
        if not self.name:
            object.__setattr__(self, "name", reference.replace(":", "."))
        for key, frame in self.inputs.items():
            if not isinstance(frame, (pd.DataFrame, pa.Table)):
                raise TypeError(f"parity case {self.name}: input {key!r} is {type(frame).__name__}, not pandas/Arrow")
        unknown = sorted(set(self.schemas) - set(self.inputs))
        if unknown:
            raise ValueError(f"parity case {self.name}: schemas for unknown inputs {unknown}")
        overlap = sorted(set(self.inputs) & set(self.kwargs))
        if overlap:
            raise ValueError(f"parity case {self.name}: {overlap} given both as input and as kwarg")


@dataclass(frozen=True)
class ParityResult:
    """Outcome of one case: no differences means identical on every engine."""

    name: str
    engines: tuple[str, ...]
    differences: tuple[str, ...]
    rows: Mapping[str, int]

    @property
    def ok(self) -> bool:
        return not self.differences

    def __str__(self) -> str:
        engines = " and ".join(self.engines)
        if self.ok:
            return f"{self.name}: identical on {engines} ({next(iter(self.rows.values()), 0)} rows)"
        return f"{self.name}: differs between {engines}\n" + "\n".join(f"  - {d}" for d in self.differences)


def run_parity(
    cases: Iterable[ParityCase], engines: Sequence[str] = ("sail", "classic"), timeout: float = 600.0
) -> list[ParityResult]:
    """Run every case on every engine (one subprocess per engine, concurrently) and compare per case.

    Raises EngineError when an engine cannot start, TimeoutError when a subprocess overruns `timeout`.
    """
    cases = list(cases)
    if len(set(engines)) != len(engines) or len(engines) < 2:
        raise ValueError(f"parity needs at least two distinct engines, got {list(engines)}")
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        workdir = Path(tmp)
        roots = _write_inputs(cases, workdir)
        _run_engines(engines, workdir, roots, timeout)
        return [_collect(case, workdir / str(i), engines) for i, case in enumerate(cases)]


def assert_parity(
    cases: Iterable[ParityCase], engines: Sequence[str] = ("sail", "classic"), timeout: float = 600.0
) -> list[ParityResult]:
    """run_parity, raising AssertionError with every difference when any case differs."""
    results = run_parity(cases, engines, timeout)
    failed = [r for r in results if not r.ok]
    if failed:
        raise AssertionError(
            f"engine parity failed for {len(failed)} of {len(results)} cases:\n" + "\n".join(map(str, failed))
        )
    return results


# -- parent side ------------------------------------------------------------------------------
def _write_inputs(cases: list[ParityCase], workdir: Path) -> list[str]:
    manifest = []
    for i, case in enumerate(cases):
        folder = workdir / str(i)
        folder.mkdir()
        for key, frame in case.inputs.items():
            table = pa.Table.from_pandas(frame, preserve_index=False) if isinstance(frame, pd.DataFrame) else frame
            # Spark reads only micro-second timestamps from parquet (pandas defaults to nanoseconds).
            pq.write_table(table, folder / f"input_{key}.parquet", coerce_timestamps="us")
        manifest.append(
            {
                "func": func_reference(case.func),
                "inputs": list(case.inputs),
                "schemas": dict(case.schemas),
                "kwargs": dict(case.kwargs),
            }
        )
    try:
        (workdir / "manifest.pkl").write_bytes(pickle.dumps(manifest))
    except Exception as exc:  # noqa: BLE001 - any pickling failure means the same fix
        raise ValueError(f"parity case kwargs must be picklable: {exc}") from None
    lakehouse_root = str(Path(__file__).resolve().parents[2])
    roots = {_import_root(case.func.__module__) for case in cases} | {lakehouse_root}
    return sorted(r for r in roots if r)


def _run_engines(engines: Sequence[str], workdir: Path, roots: list[str], timeout: float) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*roots, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    # pyspark marks a process that opened a Connect session; a classic engine child must not inherit that.
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    deadline = time.monotonic() + timeout
    try:
        for name in engines:
            with open(workdir / f"{name}.log", "wb") as log:
                procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "lakehouse.local.parity", "--engine", name, "--workdir", str(workdir)],
                    cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group, so a JVM child is killed with it
                )
        for name, proc in procs.items():
            try:
                code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise TimeoutError(
                    f"parity engine {name} did not finish within {timeout:.0f} s; log tail:\n{_tail(workdir, name)}"
                ) from None
            if code == ENGINE_START_FAILED:
                reason = (workdir / f"{name}.engine_error").read_text()
                raise EngineError(f"parity engine {name} could not start: {reason}")
            if code != 0:
                raise RuntimeError(f"parity engine {name} exited with code {code}; log tail:\n{_tail(workdir, name)}")
    finally:
        for proc in procs.values():
            _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the subprocess and anything it left behind in its process group."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _tail(workdir: Path, engine: str, lines: int = 20) -> str:
    log = workdir / f"{engine}.log"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


def _collect(case: ParityCase, folder: Path, engines: Sequence[str]) -> ParityResult:
    tables: dict[str, pa.Table] = {}
    differences = []
    for engine in engines:
        error = folder / f"{engine}.error"
        if error.exists():
            differences.append(f"failed on {engine}: {error.read_text()}")
        else:
            tables[engine] = pq.read_table(folder / f"{engine}.parquet")
    if not differences:
        differences = compare_tables(tables, case.sort_by, case.tolerance)
    return ParityResult(case.name, tuple(engines), tuple(differences), {k: t.num_rows for k, t in tables.items()})


# -- comparison -------------------------------------------------------------------------------
def compare_tables(tables: Mapping[str, pa.Table], sort_by: Sequence[str] = (), tolerance: float = 1e-9) -> list[str]:
    """Differences of every table against the first: columns, Arrow types (not nullability), sorted rows."""
    (ref_name, ref), *others = tables.items()
    differences = []
    for name, other in others:
        differences += _compare_pair(ref_name, ref, name, other, sort_by, tolerance)
    return differences


def _compare_pair(a_name: str, a: pa.Table, b_name: str, b: pa.Table, sort_by: Sequence[str], tol: float) -> list[str]:
    out = []
    if a.column_names != b.column_names:
        only_a = [c for c in a.column_names if c not in b.column_names]
        only_b = [c for c in b.column_names if c not in a.column_names]
        if only_a or only_b:
            out.append(f"columns differ: only on {a_name} {only_a}, only on {b_name} {only_b}")
        else:
            out.append(f"column order differs: {a_name} {a.column_names}, {b_name} {b.column_names}")
    common = [c for c in a.column_names if c in b.column_names]
    for col in common:
        ta, tb = _plain(a.schema.field(col).type), _plain(b.schema.field(col).type)
        if ta != tb:
            out.append(f"column {col!r} type differs: {ta} on {a_name}, {tb} on {b_name}")
    if a.num_rows != b.num_rows:
        out.append(f"row count differs: {a.num_rows} on {a_name}, {b.num_rows} on {b_name}")
    keys = [c for c in sort_by if c in common] + [c for c in common if c not in sort_by]
    rows_a, rows_b = _sorted_rows(a, keys), _sorted_rows(b, keys)
    differing = [
        (i, ra, rb) for i, (ra, rb) in enumerate(zip(rows_a, rows_b)) if not _equal(ra, rb, tol)
    ]
    if differing:
        out.append(f"{len(differing)} of {min(len(rows_a), len(rows_b))} sorted rows differ; first ones:")
        context = [c for c in sort_by if c in common]
        for i, ra, rb in differing[:MAX_ROWS_SHOWN]:
            where = _short({c: ra[c] for c in context} if context else ra, 300)
            cols = "; ".join(
                f"{c!r} is {_short(ra[c])} on {a_name}, {_short(rb[c])} on {b_name}"
                for c in keys
                if not _equal(ra[c], rb[c], tol)
            )
            out.append(f"row {i} {where}: {cols}")
    return out


def _plain(t: pa.DataType) -> pa.DataType:
    """The type with nested fields made nullable and unnamed: engines infer nullability differently."""
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain(f.type)) for f in t])
    if pa.types.is_map(t):
        return pa.map_(_plain(t.key_type), _plain(t.item_type))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_plain(t.value_type))
    return t


def _sorted_rows(table: pa.Table, keys: list[str]) -> list[dict[str, Any]]:
    rows = table.select(keys).to_pylist()
    return sorted(rows, key=lambda r: tuple(_key(r[k]) for k in keys))


def _key(value: Any) -> tuple[Any, ...]:
    """A total order over one column's values: nulls last, NaN before them, nested values element-wise."""
    if value is None:
        return (2,)
    if isinstance(value, float) and math.isnan(value):
        return (1,)
    if isinstance(value, dict):
        return (0, tuple((k, _key(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (0, tuple(_key(v) for v in value))
    return (0, value)


def _equal(a: Any, b: Any, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k], tol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        try:
            fa, fb = float(a), float(b)
        except (TypeError, ValueError):
            return False
        return (math.isnan(fa) and math.isnan(fb)) or math.isclose(fa, fb, rel_tol=tol, abs_tol=tol)
    return a == b


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- subprocess side --------------------------------------------------------------------------
def _serve(engine_name: str, workdir: Path) -> int:
    """Start one engine, run every case of the manifest on it, always stop it."""
    from lakehouse.core.engine import start_engine
    from lakehouse.core.settings import load_settings

    manifest = pickle.loads((workdir / "manifest.pkl").read_bytes())
    settings = load_settings(
        "local", engine=engine_name, storage_root=workdir / f"warehouse_{engine_name}", shuffle_partitions=2
    )
    try:
        engine = start_engine(settings)
    except EngineError as exc:
        (workdir / f"{engine_name}.engine_error").write_text(str(exc))
        return ENGINE_START_FAILED
    try:
        for i, case in enumerate(manifest):
            _run_case(engine.spark, case, workdir / str(i), engine_name)
    finally:
        engine.stop()
    return 0


def _run_case(spark: Any, case: dict[str, Any], folder: Path, engine_name: str) -> None:
    try:
        frames = {
            key: _read_input(spark, folder / f"input_{key}.parquet", case["schemas"].get(key)) for key in case["inputs"]
        }
        result = _resolve(case["func"])(**frames, **case["kwargs"])
        if not hasattr(result, "toArrow"):
            raise TypeError(f"{case['func']} returned {type(result).__name__}, not a DataFrame")
        pq.write_table(result.toArrow(), folder / f"{engine_name}.parquet")
    except Exception as exc:  # noqa: BLE001 - the failure is the case's result, reported by the parent
        message = "\n".join(str(exc).strip().splitlines()[:6])[:1500]
        (folder / f"{engine_name}.error").write_text(f"{type(exc).__name__}: {message}")


def _read_input(spark: Any, path: Path, ddl: str | None) -> Any:
    from pyspark.sql import functions as F

    df = spark.read.parquet(str(path))
    if ddl is None:
        return df
    schema = spark.createDataFrame([], ddl).schema
    if sorted(schema.names) != sorted(df.columns):
        raise ValueError(f"schema {ddl!r} does not name exactly the input's columns {df.columns}")
    return df.select(*[F.col(f"`{f.name}`").cast(f.dataType).alias(f.name) for f in schema.fields])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the parity cases of a work directory on one engine.")
    parser.add_argument("--engine", required=True, choices=["sail", "classic"])
    parser.add_argument("--workdir", required=True, type=Path)
    args = parser.parse_args(argv)
    return _serve(args.engine, args.workdir)


if __name__ == "__main__":
    sys.exit(main())
