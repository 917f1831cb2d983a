"""The HTML report renders in headless Chromium, shows the failed checks first, and escapes every data value."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from quality.report_html import render_html
from quality.results import CheckResult, ExpectationMetric, ExpectationSummary, Result

PAYLOAD = "<script>document.body.setAttribute('data-pwned','1')</script>"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_dom(page: Path, tmp_path: Path) -> str:
    """The DOM after Chromium loaded (and would have run) the page."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary is None:
        pytest.fail("headless Chromium is needed for the report tests: apt-get install chromium")
    run = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "<html" in run.stdout, run.stderr[-2000:]
    return run.stdout


def sample_result() -> Result:
    checks = [
        CheckResult("bronze_transactions", "range:amount", "validity", "warn", "passed", 0.0, "<= 1.00%",
                    "0 of 10 rows (0.00%) have amount outside [0.01, 100000]"),
        CheckResult("bronze_transactions", "allowed_values:category", "validity", "warn", "failed", 0.1, "<= 1.00%",
                    "1 of 10 rows (10.00%) have a category outside the allowed values",
                    samples=[{"transaction_id": "T1", "category": PAYLOAD, "amount": 3.5}]),
        CheckResult("silver_transactions", "uniqueness:transaction_id", "uniqueness", "error", "failed", 0.2, "<= 0.00%",
                    "2 of 10 rows (20.00%) repeat a transaction_id seen before",
                    samples=[{"transaction_id": "T<b>2</b>", "occurrences": 2}]),
        CheckResult("silver_transactions", "volume", "volume", "error", "skipped", 10, ">= 1 rows, robust z <= 5",
                    "10 rows; 1 earlier day(s) in the history, 5 needed"),
    ]
    summary = ExpectationSummary("offline_features", "u-1", "COMPLETED", datetime(2026, 1, 13, 1, tzinfo=timezone.utc),
                                 (ExpectationMetric("transactions_checked", "amount_positive", 9, 1),
                                  ExpectationMetric("transactions_checked", "channel_known", 10, 0)),
                                 {"transactions_checked": 1})
    return Result("run-1", date(2026, 1, 12), "local", datetime(2026, 1, 13, 2, tzinfo=timezone.utc), "error",
                  checks, {"bronze_transactions": 10, "silver_transactions": 10}, summary)


def test_report_renders_in_chromium_with_failed_checks_first_and_values_escaped(tmp_path):
    result = sample_result()
    page = tmp_path / "report.html"
    page.write_text(render_html(result), encoding="utf-8")
    dom = chromium_dom(page, tmp_path)

    assert re.search(r'<span id="status">ERROR</span>', dom)
    assert "BLOCKED" in dom
    failed = dom[dom.index('id="failed"'):dom.index('id="expectations"')]
    assert "Failed checks (2)" in failed
    assert failed.index("uniqueness:transaction_id") < failed.index("allowed_values:category")  # errors first
    assert "range:amount" not in failed and "volume" not in failed
    assert "amount_positive" in dom and "1 of 2 expectations had no failed records" in dom
    # the record's <script> arrives as text: no script element, nothing ran, markup in values inert
    assert "<script" not in dom.lower() and 'data-pwned="1"' not in dom
    assert "&lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt;" in dom
    assert "T&lt;b&gt;2&lt;/b&gt;" in dom


def test_json_report_is_valid_and_keeps_raw_values():
    result = sample_result()
    data = json.loads(result.to_json())
    assert data["status"] == "error" and data["gate_passed"] is False
    assert data["counts"] == {"passed": 1, "failed": 2, "skipped": 1}
    category = next(c for c in data["checks"] if c["name"] == "allowed_values:category")
    assert category["samples"][0]["category"] == PAYLOAD and category["level"] == "warn"
    assert data["expectations"]["update_id"] == "u-1" and data["expectations"]["dropped_records"] == {"transactions_checked": 1}
    result.duration_s = 1.23456
    assert result.to_dict()["duration_s"] == 1.235
    assert replace(result, expectations=None).to_dict()["expectations"] is None
    broken = replace(result, checks=[replace(result.checks[0], metric=float("nan"))])
    with pytest.raises(ValueError, match="JSON"):  # never a report that strict JSON readers refuse
        broken.to_json()


def test_an_expectation_that_saw_no_record_has_no_failure_rate():
    assert ExpectationMetric("d", "r", 0, 0).failed_rate == 0.0
    assert ExpectationMetric("d", "r", 3, 1).failed_rate == 0.25


@pytest.mark.parametrize("fail_on, levels, passed", [
    ("error", ["warn"], True), ("error", ["error", "warn"], False), ("warn", ["warn"], False),
    ("never", ["error"], True), ("error", [], True), ("warn", ["error"], False), ("warn", [], True),
])
def test_status_is_the_worst_failed_severity_and_the_gate_follows_fail_on(fail_on, levels, passed):
    checks = [CheckResult("t", f"c{i}", "validity", level, "failed", 1.0, "", "") for i, level in enumerate(levels)]
    checks.append(CheckResult("t", "ok", "validity", "error", "passed", 0.0, "", ""))
    result = Result("r", date(2026, 1, 12), "local", datetime.now(timezone.utc), fail_on, checks, {}, None)
    assert result.status == (max(levels, key=["warn", "error"].index) if levels else "ok")
    assert result.gate_passed is passed
