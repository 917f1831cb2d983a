"""Evidently on the two samples, and the per-column verdicts read back from Evidently's own result objects.

One `DataDriftPreset` with the method and threshold of every column spelled out (lakehouse.core.job_settings.DriftSettings), so
the report says exactly what was configured. The verdicts are not recomputed here: score, method and
threshold come from each `ValueDrift` result, drifted from that metric's test (FAIL = drift detected), and
the drifted count and share from `DriftedColumnsCount`, so the JSON summary says what the HTML shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lakehouse.core.job_settings import DriftSettings

NUM, CAT = "num", "cat"


@dataclass(frozen=True)
class ColumnDrift:
    """One column's comparison; `status` is evaluated, or why it could not be (then score is None)."""

    column: str
    column_type: str  # num / cat
    method: str | None
    threshold: float | None
    score: float | None
    drifted: bool
    status: str  # evaluated, missing_in_current (counts as drifted), missing_in_reference, missing_in_table
    null_share_reference: float | None = None
    null_share_current: float | None = None
    kind: str = "feature"  # feature / prediction


@dataclass(frozen=True)
class Comparison:
    snapshot: Any  # evidently Snapshot
    columns: list[ColumnDrift]
    drifted_count: int
    drifted_share: float


def run_report(current: pd.DataFrame, reference: pd.DataFrame, types: dict[str, str], cfg: DriftSettings,
               num_method: str | None = None, num_threshold: float | None = None) -> Any:
    """The Evidently snapshot comparing `current` with `reference` on the columns of `types` (name -> num/cat).

    `num_method`/`num_threshold` replace the configured numeric method for every column (prediction drift).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    methods, thresholds = {}, {}
    for column, kind in types.items():
        method, threshold = cfg.column_method(column, kind == CAT)
        if num_method and kind == NUM:
            method, threshold = num_method, num_threshold
        methods[column] = method
        if threshold is not None:
            thresholds[column] = threshold
    definition = DataDefinition(numerical_columns=[c for c, k in types.items() if k == NUM],
                                categorical_columns=[c for c, k in types.items() if k == CAT])
    preset = DataDriftPreset(columns=list(types), drift_share=cfg.drift_share, per_column_method=methods,
                             per_column_threshold=thresholds or None)
    data = [Dataset.from_pandas(frame[list(types)], data_definition=definition) for frame in (current, reference)]
    return Report([preset], include_tests=True).run(*data)


def read_results(snapshot: Any, types: dict[str, str]) -> Comparison:
    """Per-column verdicts and the drifted count/share, as Evidently computed them."""
    verdicts = {t.metric_config.params["column"]: t.status.value == "FAIL"
                for t in snapshot.tests_results if t.metric_config.params.get("type", "").endswith("ValueDrift")}
    columns, count, share = [], None, None
    for result in snapshot.metric_results.values():
        params = result.metric_value_location.metric.params
        kind = params.get("type", "")
        if kind.endswith(":ValueDrift"):
            column = params["column"]
            score = float(result.value)
            columns.append(ColumnDrift(column, types[column], params.get("method"), params.get("threshold"),
                                       score if math.isfinite(score) else None, verdicts[column], "evaluated"))
        elif kind.endswith(":DriftedColumnsCount"):
            count, share = int(result.count.value), float(result.share.value)
    if count is None or share is None:
        raise ValueError("the Evidently snapshot has no DriftedColumnsCount result")
    order = list(types)
    return Comparison(snapshot, sorted(columns, key=lambda c: order.index(c.column)), count, share)
