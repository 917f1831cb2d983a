"""The monthly drift job on crafted ARDS tables: drift found and not found, the summary agreeing with
Evidently's own results, history, publishing, the reference window, and every kind of bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import SecretStr
from pyspark.sql import functions as F

from lakehouse.core.job_settings import DriftSettings
from lakehouse.core.settings import Settings
from quality.drift import job
from quality.drift.history import HISTORY_TABLE
from quality.drift.job import detect_drift
from quality.drift.windows import DriftInputError, last_complete_month
from quality.publish import Publisher
from quality.validation import ReportNotPublished
from tests.drift_data import COLUMNS, ards_frame, write_ards

APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
CONFIG = DriftSettings(columns=COLUMNS, reference="previous_month", sample_rows=3000)


def local(settings: Settings, tmp_path: Path) -> Settings:
    blob = settings.blob.model_copy(update={"local_dir": tmp_path / "reports", "connection_string": None})
    return settings.model_copy(update={"blob": blob})


def folder(tmp_path: Path, month: str) -> Path:
    return tmp_path / "reports" / "lakehouse-reports" / "drift" / month


def test_same_distribution_is_not_drift_and_the_report_is_published(store, settings, tmp_path, monkeypatch):
    write_ards(store, ards_frame(APRIL, 30), ards_frame(MAY, 31))
    monkeypatch.setattr(job, "time", SimpleNamespace(monotonic=iter([100.0, 103.5]).__next__))  # start, end
    result = detect_drift(store.spark, local(settings, tmp_path), MAY, CONFIG)

    assert not result.dataset_drift and not result.retrain_recommended and result.drifted_columns == []
    assert result.reference["source"] == "previous month" and result.reference["start"] == "2026-04-01"
    assert result.warnings == []
    assert result.sampling["current"] == {"rows": 150 * 31, "sampled": 3000, "fraction": round(3000 / 4650, 6)}
    assert result.sampling["reference"]["rows"] == 150 * 30
    summary = json.loads((folder(tmp_path, "2026/05") / "summary.json").read_text())
    assert summary["month"] == "2026-05" and summary["retrain_recommended"] is False
    assert result.duration_s == summary["duration_s"] == 3.5  # end - start of the job's own clock
    assert [c["column"] for c in summary["columns"]] == COLUMNS
    assert {c["method"] for c in summary["columns"]} == {"wasserstein", "jensenshannon"}
    assert (folder(tmp_path, "2026/05") / "report.html").read_text().count('id="drift-summary"') == 1


def test_shifted_columns_are_drift_with_a_retraining_signal_and_history_is_replaced_on_rerun(store, settings, tmp_path):
    write_ards(store, ards_frame(APRIL, 30), ards_frame(MAY, 31, spend_factor=1.5, plan_shares=(0.2, 0.3, 0.5)))
    settings = local(settings, tmp_path)
    result = detect_drift(store.spark, settings, MAY, CONFIG)

    assert set(result.drifted_columns) == {"spend_30d", "avg_amount_30d", "plan", "monthly_fee"}
    assert "txn_count_30d" not in result.drifted_columns
    assert result.dataset_drift and result.retrain_recommended
    assert result.retrain_reasons[0].startswith("dataset drift: 4 of 5 feature columns drifted")
    again = detect_drift(store.spark, settings, MAY, CONFIG)
    history = store.read(HISTORY_TABLE).where(F.col("month") == F.lit(MAY)).collect()
    assert len(history) == len(COLUMNS) and {r["run_id"] for r in history} == {again.run_id}
    assert {r["column_name"] for r in history if r["drifted"]} == set(result.drifted_columns)
    assert all(r["reference_source"] == "previous month" and r["retrain_recommended"] for r in history)

    tolerant = detect_drift(store.spark, settings, MAY, CONFIG.model_copy(update={"drift_share": 0.9}))
    assert tolerant.drifted_columns == result.drifted_columns and not tolerant.dataset_drift  # 4 of 5 < 0.9
    assert tolerant.warnings == [f"column(s) {result.drifted_columns} drifted, below the dataset-drift share 0.9: "
                                 "watch them"]


def test_summary_agrees_with_evidentlys_result_object():
    """The per-column verdicts and the drifted count in the JSON are Evidently's, not recomputed."""
    from quality.drift.report import read_results, run_report

    reference = ards_frame(APRIL, 20)[COLUMNS]
    current = ards_frame(MAY, 20, spend_factor=1.3)[COLUMNS]
    types = {c: "cat" if c == "plan" else "num" for c in COLUMNS}
    config = CONFIG.model_copy(update={"per_column_method": {"txn_count_30d": "ks"}, "per_column_threshold": {"spend_30d": 0.2}})
    snapshot = run_report(current, reference, types, config)
    found = read_results(snapshot, types)

    raw = snapshot.dict()
    drift = {m["config"]["column"]: m for m in raw["metrics"] if m["config"]["type"].endswith("ValueDrift")}
    tests = {t["metric_config"]["params"]["column"]: t["status"] for t in raw["tests"] if "column" in t["metric_config"]["params"]}
    count = next(m["value"] for m in raw["metrics"] if m["config"]["type"].endswith("DriftedColumnsCount"))
    for column in found.columns:
        metric = drift[column.column]
        assert column.score == pytest.approx(metric["value"])
        assert (column.method, column.threshold) == (metric["config"]["method"], metric["config"]["threshold"])
        assert column.drifted == (tests[column.column] == "FAIL")
    assert (found.drifted_count, found.drifted_share) == (count["count"], pytest.approx(count["share"]))
    assert found.drifted_count == sum(c.drifted for c in found.columns)
    by_name = {c.column: c for c in found.columns}
    assert by_name["spend_30d"].threshold == 0.2 and by_name["txn_count_30d"].method == "ks"
    assert by_name["txn_count_30d"].threshold == 0.05  # the method's own default, not the distance threshold


def test_empty_month_and_empty_reference_are_errors(store, settings, tmp_path):
    write_ards(store, ards_frame(APRIL, 30))
    with pytest.raises(DriftInputError, match="no rows for 2026-05 .*run the offline_features pipeline"):
        detect_drift(store.spark, local(settings, tmp_path), MAY, CONFIG)
    with pytest.raises(DriftInputError, match=r"^the reference window 2026-03-01\.\.2026-03-31 \(previous month\) "
                                              r"has no rows: nothing to compare the month with$"):
        detect_drift(store.spark, local(settings, tmp_path), APRIL, CONFIG)
    assert not store.exists(HISTORY_TABLE) and not (tmp_path / "reports").exists()


def test_partial_month_warns_and_too_few_days_is_an_error(store, settings, tmp_path):
    may = ards_frame(MAY, 31)
    gap = may["feature_date"].between(date(2026, 5, 10), date(2026, 5, 12))
    write_ards(store, ards_frame(APRIL, 30), may[~gap])
    at_minimum = CONFIG.model_copy(update={"min_day_coverage": 28 / 31})  # exactly the minimum share is enough
    result = detect_drift(store.spark, local(settings, tmp_path), MAY, at_minimum)
    assert result.current["missing_days"] == ["2026-05-10..2026-05-12"]
    assert any(w.startswith("partial month: ") and "(28 of 31 days compared)" in w for w in result.warnings)

    write_ards(store, ards_frame(APRIL, 30), ards_frame(MAY, 10))
    with pytest.raises(DriftInputError, match="only 10 of 31 days of 2026-05 .*2026-05-11..2026-05-31.* at least 50% are needed"):
        detect_drift(store.spark, local(settings, tmp_path), MAY, CONFIG)


def test_a_refused_window_names_the_days_left_out_for_incomplete_feature_windows(store, settings, tmp_path):
    """Days whose 30-day windows reach before the history do not count (incomplete_windows=exclude): too few complete
    days in the month, or none in the reference, are refused with the left-out days named."""
    may = ards_frame(MAY, 31)
    late = may["feature_date"] > date(2026, 5, 10)
    write_ards(store, ards_frame(APRIL, 30), may.assign(window_complete_30d=~late))
    with pytest.raises(DriftInputError, match=r"only 10 of 31 days of 2026-05 .*; current month 2026-05-01\.\.2026-05-31: "
                                              r"21 day\(s\) left out, .*2026-05-11\.\.2026-05-31; at least 50% are needed$"):
        detect_drift(store.spark, local(settings, tmp_path), MAY, CONFIG)

    write_ards(store, ards_frame(APRIL, 30).assign(window_complete_30d=False), ards_frame(MAY, 31))
    with pytest.raises(DriftInputError, match=r"^the reference window 2026-04-01\.\.2026-04-30 \(previous month\) has no "
                                              r"rows with complete windows: nothing to compare the month with \(previous "
                                              r"month 2026-04-01\.\.2026-04-30: 30 day\(s\) left out, .*\)$"):
        detect_drift(store.spark, local(settings, tmp_path), MAY, CONFIG)


def test_a_column_missing_in_one_window_is_reported_never_silently_passed(store, settings, tmp_path):
    may = ards_frame(MAY, 31)
    may["avg_amount_30d"] = None
    april = ards_frame(APRIL, 30)
    april["txn_count_30d"] = None
    write_ards(store, april, may.astype({"avg_amount_30d": "float64"}))
    config = CONFIG.model_copy(update={"columns": [*COLUMNS, "no_such_feature"]})
    result = detect_drift(store.spark, local(settings, tmp_path), MAY, config)

    status = {c.column: (c.status, c.drifted) for c in result.columns}
    assert status["avg_amount_30d"] == ("missing_in_current", True)
    assert status["txn_count_30d"] == ("missing_in_reference", False)
    assert status["no_such_feature"] == ("missing_in_table", False)
    assert "column avg_amount_30d: missing in current (counted as drifted)" in result.warnings
    assert "column txn_count_30d: missing in reference (not compared)" in result.warnings
    assert "column no_such_feature: missing in table (not compared)" in result.warnings
    assert result.drifted_columns == ["avg_amount_30d"] and result.number_of_columns == 4
    assert (result.drifted_count, result.drifted_share) == (1, 0.25)  # the vanished column of 4 evaluated
    assert result.retrain_recommended  # 1 of 4 >= 0.05
    assert next(c for c in result.columns if c.column == "avg_amount_30d").null_share_current == 1.0


def test_an_unpublished_report_is_an_error_carrying_the_recorded_result(store, settings, tmp_path):
    """A report that cannot be published (here a malformed Blob connection string) fails the job with the
    verdict in its message and the result attached; the history is recorded before publishing."""
    write_ards(store, ards_frame(APRIL, 30), ards_frame(MAY, 31))
    blob = settings.blob.model_copy(update={"local_dir": None, "connection_string": SecretStr("not a connection string")})
    broken = local(settings, tmp_path).model_copy(update={"blob": blob})
    with pytest.raises(ReportNotPublished, match="^drift of 2026-05: no retraining needed, but ") as failed:
        detect_drift(store.spark, broken, MAY, CONFIG, Publisher(broken, attempts=1, base_delay_s=0))
    assert failed.value.result.published == [] and not failed.value.result.retrain_recommended
    assert {r["run_id"] for r in store.read(HISTORY_TABLE).collect()} == {failed.value.result.run_id}


def test_last_complete_month_is_the_latest_month_ending_by_the_run_date():
    assert last_complete_month(date(2026, 6, 30)) == date(2026, 6, 1)
    assert last_complete_month(date(2026, 7, 1)) == date(2026, 6, 1)
    assert last_complete_month(date(2026, 1, 15)) == date(2025, 12, 1)
