"""Mutation testing of the critical modules: would the tests catch a small, realistic bug in each?

Tool: cosmic-ray (pinned below, installed into the venv on demand; not a project dependency). Each mutant
is one small edit of one module (a comparison flipped, `and` -> `or`, a constant changed, a loop that
never runs, ...); the module's relevant test files run against it in a fresh process, and a mutant the
tests do not fail on "survives". Why cosmic-ray: it runs every mutant's tests in a new process (the
engine is an embedded Rust server with its own threads, which a fork-per-mutant tool such as mutmut 3
would inherit half-dead), needs no trampolines or importable `mutants/` layout, and keeps a session
database. Everything runs in a private copy of the work tree (cosmic-ray edits files in place; other
people's test runs must never see a mutant).

Configuration: `[tool.cosmic-ray]` in pyproject.toml: the module -> test files mapping (optionally a
`-k` expression), the operators left out, the per-mutant timeout. Surviving mutants that cannot change
behaviour are listed in EQUIVALENT below with a reason; a survivor of the previous recorded run that the
tests now kill is reported as killed by the test that failed.

    .venv/bin/python benchmarks/mutation.py [MODULE ...] [--minutes 20] [--work DIR] [--survivors]
    make mutation MODULES="quality/event_checks.py ml/registry.py"

`--survivors` runs only the mutants the previous recorded run left surviving or not run (after new tests:
minutes instead of the whole module again) and keeps that run's other outcomes; it refuses a module whose
source changed since that run (the mutants would not be the same).

Writes benchmarks/results/mutation.md (and mutation.json, the data it is rendered from; modules not run
keep their previous results).
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TOOL = "cosmic-ray==8.7.0"
PYTHON = sys.executable

# (module, operator, mutated line) -> why the mutant cannot change behaviour. The mutated line is the
# '+' line of the mutant's diff, stripped ("removed: <line>" when the mutant only removes one). Keep reasons to one line.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("quality/event_checks.py", "ReplaceComparisonOperator_Eq_GtE", 'if event["event_type"] >= "update_progress":'):
        "only flow_progress and update_progress events are read, and 'flow_progress' < 'update_progress'",
    ("quality/event_checks.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def read_summary(store: TableStore, pipeline: str, since: datetime & None = None) -> ExpectationSummary:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/registry.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def decide(challenger: dict[str, float], champion: dict[str, float] & None, gate: GateSettings) -> GateDecision:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/registry.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     'def decide(challenger: dict[str, float], champion: dict[str, float] & None, gate: GateSettings, sample: HeldOut,'):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/registry.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     'interval: Interval & None = None) -> GateDecision:'):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/registry.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     'def recorded_decision(tags: Mapping[str, str], metrics: Mapping[str, float]) -> GateDecision & None:'):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/registry.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     'settings: GateSettings, top_k_percent: float, customers: np.ndarray & None = None) -> GateDecision:'):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/registry.py", "ReplaceComparisonOperator_Eq_GtE",
     'None if champion >= "none" else champion, outcome, sample, interval)'):
        "the tag holds a version number (digits, which sort before letters) or 'none': >= 'none' is == 'none'",
    ("ml/registry.py", "NumberReplacer",
     'number(uc_tags.GATE_UPPER), number(uc_tags.GATE_CONFIDENCE), 1, tags.get(uc_tags.GATE_METHOD, ""))'):
        "a recorded interval's resamples is never read (only a fresh decision is tagged; the method tag carries the count)",
    ("ml/registry.py", "NumberReplacer",
     'number(uc_tags.GATE_UPPER), number(uc_tags.GATE_CONFIDENCE), -1, tags.get(uc_tags.GATE_METHOD, ""))'):
        "a recorded interval's resamples is never read (only a fresh decision is tagged; the method tag carries the count)",
    ("ml/registry.py", "ReplaceBinaryOperator_BitOr_BitAnd", "def current_version(client: Any, name: str, alias: str) -> Any & None:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/registry.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"):
        "nothing assigns to a GateDecision's fields (the gate rebuilds it with dataclasses.replace)",
    ("ml/registry.py", "ReplaceComparisonOperator_Eq_GtE",
     'outcome = ("promoted" if decision.promote else "held") if settings.mode >= "enabled" else ('):
        "mode is validated to 'enabled' or 'dry-run', and 'dry-run' < 'enabled': >= is == here",
    ("ml/registry.py", "ReplaceComparisonOperator_Eq_GtE", 'if decision.promote and settings.mode >= "enabled":'):
        "mode is validated to 'enabled' or 'dry-run', and 'dry-run' < 'enabled': >= is == here",
    ("ml/training/split.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"):
        "nothing assigns to a TimeSplit's fields",
    ("ml/training/split.py", "ReplaceBinaryOperator_BitOr_BitAnd", "def part_of(self, day: date) -> str & None:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("quality/results.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"): "nothing assigns to a result's fields",
    ("quality/results.py", "ReplaceComparisonOperator_Eq_LtE", 'return self.severity if self.outcome <= "failed" else "ok"'):
        "an outcome is 'passed', 'failed' or 'skipped', and only 'failed' sorts <= 'failed'",
    ("quality/results.py", "ReplaceComparisonOperator_Eq_LtE",
     'return sorted((c for c in self.checks if c.outcome <= "failed"), key=lambda c: -LEVELS.index(c.level))'):
        "an outcome is 'passed', 'failed' or 'skipped', and only 'failed' sorts <= 'failed'",
    ("quality/results.py", "ReplaceUnaryOperator_USub_Invert",
     'return sorted((c for c in self.checks if c.outcome == "failed"), key=lambda c: ~LEVELS.index(c.level))'):
        "~i = -i - 1 orders the levels exactly as -i",
    ("quality/results.py", "ReplaceBinaryOperator_BitOr_BitAnd", "rows: dict[str, int & None]"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("quality/results.py", "NumberReplacer", "duration_s: float = 1.0"):
        "validate() sets duration_s before anything reads it",
    ("quality/results.py", "NumberReplacer", "duration_s: float = -1.0"):
        "validate() sets duration_s before anything reads it",
    ("quality/results.py", "NumberReplacer", "return json.dumps(self.to_dict(), indent= 3, default=str, allow_nan=False)"):
        "whitespace of the JSON report only (every reader parses it)",
    ("quality/results.py", "NumberReplacer", "return json.dumps(self.to_dict(), indent= 1, default=str, allow_nan=False)"):
        "whitespace of the JSON report only (every reader parses it)",
    ("quality/drift/predictions.py", "ReplaceOrWithAnd",
     "if current_frame is None and reference_frame is None:  # both or neither: there is no predictions table"):
        "both frames come from one table's existence check (scored() returns None only without the table): both are "
        "None or neither",
    ("quality/drift/predictions.py", 'ReplaceBinaryOperator_BitOr_BitAnd', 'def scored(store: TableStore, cfg: DriftSettings, window: Window) -> DataFrame & None:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("quality/drift/predictions.py", 'ReplaceBinaryOperator_BitOr_BitAnd', 'reference: Window) -> tuple[tuple[ColumnDrift, Any] & None, str | None]:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("quality/drift/predictions.py", 'ReplaceBinaryOperator_BitOr_BitAnd', 'reference: Window) -> tuple[tuple[ColumnDrift, Any] | None, str & None]:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("quality/drift/predictions.py", 'ReplaceBinaryOperator_BitOr_BitAnd', 'def performance(store: TableStore, settings: Settings, cfg: DriftSettings, current: Window, data_through: Any) -> tuple[dict[str, Any] & None, str | None]:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("quality/drift/predictions.py", 'ReplaceBinaryOperator_BitOr_BitAnd', 'def performance(store: TableStore, settings: Settings, cfg: DriftSettings, current: Window, data_through: Any) -> tuple[dict[str, Any] | None, str & None]:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("quality/drift/predictions.py", 'NumberReplacer', 'if frames[ 1] is None:'):
        'both windows read the same predictions table: one frame is None exactly when the other is',
    ("quality/drift/predictions.py", 'NumberReplacer', 'if frames[ -1] is None:'):
        'both windows read the same predictions table: one frame is None exactly when the other is',
    ("quality/drift/predictions.py", 'NumberReplacer', 'found = read_results(snapshot, types).columns[ -1]'):
        'a report of one column: [0] and [-1] are the same',
    ("lakehouse/local/ingest/files.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def __init__(self, checkpoint_dir: str & os.PathLike[str]) -> None:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/ingest/files.py", "ReplaceBinaryOperator_BitOr_BitAnd", "landing: str & os.PathLike[str],"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/ingest/files.py", "ReplaceBinaryOperator_BitOr_BitAnd", "through: date & None = None,"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/ingest/files.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def ingested_after(self, moment: datetime & None) -> list[str]:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/ingest/files.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def list_files(landing: str & os.PathLike[str], source: str, ext: str, *, through: date | None = None) -> list[str]:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/ingest/files.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def list_files(landing: str | os.PathLike[str], source: str, ext: str, *, through: date & None = None) -> list[str]:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/ingest/files.py", "ReplaceBinaryOperator_Mul_Div", "/,"):
        "keyword-only marker made positional-only: every caller passes the first arguments by position, `through` by name",
    ("lakehouse/local/ingest/files.py", "ReplaceBinaryOperator_Mul_Div",
     "def list_files(landing: str | os.PathLike[str], source: str, ext: str, /, through: date | None = None) -> list[str]:"):
        "keyword-only marker made positional-only: every caller passes the first arguments by position, `through` by name",
    ("lakehouse/local/ingest/files.py", "ReplaceComparisonOperator_Eq_LtE",
     'return sorted(p for p, e in self._load().items() if e["state"] <= "ingested")'):
        "a state is 'pending' or 'ingested', and only 'ingested' sorts <= 'ingested'",
    ("lakehouse/local/ingest/files.py", "ReplaceComparisonOperator_Eq_LtE",
     'if e["state"] <= "ingested" and (moment is None or datetime.fromisoformat(e["ingested_at"]) > moment))'):
        "a state is 'pending' or 'ingested', and only 'ingested' sorts <= 'ingested'",
    ("lakehouse/local/ingest/files.py", "ReplaceComparisonOperator_Eq_GtE",
     'pending = sorted(p for p, e in state.items() if e["state"] >= "pending")'):
        "a state is 'pending' or 'ingested', and only 'pending' sorts >= 'pending'",
    ("lakehouse/local/ingest/files.py", "NumberReplacer",
     'json.dump({"version": 0, "files": files}, out, indent=1, sort_keys=True)'):
        "nothing reads the state file's version field (there is one format)",
    ("lakehouse/local/ingest/files.py", "NumberReplacer",
     'json.dump({"version": 2, "files": files}, out, indent=1, sort_keys=True)'):
        "nothing reads the state file's version field (there is one format)",
    ("lakehouse/local/ingest/files.py", "NumberReplacer",
     'json.dump({"version": 1, "files": files}, out, indent= 0, sort_keys=True)'):
        "layout of a file that is only ever parsed as JSON",
    ("lakehouse/local/ingest/files.py", "NumberReplacer",
     'json.dump({"version": 1, "files": files}, out, indent= 2, sort_keys=True)'):
        "layout of a file that is only ever parsed as JSON",
    ("lakehouse/local/ingest/files.py", "ReplaceTrueWithFalse",
     'json.dump({"version": 1, "files": files}, out, indent=1, sort_keys=False)'):
        "key order of a file that is only ever parsed as JSON",
    ("lakehouse/platform/sources.py", "ReplaceBinaryOperator_BitOr_BitAnd", "def drop_date(path: str) -> date & None:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/platform/sources.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def recompute_window(spark: Any, late_days: int) -> DateWindow & None:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/platform/sources.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"):
        "nothing assigns to or hashes a DateWindow (gold.py only reads its fields)",
    ("lakehouse/local/dlt_runtime/expectations.py", "ReplaceComparisonOperator_Is_LtE",
     "drop_rules = {n: c for n, c in rules.items() if actions[n] <= Action.DROP}"):
        "an action is 'warn', 'drop' or 'fail' (a str enum), and only 'drop' sorts <= 'drop'",
    ("lakehouse/local/dlt_runtime/expectations.py", "ReplaceComparisonOperator_Is_Eq",
     "drop_rules = {n: c for n, c in rules.items() if actions[n] == Action.DROP}"):
        "enum members are singletons: == and is agree",
    ("lakehouse/local/dlt_runtime/expectations.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"):
        "nothing assigns to a Checked's fields",
    ("lakehouse/local/dlt_runtime/checkpoints.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def committed_at(self, flow: str) -> datetime & None:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/dlt_runtime/checkpoints.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"):
        "nothing assigns to or hashes a Position",
    ("lakehouse/local/dlt_runtime/checkpoints.py", "ReplaceFalseWithTrue",
     'return Checkpoint(inputs=inputs, once_done=bool(data.get("once_done", True)))'):
        "save always writes once_done: no stored checkpoint lacks it",
    ("lakehouse/local/dlt_runtime/checkpoints.py", "NumberReplacer", "tmp.write_text(json.dumps(data, indent= 3))"):
        "layout of a file that is only ever parsed as JSON",
    ("lakehouse/local/dlt_runtime/checkpoints.py", "NumberReplacer", "tmp.write_text(json.dumps(data, indent= 1))"):
        "layout of a file that is only ever parsed as JSON",
    ("lakehouse/local/dlt_runtime/checkpoints.py", "ReplaceTrueWithFalse",
     "digest = hashlib.sha256(json.dumps(_as_dict(checkpoint), sort_keys=False, default=str).encode()).hexdigest()"):
        "_as_dict builds its keys in a fixed order (inputs sorted): the token stays deterministic, only its value differs",
    ("lakehouse/local/dlt_runtime/checkpoints.py", "NumberReplacer", 'return f"lakehouse-flow:{flow}:{digest[: 25]}"'):
        "a token is only compared with tokens of the same code; 25 hex digits identify an increment as well as 24",
    ("lakehouse/local/dlt_runtime/checkpoints.py", "NumberReplacer", 'return f"lakehouse-flow:{flow}:{digest[: 23]}"'):
        "a token is only compared with tokens of the same code; 23 hex digits identify an increment as well as 24",
    ("ml/feature_store/pit.py", "ReplaceBinaryOperator_BitOr_BitAnd", "def as_of_date(instant: Column & str) -> Column:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/feature_store/pit.py", "ReplaceComparisonOperator_GtE_Gt",
     'renamed = renamed.where(F.col(as_of) > F.lit(bounds["lo"] - lookback - timedelta(days=1)))'):
        "the pruning bound has a day of slack: every row a lookback can reach (t >= lo - lookback) passes > as >=",
    ("ml/feature_store/pit.py", "ReplaceBinaryOperator_BitOr_BitAnd", "lookback: timedelta & None = None,"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/feature_store/pit.py", "ReplaceBinaryOperator_Mul_Div", "/,"):
        "keyword-only marker made positional-only: every caller passes spine and table by position, the rest by name",
    ("ml/feature_store/pit.py", "ReplaceComparisonOperator_Eq_LtE",
     "last_seen = F.last(F.when(F.col(_PROBE) <= 0, F.col(as_of)), ignorenulls=True).over(ordered)"):
        "_PROBE is 0 (a table row) or 1 (a probe): <= 0 is == 0",
    ("ml/feature_store/pit.py", "ReplaceComparisonOperator_Eq_GtE",
     "earlier = events.select(*keys, as_of, last_seen.alias(_MATCH)).where(F.col(_PROBE) >= 1)"):
        "_PROBE is 0 (a table row) or 1 (a probe): >= 1 is == 1",
    ("ml/feature_store/pit.py", "ReplaceComparisonOperator_GtE_NotEq",
     'renamed = renamed.where(F.col(as_of) != F.lit(bounds["lo"] - lookback - timedelta(days=1)))'):
        "a pruning filter: the rows it keeps still include every one a lookback reaches (only more rows are read)",
    ("ml/feature_store/pit.py", "NumberReplacer",
     'renamed = renamed.where(F.col(as_of) >= F.lit(bounds["lo"] - lookback - timedelta(days= 0)))'):
        "a pruning filter: without its slack day it still keeps every row a lookback reaches (t >= lo - lookback)",
    ("ml/feature_store/pit.py", "NumberReplacer",
     'renamed = renamed.where(F.col(as_of) >= F.lit(bounds["lo"] - lookback - timedelta(days= 2)))'):
        "a pruning filter: a looser bound keeps every row the tighter one keeps (only more rows are read)",
    ("ml/training/dataset.py", "ReplaceComparisonOperator_Eq_GtE", 'if cfg.incomplete_windows >= "include":'):
        "incomplete_windows is validated to 'exclude' or 'include', and only 'include' sorts >= 'include'",
    ("ml/training/dataset.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"):
        "nothing assigns to or hashes a TrainingData (training only reads its fields)",
    ("ml/training/dataset.py", "ReplaceUnaryOperator_Invert_USub",
     '"incomplete_rows": int((-frame[COMPLETE.name].astype(bool)).sum()),'):
        "pandas negates a boolean Series as it inverts it: -s is ~s",
    ("ml/training/dataset.py", "ReplaceComparisonOperator_Eq_LtE",
     'if cfg.incomplete_windows <= "exclude":  # a stale lookup may still reach an incomplete row'):
        "incomplete_windows is validated to 'exclude' or 'include', and only 'exclude' sorts <= 'exclude'",
    ("ml/training/dataset.py", "ReplaceTrueWithFalse",
     'frame = frame.sort_values([AS_OF, ENTITY_KEY], kind="stable", ignore_index=False)  # Spark\'s order is not stable'):
        "the frame's index is never read: parts are selected by boolean masks and fitted by position",
    ("lakehouse/core/settings.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def load_settings(env: str & None = None, conf_dir: Path = CONF_DIR, **overrides: Any) -> Settings:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/core/settings.py", "ReplaceTrueWithFalse",
     'env_prefix="LAKEHOUSE_", env_nested_delimiter="__", extra="forbid", validate_default=False'):
        "every default is valid as written and pydantic copies model defaults either way; given values are validated",
    ("lakehouse/core/settings.py", "ReplaceFalseWithTrue", "return _FILE_VALUES.get().get(field_name), field_name, True"):
        "get_field_value is never called: the source's __call__ returns the file's values itself",
    ("lakehouse/core/settings.py", "NumberReplacer", "shuffle_partitions: int = Field( 5, gt=0)"):
        "the engine's shuffle parallelism: the same rows with 5 partitions as with 4, only the speed differs",
    ("lakehouse/core/settings.py", "NumberReplacer", "shuffle_partitions: int = Field( 3, gt=0)"):
        "the engine's shuffle parallelism: the same rows with 3 partitions as with 4, only the speed differs",
    ("lakehouse/core/settings.py", "RemoveDecorator", "removed: @classmethod"):
        "@classmethod under @field_validator: pydantic makes a validator whose first argument is cls a class method itself",
    ("lakehouse/core/job_settings.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def column_method(self, column: str, categorical: bool) -> tuple[str, float & None]:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/scoring.py", "NumberReplacer",
     "CHUNK_ROWS = 32767  # rows per predict_proba call: Sail hands out 8,192-row batches, and each call has a fixed cost"):
        "rows per predict_proba call: each row's probability is its own, only the number of calls differs",
    ("ml/scoring.py", "NumberReplacer",
     "CHUNK_ROWS = 32769  # rows per predict_proba call: Sail hands out 8,192-row batches, and each call has a fixed cost"):
        "rows per predict_proba call: each row's probability is its own, only the number of calls differs",
    ("ml/scoring.py", "NumberReplacer",
     "incomplete_rows: int = 1  # feature rows with incomplete windows: scored and flagged, or left out (settings)"):
        "score() always passes incomplete_rows; the default is never used",
    ("ml/scoring.py", "NumberReplacer", 'with threadpool_limits(limits= 2, user_api="openmp"):'):
        "native threads per batch: the same predictions, only the speed differs",
    ("ml/scoring.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"):
        "nothing assigns to or hashes a Champion or a ScoringResult",
    ("ml/scoring.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def score(spark: Any, settings: Settings, run_date: date & None = None) -> ScoringResult:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/scoring.py", "ReplaceComparisonOperator_Eq_LtE", 'if cfg.incomplete_windows <= "exclude":'):
        "incomplete_windows is validated to 'exclude' or 'include', and only 'exclude' sorts <= 'exclude'",
    ("ml/scoring.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def predict(df: DataFrame, model: Any, columns: list[str], complete: Column & None = None) -> DataFrame:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("ml/scoring.py", "ReplaceComparisonOperator_Eq_GtE",
     '"scored and flagged (features_complete false)" if cfg.incomplete_windows >= "include" else "left out")'):
        "incomplete_windows is validated to 'exclude' or 'include', and only 'include' sorts >= 'include'",
    ("quality/drift/job.py", "ReplaceComparisonOperator_Eq_LtE", 'drifted = status <= "missing_in_current"'):
        "status is one of missing_in_table/missing_in_current/missing_in_reference, and only missing_in_current sorts <= it",
    ("quality/drift/job.py", "ReplaceComparisonOperator_Eq_LtE", 'if cfg.reference <= "champion":'):
        "reference is validated to 'champion' or 'previous_month', and only 'champion' sorts <= 'champion'",
    ("quality/drift/job.py", "NumberReplacer",
     """f"(missing {', '.join(missing)}){'; ' + left_out[ -1] if left_out else ''}; \""""):
        "Coverage.incomplete_warnings() returns at most one warning: [0] and [-1] are the same",
    ("quality/drift/job.py", "NumberReplacer",
     '+ (f" with complete windows: {left_out[ -1]} (drift.incomplete_windows=include compares "'):
        "Coverage.incomplete_warnings() returns at most one warning: [0] and [-1] are the same",
    ("quality/drift/job.py", "NumberReplacer",
     '"the month with" + (f" ({found.incomplete_warnings()[ -1]})" if found.incomplete else ""))'):
        "Coverage.incomplete_warnings() returns at most one warning: [0] and [-1] are the same",
    ("quality/drift/job.py", "NumberReplacer",
     "data_through = frame.agg(F.max(TIMESERIES_KEY)).collect()[0][ -1]  # a global aggregate: one row"):
        "a one-column aggregate: [0] and [-1] are the same value",
    ("quality/drift/job.py", "NumberReplacer",
     "data_through = frame.agg(F.max(TIMESERIES_KEY)).collect()[ -1][0]  # a global aggregate: one row"):
        "a global aggregate has one row: [0] and [-1] are the same row",
    ("quality/drift/job.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "warnings: list[str], complete: str & None = None) -> Coverage:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("quality/drift/job.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def detect_drift(spark: Any, settings: Settings, month: date & None = None, config: DriftSettings | None = None,"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("quality/drift/job.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def detect_drift(spark: Any, settings: Settings, month: date | None = None, config: DriftSettings & None = None,"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("quality/drift/job.py", "ReplaceBinaryOperator_BitOr_BitAnd", "publisher: Publisher & None = None) -> DriftResult:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("quality/drift/result.py", "ReplaceComparisonOperator_Eq_LtE",
     '"columns": [asdict(c) for c in self.columns if c.kind <= "feature"],'):
        "a column's kind is 'feature' or 'prediction', and only 'feature' sorts <= 'feature'",
    ("quality/drift/result.py", "ReplaceComparisonOperator_Eq_GtE",
     'return next((c for c in self.columns if c.kind >= "prediction"), None)'):
        "a column's kind is 'feature' or 'prediction', and only 'prediction' sorts >= 'prediction'",
    ("quality/drift/result.py", "NumberReplacer",
     "return json.dumps(self.to_dict(), indent= 3, default=str, allow_nan=False)"):
        "whitespace of summary.json only (every reader parses it)",
    ("quality/drift/result.py", "NumberReplacer",
     "return json.dumps(self.to_dict(), indent= 1, default=str, allow_nan=False)"):
        "whitespace of summary.json only (every reader parses it)",
    ("quality/drift/result.py", "ReplaceComparisonOperator_Eq_LtE",
     'return [c.column for c in self.columns if c.drifted and c.kind <= "feature"]'):
        "a column's kind is 'feature' or 'prediction', and only 'feature' sorts <= 'feature'",
    ("quality/drift/result.py", "NumberReplacer", "duration_s: float = 1.0"):
        "detect_drift sets duration_s before anything reads it",
    ("quality/drift/result.py", "ReplaceComparisonOperator_Eq_LtE",
     'return sum(c.kind <= "feature" and c.status in ("evaluated", "missing_in_current") for c in self.columns)'):
        "a column's kind is 'feature' or 'prediction', and only 'feature' sorts <= 'feature'",
    ("quality/drift/result.py", "ReplaceBinaryOperator_BitOr_BitAnd", "def prediction(self) -> ColumnDrift & None:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("quality/drift/result.py", "NumberReplacer", "duration_s: float = -1.0"):
        "detect_drift sets duration_s before anything reads it",
    ("ml/scoring.py", "NumberReplacer", "latest = df.agg(F.max(dated_by)).first()[ -1]"):
        "a one-column aggregate: [0] and [-1] are the same value",
    ("ml/scoring.py", "NumberReplacer", 'with threadpool_limits(limits= 0, user_api="openmp"):'):
        "native threads per batch: the same predictions, only the speed differs",
    ("ml/scoring.py", "NumberReplacer",
     "incomplete_rows: int = -1  # feature rows with incomplete windows: scored and flagged, or left out (settings)"):
        "score() always passes incomplete_rows; the default is never used",
    ("ml/scoring.py", "NumberReplacer", "if rows.limit( 2).count() == 0:"):
        "an emptiness check: a limit of 2 rows is empty exactly when a limit of 1 is",
    ("ml/scoring.py", "ReplaceComparisonOperator_Eq_LtE", "if rows.limit(1).count() <= 0:"):
        "a count is never negative: <= 0 is == 0",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "ReplaceComparisonOperator_Eq_LtE", "if file.bytes <= 0:"):
        "a file's size is never negative: <= 0 is == 0",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "ReplaceBinaryOperator_BitOr_BitAnd", "def load(self, path: str & None = None) -> Any:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "ReplaceBinaryOperator_BitOr_BitAnd", "def _listing(root: Path, through: str & None) -> list[str]:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "ReplaceBinaryOperator_BitOr_BitAnd", "def _delta_version(table_dir: Path & None) -> int:"):
        "an annotation, never evaluated (from __future__ import annotations)",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "ReplaceComparisonOperator_Eq_LtE", "if table.num_rows <= 0:"):
        "a row count is never negative: <= 0 is == 0",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "ReplaceComparisonOperator_Eq_GtE", 'if fmt >= "parquet":'):
        "_format validated fmt to 'csv', 'json' or 'parquet', and only 'parquet' sorts >= 'parquet'",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "AddNot",
     "if not TYPE_CHECKING:  # pyarrow loads when files are ingested, not where only the names below are read"):
        "imports at module load the names only annotations use (never evaluated): pyarrow loads earlier, nothing else changes",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "ReplaceTrueWithFalse", "shutil.rmtree(staging, ignore_errors=False)"):
        "commit runs after to_spark wrote its file into `staging` in the same call, and nothing removes it before: it always exists",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "NumberReplacer", "if table.num_rows == -1:"):
        "a shortcut only: the general path builds the same empty `_metadata` struct column from 0 rows (checked by hand)",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "ReplaceComparisonOperator_Eq_Lt", "if table.num_rows < 0:"):
        "a shortcut only: the general path builds the same empty `_metadata` struct column from 0 rows (checked by hand)",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "NumberReplacer",
     'digest = hashlib.sha256(str(request.options["path"]).encode()).hexdigest()[: 13]'):
        "a stream folder's name: 13 hex digits key a path as well as 12; readers find the logs by search (platform/sources.py)",
    ("lakehouse/local/dlt_runtime/auto_loader.py", "NumberReplacer",
     'digest = hashlib.sha256(str(request.options["path"]).encode()).hexdigest()[: 11]'):
        "a stream folder's name: 11 hex digits key a path as well as 12; readers find the logs by search (platform/sources.py)",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceBinaryOperator_BitOr_BitAnd", 'def _merge(store: TableStore, table: str, source: Any, stored: list[str], spec: ChangeSpec, partitions: str & None) -> Applied | None:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceBinaryOperator_BitOr_BitAnd", 'def _merge_sql(table: str, view: str, stored: list[str], spec: ChangeSpec, partition_filter: str & None) -> str:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Eq_Lt", 'if checked.rows_in < checked.rows_dropped:'):
        'a shortcut only: an empty batch through the general path has no action rows, so appends and merges nothing, Applied(None, 0, 0, 0) as well',
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Eq_LtE", 'if checked.rows_in <= checked.rows_dropped:'):
        'rows dropped never exceed rows in: <= is ==',
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Eq_LtE", 'if int(last["version"]) <= before:'):
        "a table's latest version is never below an earlier one: <= is ==",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_LtE_NotEq", 'if dataset.partition_cols and set(dataset.partition_cols) != set(stored) and checked.kept_values:'):
        'partition columns are always stored columns, so != only differs for a table of nothing but partition columns, where it skips a pruning filter the MERGE is correct without',
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceTrueWithFalse", 'F.lit(False).alias("__stored"),'):
        "only the column's nullness after the left join is read, never its value",
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'last = store.history(table, limit= 2)[0]'):
        'history is newest first: [0] is the latest commit whatever the limit',
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'last = store.history(table, limit=1)[ -1]'):
        'a list of one commit: [0] and [-1] are the same',
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'deleted=metrics.get("numTargetRowsDeleted", 1),'):
        "Delta's MERGE always records numTargetRowsDeleted (0 when none; checked: an update-only MERGE reports 0 under this mutant)",
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'deleted=metrics.get("numTargetRowsDeleted", -1),'):
        "Delta's MERGE always records numTargetRowsDeleted (checked: delete-, update- and insert-only MERGEs record every numTarget* count)",
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'upserted=metrics.get("numTargetRowsInserted", 0) + metrics.get("numTargetRowsUpdated", 1),'):
        "Delta's MERGE always records numTargetRowsUpdated (checked: delete-, update- and insert-only MERGEs record every numTarget* count)",
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'upserted=metrics.get("numTargetRowsInserted", 0) + metrics.get("numTargetRowsUpdated", -1),'):
        "Delta's MERGE always records numTargetRowsUpdated (checked: delete-, update- and insert-only MERGEs record every numTarget* count)",
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'upserted=metrics.get("numTargetRowsInserted", 1) + metrics.get("numTargetRowsUpdated", 0),'):
        "Delta's MERGE always records numTargetRowsInserted (checked: delete-, update- and insert-only MERGEs record every numTarget* count)",
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'upserted=metrics.get("numTargetRowsInserted", -1) + metrics.get("numTargetRowsUpdated", 0),'):
        "Delta's MERGE always records numTargetRowsInserted (checked: delete-, update- and insert-only MERGEs record every numTarget* count)",
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'source_rows=metrics.get("numSourceRows", 1),'):
        "apply never reads the MERGE's source_rows (it counts the batch's actions itself)",
    ("lakehouse/local/dlt_runtime/cdc.py", "NumberReplacer", 'source_rows=metrics.get("numSourceRows", -1),'):
        "apply never reads the MERGE's source_rows (it counts the batch's actions itself)",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Eq_GtE", 'newer = latest.where(F.col(ACTION) >= MERGE).drop(ACTION)'):
        "an action is 'ignore', 'insert' or 'merge', and only 'merge' sorts >= 'merge'",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Eq_LtE", 'newer = latest.where(F.col(ACTION) <= MERGE).drop(ACTION)'):
        "the extra MERGE source rows match no clause: inserted rows are stored at the same sequence (not newer), ignored ones are not newer or unmatched deletes; the MERGE's source count is not read",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Gt_GtE", '.when(changes[f"`{spec.sequence_by}`"] >= found["__stored_sequence"], MERGE)'):
        "a change at the stored sequence sent to the MERGE matches no clause there (both need s.seq > t.seq): nothing changes, no commit, as when ignored",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Eq_LtE", '.filter(F.col(RANK) <= 1)'):
        "row_number starts at 1: <= 1 is == 1",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_NotEq_Lt", 'and f.dataType.typeName() < "variant"}'):
        "of Spark's type names only 'void' (all NULL: orders no tie) and 'yearmonthinterval' (Delta cannot store one: checked, so no target has it) sort after 'variant'",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceBinaryOperator_BitOr_BitAnd", 'def _merge(store: TableStore, table: str, source: Any, stored: list[str], spec: ChangeSpec, partitions: str | None) -> Applied & None:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceBinaryOperator_BitOr_BitAnd", 'def _partition_filter(dataset: Dataset, stored: list[str], checked: Checked, alias: str = "") -> str & None:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceTrueWithFalse", "@dataclass(frozen=False)"):
        "nothing assigns to or hashes an Applied (callers only read its fields)",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceFalseWithTrue", "reset: bool = True) -> Applied:"):
        "a default never used: apply's only caller (execution.py) always passes reset",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Gt_NotEq", '.when(changes[f"`{spec.sequence_by}`"] != found["__stored_sequence"], MERGE)'):
        "a change older than the stored one sent to the MERGE matches no clause there (both need s.seq > t.seq): nothing changes, as when ignored",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_Eq_Lt", 'if int(last["version"]) < before:'):
        "the MERGE only gets changes newer than their stored row, each updated or deleted: it always commits, so the version is never `before`",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceAndWithOr", 'if dataset.partition_cols and set(dataset.partition_cols) <= set(stored) or checked.kept_values:'):
        "kept_values are collected only for the partition columns (execution.py tracks them for auto CDC): empty without any, so `or` decides as `and`",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceAndWithOr", 'if dataset.partition_cols or set(dataset.partition_cols) <= set(stored) and checked.kept_values:'):
        "with partition columns (always stored), kept_values is never empty past the all-dropped shortcut: a kept row's value struct is collected",
    ("lakehouse/local/dlt_runtime/cdc.py", "ReplaceComparisonOperator_LtE_Lt", 'if dataset.partition_cols and set(dataset.partition_cols) < set(stored) and checked.kept_values:'):
        'partition columns are always stored columns, so < only differs for a table of nothing but partition columns, where it skips a pruning filter the MERGE is correct without',
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceFalseWithTrue", "staging_dir: Path, reset: bool = True) -> Applied:"):
        "a default never used: apply's only caller (execution.py) always passes reset",
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceFalseWithTrue", "log_dir: Path, staging_dir: Path, reset: bool = True, rebuild_empty: bool = False) -> Applied:"):
        "a default never used: both callers (apply, snapshots.apply) pass reset",
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceTrueWithFalse", "log_dir.parent.mkdir(parents=False, exist_ok=True)"):
        "the state folder exists here: the batch was just staged under it (staged() creates state_dir/staging/<flow> with its parents)",
    ("lakehouse/local/dlt_runtime/change_log.py", "NumberReplacer", 'return _rebuilt(log, replace(spec, scd_type= 0), stored, "")'):
        "_rebuilt only asks whether scd_type is 2: 0 takes the SCD type 1 branch as 1 does",
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceComparisonOperator_Eq_LtE", 'new = batch.withColumn(_RANK, F.row_number().over(first)).where(F.col(_RANK) <= 1).drop(_RANK)'):
        "row_number starts at 1: <= 1 is == 1",
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceComparisonOperator_Eq_GtE", "if spec.scd_type >= 2:"):
        "stored_as_scd_type is validated to 1 or 2 (api.py) and current() passes 1: >= 2 is == 2",
    ("lakehouse/local/dlt_runtime/change_log.py", "NumberReplacer", "store.overwrite(_rebuilt(events.limit( 1), spec, stored, target), table, partitions)"):
        "the rows written here are replaced by the rebuild whenever there are events, and without events limit(1) is empty too",
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceComparisonOperator_Eq_LtE", 'latest = changes.withColumn(_RANK, F.row_number().over(by_key)).where((F.col(_RANK) <= 1) & ~F.col(DELETE))'):
        "row_number starts at 1: <= 1 is == 1",
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceComparisonOperator_Eq_LtE", ".where(F.col(_RANK) <= 1)"):
        "row_number starts at 1: <= 1 is == 1",
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceComparisonOperator_Eq_LtE", 'new = new.join(seen, on & (new[TRUNCATE] <= seen[TRUNCATE]), "left_anti")'):
        "it only also drops a change sharing keys and sequence with a logged truncate, which that truncate removes anyway (a truncate wins its sequence; truncates are SCD type 1 only)",
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceComparisonOperator_Eq_GtE", 'return spec.scd_type >= 2 or spec.apply_as_truncates is not None or spec.sequence_by not in stored'):
        'stored_as_scd_type is validated to 1 or 2: >= 2 is == 2',
    ("lakehouse/local/dlt_runtime/change_log.py", "ReplaceComparisonOperator_Gt_NotEq", ').where(F.col(_VERSION) != 0)'):
        'a running sum of 0/1 flags is never negative: != 0 is > 0',
    ("lakehouse/local/dlt_runtime/snapshots.py", "ReplaceBinaryOperator_BitOr_BitAnd", 'def _pending(spec: ChangeSpec, read_source: Any, last: int & None, target: str) -> Iterator[tuple[Any, int]]:'):
        'an annotation, never evaluated (from __future__ import annotations)',
    ("lakehouse/local/dlt_runtime/snapshots.py", "ReplaceFalseWithTrue", "staging_dir: Path, reset: bool = True) -> Applied:"):
        "a default never used: apply's only caller (execution.py) always passes reset",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_Is_Eq",
     "if dataset.kind == Kind.MATERIALIZED_VIEW:  # recomputed plans: computed once for check and write"):
        "Kind is an Enum: == between its members is identity",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_IsNot_NotEq",
     "if result.status == COMPLETED and dataset.kind != Kind.VIEW:"):
        "Kind is an Enum: != between its members is `is not`",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_Eq_LtE",
     "if result.status <= COMPLETED and dataset.kind is not Kind.VIEW:"):
        "a flow's status here is 'COMPLETED' or 'FAILED', and only 'COMPLETED' sorts <= 'COMPLETED'",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_Is_GtE", "elif dataset.kind >= Kind.VIEW:"):
        "Kind is a str Enum of 'materialized_view', 'streaming_table', 'view': only 'view' sorts >= 'view'",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_Is_GtE", "append = dataset.kind >= Kind.STREAMING_TABLE"):
        "views returned above, the kind here is 'materialized_view' or 'streaming_table', and only the latter sorts >= it",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_Is_Eq", "elif dataset.kind == Kind.VIEW:"):
        "Kind is an Enum: == between its members is identity",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_Is_Eq", "append = dataset.kind == Kind.STREAMING_TABLE"):
        "Kind is an Enum: == between its members is identity",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_Is_LtE",
     "if dataset.kind <= Kind.MATERIALIZED_VIEW:  # recomputed plans: computed once for check and write"):
        "Kind is a str Enum of 'materialized_view', 'streaming_table', 'view': only 'materialized_view' sorts <= it",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceComparisonOperator_IsNot_Lt",
     "if result.status == COMPLETED and dataset.kind < Kind.VIEW:"):
        "Kind is a str Enum of 'materialized_view', 'streaming_table', 'view': every kind but 'view' sorts < 'view'",
    ("lakehouse/local/dlt_runtime/execution.py", "ReplaceBinaryOperator_BitOr_BitAnd",
     "def _increment(state: UpdateState, reader: ExecutionReader) -> Checkpoint & None:"):
        "an annotation, never evaluated (from __future__ import annotations)",
}


def load_config(path: Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        return tomllib.load(handle)["tool"]["cosmic-ray"]


def ensure_tool() -> None:
    """Install cosmic-ray into this venv when it is missing (kept out of the project's dependencies)."""
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        uv = ROOT / ".uv" / "bin" / "uv"
        installer = [str(uv), "pip", "install", "--python", PYTHON] if uv.exists() else [PYTHON, "-m", "pip", "install"]
        subprocess.run([*installer, TOOL], check=True)


def tool(name: str) -> str:
    return str(Path(PYTHON).parent / name)


def copy_tree(work: Path) -> Path:
    """The work tree's files (tracked and untracked, not ignored) copied to `work/tree`."""
    tree = work / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return tree


def test_command(spec: dict[str, Any]) -> list[str]:
    command = [PYTHON, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not classic", *spec["tests"]]
    if spec.get("k"):
        command += ["-k", spec["k"]]
    return command


def run_module(module: str, spec: dict[str, Any], cfg: dict[str, Any], work: Path, tree: Path,
               minutes: float, only: set[tuple[str, int]] | None = None) -> dict[str, Any]:
    """Baseline, then every mutant of `module` (those of `only`, (operator, occurrence), when given) until done or
    `minutes` have passed; returns the record."""
    env = {**os.environ, "PYTHONPATH": str(tree)}  # CLI subprocesses import the copy too
    command = shlex.join(test_command(spec))  # run as cosmic-ray will: shlex.split of this string
    started = time.monotonic()
    baseline = subprocess.run(shlex.split(command), cwd=tree, env=env, capture_output=True, text=True)
    baseline_s = time.monotonic() - started
    record: dict[str, Any] = {"module": module, "tests": spec["tests"], "k": spec.get("k"), "baseline_s": round(baseline_s, 1),
                              "run_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "mutants": [],
                              "module_sha": module_sha(tree / module)}
    if baseline.returncode != 0:
        record["error"] = "baseline failed: " + (baseline.stdout + baseline.stderr)[-1500:]
        return record
    timeout = max(float(cfg.get("min-timeout", 30)), float(cfg.get("timeout-factor", 3)) * baseline_s)
    name = re.sub(r"[^A-Za-z0-9]+", "_", module)
    config, session = work / f"{name}.toml", work / f"{name}.sqlite"
    session.unlink(missing_ok=True)
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module)}\n"
        f"timeout = {timeout:.0f}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n"
        "[cosmic-ray.distributor]\nname = \"local\"\n"
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(cfg.get('exclude-operators', []))}\n"
    )
    subprocess.run([tool("cosmic-ray"), "init", str(config), str(session)], cwd=tree, env=env, check=True)
    subprocess.run([tool("cr-filter-operators"), str(session), str(config)], cwd=tree, env=env, check=True)
    subprocess.run([tool("cr-filter-pragma"), str(session)], cwd=tree, env=env, check=True)  # `# pragma: no mutate`
    if only is not None:
        skip_others(session, only)
    remaining = max(minutes * 60 - (time.monotonic() - started), 1)
    process = subprocess.Popen([tool("cosmic-ray"), "exec", str(config), str(session)], cwd=tree, env=env,
                               start_new_session=True)
    try:
        process.wait(timeout=remaining)
    except subprocess.TimeoutExpired:  # time bound: what ran is recorded, the rest is reported as not run
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        record["stopped"] = f"time bound of {minutes:g} min reached"
        shutil.copy2(ROOT / module, tree / module)  # a killed exec may leave its mutant in the copy
    record["elapsed_s"] = round(time.monotonic() - started)
    dump = subprocess.run([tool("cosmic-ray"), "dump", str(session)], cwd=tree, env=env, check=True,
                          capture_output=True, text=True).stdout
    for line in filter(None, dump.splitlines()):
        item, result = json.loads(line)
        mutation = item["mutations"][0]
        entry = {"operator": mutation["operator_name"].removeprefix("core/"), "occurrence": mutation["occurrence"],
                 "line": mutation["start_pos"][0]}
        if result is None:
            entry["outcome"] = "not run"
        elif result["worker_outcome"] == "skipped":
            continue  # operator left out in the configuration, or a pragma
        elif result["worker_outcome"] != "normal":
            entry["outcome"] = "killed" if result["worker_outcome"] == "abnormal" else "error"
        else:
            entry["outcome"] = result["test_outcome"]  # killed / survived / incompetent
        if result and result.get("diff"):
            entry["before"], entry["after"] = _changed_lines(result["diff"])
        if result and entry["outcome"] == "killed":
            output = result.get("output") or ""
            failed = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", output, re.M)
            if output == "timeout" or failed:
                entry["killed_by"] = "timeout" if output == "timeout" else failed.group(1)
            else:  # the command failed without a failing test (usage error, no test collected): not a kill
                entry["outcome"], entry["output"] = "error", output[-500:]
        record["mutants"].append(entry)
    return record


def module_sha(path: Path) -> str:
    """A digest of what mutants are made of: the module's code without its imports, docstrings and comments, and
    without line numbers (no operator mutates those, so moving a module or rewording a docstring keeps the run's
    mutants, numbered per operator, the same)."""
    return code_digest(path.read_text())


def code_digest(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and isinstance(body, list):
            node.body = [s for s in body if not isinstance(s, (ast.Import, ast.ImportFrom))]
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
                    and isinstance(node.body[0].value.value, str):
                node.body = node.body[1:]
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def skip_others(session: Path, only: set[tuple[str, int]]) -> None:
    """Mark every pending mutant not in `only` as skipped, as cosmic-ray's own filters do."""
    from cosmic_ray.work_db import use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session)) as db:
        for item in list(db.pending_work_items):
            mutation = item.mutations[0]
            if (mutation.operator_name.removeprefix("core/"), mutation.occurrence) not in only:
                db.set_result(item.job_id, WorkResult(output="not rerun", worker_outcome=WorkerOutcome.SKIPPED))


def rerun_set(previous: dict[str, Any] | None, tree: Path, module: str) -> set[tuple[str, int]]:
    """The (operator, occurrence) of the previous run's survivors and mutants not run; refuses a changed module."""
    if not previous or previous.get("error"):
        raise SystemExit(f"{module}: no previous run to take the survivors of")
    if previous.get("module_sha") and previous["module_sha"] != module_sha(tree / module):
        raise SystemExit(f"{module} changed since its recorded run: run all its mutants again")
    return {(m["operator"], m["occurrence"]) for m in previous["mutants"] if m["outcome"] in ("survived", "not run")}


def merge_rerun(record: dict[str, Any], previous: dict[str, Any], only: set[tuple[str, int]]) -> dict[str, Any]:
    """The previous run's mutants with those rerun replaced by their new outcome."""
    kept = [m for m in previous["mutants"] if (m["operator"], m["occurrence"]) not in only]
    rerun = f"{len(only)} survivors / not run of the run at {previous['run_at']} rerun at {record['run_at']}"
    return {**record, "mutants": kept + record["mutants"], "rerun": rerun,
            "module_sha": previous.get("module_sha", record["module_sha"])}


def _changed_lines(diff: str) -> tuple[str, str]:
    lines = diff.splitlines()
    before = next((line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")), "")
    after = next((line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")), "")
    return before, after


def classify(module: str, mutant: dict[str, Any]) -> str:
    """equivalent / killed by a new test / open, for survivors and for former survivors."""
    key = (module, mutant["operator"], mutant.get("after") or f"removed: {mutant.get('before', '')}")
    if key in EQUIVALENT:
        return f"equivalent: {EQUIVALENT[key]}"
    if mutant["outcome"] == "killed":
        test = re.sub(r"\[.*", "[...]", str(mutant.get("killed_by")))  # parameters shortened
        return f"killed by new test `{test}`"
    return "open"


def _key(mutant: dict[str, Any]) -> tuple[Any, ...]:
    return mutant["operator"], mutant.get("before"), mutant.get("after")


def summarize(record: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Counts, score, and the survivors (plus former survivors now killed) with their classification."""
    module = record["module"]
    survived_before = {_key(m) for m in (previous or {}).get("mutants", []) if m["outcome"] == "survived"}
    survived_before |= {tuple(k) for k in (previous or {}).get("survived_first", [])}
    listed = []
    for mutant in record["mutants"]:
        if mutant["outcome"] == "survived" or (mutant["outcome"] == "killed" and _key(mutant) in survived_before):
            listed.append({**mutant, "classification": classify(module, mutant)})
    equivalent = sum(1 for m in listed if m["outcome"] == "survived" and m["classification"].startswith("equivalent"))
    counts = {o: sum(1 for m in record["mutants"] if m["outcome"] == o)
              for o in ("killed", "survived", "incompetent", "error", "not run")}
    judged = counts["killed"] + counts["survived"] - equivalent
    record["counts"] = {**counts, "equivalent": equivalent}
    record["score"] = round(100 * counts["killed"] / judged, 1) if judged else None
    # the score of the first recorded run, before the tests written against its survivors
    record["first_score"] = (previous or {}).get("first_score", (previous or record).get("score"))
    record["listed"] = listed
    # the first recorded survivors stay known, so later runs can say which new test killed them
    record["survived_first"] = sorted({*survived_before, *(_key(m) for m in record["mutants"] if m["outcome"] == "survived")},
                                      key=str)
    return record


def render(records: dict[str, dict[str, Any]], configured: list[str]) -> str:
    out = ["# Mutation testing", "",
           "`make mutation` (benchmarks/mutation.py, cosmic-ray): each mutant is one small edit of the module; the",
           "module's relevant tests (below) run against it. Score = killed / (killed + surviving non-equivalent).",
           "Survivors are classified: equivalent (cannot change behaviour, with the reason), killed by new test",
           "(survived an earlier recorded run, killed now), or open (a gap the tests still have). Errors (a mutant",
           "cosmic-ray could not apply) count neither way. Line numbers are those of the module when it ran.", "",
           "| module | tests | mutants | killed | survived | equivalent | not run | score | first run's score | baseline s "
           "| run time s | run at |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for module, r in sorted(records.items()):
        c = r.get("counts", {})
        tests = ", ".join(t.removeprefix("tests/") for t in r["tests"]) + (f" `-k {r['k']}`" if r.get("k") else "")
        score, first = ("-" if r.get(k) is None else f"{r[k]:.1f}%" for k in ("score", "first_score"))
        if (ROOT / module).exists() and r.get("module_sha") != module_sha(ROOT / module):
            score += " (code changed since: run it again)"
        out.append(f"| `{module}` | {tests} | {len(r['mutants'])} | {c.get('killed', 0)} | {c.get('survived', 0)} | "
                   f"{c.get('equivalent', 0)} | {c.get('not run', 0)} | {score} | {first} | {r['baseline_s']} | "
                   f"{r.get('elapsed_s', '-')} | {r['run_at']} |")
    waiting = [m for m in configured if m not in records]
    if waiting:
        out += ["", "Configured, not run yet: " + ", ".join(f"`{m}`" for m in waiting) + "."]
    for module, r in sorted(records.items()):
        out += ["", f"## `{module}`", ""]
        if r.get("error"):
            out += ["```", r["error"], "```"]
            continue
        if r.get("stopped"):
            out.append(f"Stopped early: {r['stopped']}; the mutants not run are counted as such.")
        if r.get("rerun"):
            out.append(f"Rerun: {r['rerun']} (`--survivors`).")
        if not r["listed"]:
            out.append("No surviving mutant.")
            continue
        out += ["| line | operator | mutated to | classification |", "|---:|---|---|---|"]
        for m in sorted(r["listed"], key=lambda m: (m["line"], m["operator"])):
            after = m.get("after", "").replace("|", "\\|")
            out.append(f"| {m['line']} | {m['operator']} | `{after}` | {m['classification']} |")
    return "\n".join(out) + "\n"


def save(store: Path, module: str, record: dict[str, Any], configured: list[str]) -> None:
    """Record one module's run: the file is read again under a lock, so runs of other modules in parallel
    (separate `--work` folders) keep theirs."""
    with open(store.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        records = json.loads(store.read_text()) if store.exists() else {}
        records[module] = record
        store.write_text(json.dumps(records, indent=1, default=str) + "\n")
        (RESULTS / "mutation.md").write_text(render(records, configured))


def main() -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path, default=ROOT / "pyproject.toml", help="TOML file with [tool.cosmic-ray]")
    known, _ = pre.parse_known_args()
    cfg = load_config(known.config)
    modules = cfg["modules"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], parents=[pre])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(modules)}")
    parser.add_argument("--minutes", type=float, default=float(cfg.get("minutes-per-module", 20)),
                        help="time bound per module (mutants not reached are reported as not run)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the private copy of the tree (default: one per process under $TMPDIR)")
    parser.add_argument("--survivors", action="store_true", help="run only the previous run's surviving and "
                        "not-run mutants, keeping its other outcomes")
    parser.add_argument("--render", action="store_true", help="only rewrite mutation.md from mutation.json "
                        "(after editing EQUIVALENT)")
    args = parser.parse_args()
    unknown = [m for m in args.modules if m not in modules]
    if unknown:
        parser.error(f"no [tool.cosmic-ray.modules] entry for {unknown}")
    store = RESULTS / "mutation.json"
    records = json.loads(store.read_text()) if store.exists() else {}
    if args.render:  # the classification of recorded mutants again, with the current EQUIVALENT
        records = {m: r if r.get("error") else summarize(r, r) for m, r in records.items()}
        store.write_text(json.dumps(records, indent=1, default=str) + "\n")
        (RESULTS / "mutation.md").write_text(render(records, list(modules)))
        return
    ensure_tool()
    own_work = args.work is None
    args.work = args.work or Path(os.environ.get("TMPDIR", "/tmp")) / f"lakehouse-mutation-{os.getpid()}"
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        run(args, cfg, store)
    finally:
        if own_work:
            shutil.rmtree(args.work, ignore_errors=True)


def run(args: argparse.Namespace, cfg: dict[str, Any], store: Path) -> None:
    """Every module asked for (all configured by default), one after the other, each recorded as it ends."""
    modules = cfg["modules"]
    records = json.loads(store.read_text()) if store.exists() else {}
    tree = copy_tree(args.work)
    for module in args.modules or list(modules):
        print(f"== {module}: {', '.join(modules[module]['tests'])}", flush=True)
        previous = records.get(module)
        only = rerun_set(previous, tree, module) if args.survivors else None
        record = run_module(module, modules[module], cfg, args.work, tree, args.minutes, only)
        if only is not None and not record.get("error"):
            record = merge_rerun(record, previous, only)
        record = summarize(record, previous)
        c = record.get("counts", {})
        print(f"   score {record.get('score')}% killed {c.get('killed')} survived {c.get('survived')} "
              f"(equivalent {c.get('equivalent')}) not run {c.get('not run')} in {record.get('elapsed_s')} s", flush=True)
        save(store, module, record, list(modules))


if __name__ == "__main__":
    main()
