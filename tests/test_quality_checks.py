"""Each check type catches its crafted defect and passes clean data; the checks file loads per environment."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from lakehouse.core.errors import ConfigError
from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime.event_log import EventLog
from lakehouse.platform.sources import contract_ddl
from quality.checks import Point, TableContext
from quality.config import TableCheck, load_config
from quality.event_checks import LogCheck, read_summary
from quality.results import ExpectationMetric, ExpectationSummary
from quality.validation import check_frame, validate
from tests.test_drift import local

DAY = date(2026, 1, 12)
BRONZE_DDL = contract_ddl("transactions") + ", _rescued_data STRING, _source_file STRING, _ingested_at TIMESTAMP"
CATEGORIES = ["groceries", "electronics", "fashion", "travel", "entertainment", "services"]
N = 60


def clean_rows() -> list[dict]:
    """One day of valid transactions spread over the day, amounts around 50, all categories."""
    start = datetime(2026, 1, 12)
    return [
        {
            "transaction_id": f"T20260112{i:08d}", "customer_id": f"C{i % 10:07d}",
            "event_time": start + timedelta(minutes=i * 24), "amount": 40.0 + i % 21, "currency": "EUR",
            "category": CATEGORIES[i % 6], "channel": "web", "payment_method": "card", "_rescued_data": None,
            "_source_file": "/landing/transactions/2026-01-12/transactions_20260112.csv",
            "_ingested_at": datetime(2026, 1, 13, 1),
        }
        for i in range(N)
    ]


def history(metric: float, details: dict | None = None, days: int = 7) -> list[Point]:
    return [Point(DAY - timedelta(days=d), metric * (1 + (d % 3 - 1) * 0.02), details or {}) for d in range(days, 0, -1)]


def shares() -> dict:
    return {c: 1 / 6 for c in CATEGORIES} | {"(other)": 0.0}


def setrows(rows: list[dict], count: int, **values) -> list[dict]:
    return [{**r, **values} if i < count else r for i, r in enumerate(rows)]


# check declaration, defect (rows -> rows), history of the check, text expected in the failure message
CASES = {
    "schema": ({"type": "schema", "severity": "error",
                "extra_columns": {"_rescued_data": "string", "_source_file": "string", "_ingested_at": "timestamp"}},
               None, None, "missing column payment_method"),
    "rescued_data": ({"type": "rescued_data", "severity": "warn", "max_rate": 0.02},
                     lambda rows: setrows(rows, 3, _rescued_data='{"amount":"abc"}'), None, "3 of 60 rows (5.00%) have rescued data"),
    "completeness": ({"type": "completeness", "column": "customer_id", "severity": "warn", "max_rate": 0.02},
                     lambda rows: setrows(rows, 2, customer_id=None), None, "2 of 60 rows (3.33%) have no customer_id"),
    "allowed_values": ({"type": "allowed_values", "column": "category", "severity": "warn"},
                       lambda rows: setrows(rows, 1, category="???"), None, "have a category outside the allowed values"),
    "range": ({"type": "range", "column": "amount", "min": 0.01, "max": 100000, "severity": "warn"},
              lambda rows: setrows(rows, 1, amount=-5.0), None, "have amount outside [0.01, 100000.0]"),
    "format": ({"type": "format", "column": "transaction_id", "pattern": r"^T\d{16,}$", "severity": "warn"},
               lambda rows: setrows(rows, 1, transaction_id="T-1"), None, r"not matching ^T\d{16,}$"),
    "expression": ({"type": "expression", "name": "not_in_future", "severity": "error",
                    "expr": "event_time < DATE '{run_date}' + INTERVAL 1 DAY"},
                   lambda rows: setrows(rows, 1, event_time=datetime(2026, 1, 13, 5)), None, "1 of 60 rows"),
    "referential": ({"type": "referential", "column": "customer_id", "table": "silver_customers",
                     "ref_column": "customer_id", "where": "signup_date <= DATE '{run_date}'", "severity": "error"},
                    lambda rows: setrows(rows, 1, customer_id="C0000011"), None,
                    "have a customer_id not found in silver_customers.customer_id"),
    "uniqueness": ({"type": "uniqueness", "columns": ["transaction_id"], "severity": "error"},
                   lambda rows: rows + rows[:2], None, "2 of 62 rows (3.23%) repeat a transaction_id"),
    "freshness": ({"type": "freshness", "column": "event_time", "max_lag_hours": 2, "severity": "error"},
                  lambda rows: [r for r in rows if r["event_time"].hour < 12], None, "h before the end of 2026-01-12"),
    "volume": ({"type": "volume", "max_z": 4, "severity": "error"},
               lambda rows: rows[:20], history(N, days=14), "20 rows vs a "),
    "distribution_mean": ({"type": "distribution_mean", "column": "amount", "max_z": 5, "severity": "warn"},
                          lambda rows: [{**r, "amount": r["amount"] * 3} for r in rows], history(50.0), "mean amount"),
    "distribution_shares": ({"type": "distribution_shares", "column": "category", "max_tvd": 0.1, "severity": "warn"},
                            lambda rows: setrows(rows, 30, category="travel"), history(0.0, {"shares": shares()}),
                            "most: travel 16.7% -> 58.3%"),
}


@pytest.fixture
def customers(store):
    """silver_customers: C0000000..C0000009 signed up before the run date, C0000011 only after it."""
    rows = [(f"C{i:07d}", date(2025, 1, 1)) for i in range(10)] + [("C0000011", DAY + timedelta(days=3))]
    store.overwrite(store.spark.createDataFrame(rows, "customer_id string, signup_date date"), "silver_customers")


def judge(spark, store, check: dict, rows: list[dict], past: list[Point] | None, ddl: str = BRONZE_DDL):
    declared = TypeAdapter(TableCheck).validate_python(check)
    frame = spark.createDataFrame([tuple(r.values()) for r in rows], ddl) if rows else spark.createDataFrame([], ddl)
    ctx = TableContext("bronze_transactions", "transactions", DAY)
    results, total = check_frame(store, frame, [declared], ctx, {("bronze_transactions", declared.id): past or []}, 3)
    return results[0]


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_check_passes_clean_data_and_catches_its_defect(spark, store, customers, kind):
    check, defect, past, expected = CASES[kind]
    clean = judge(spark, store, check, clean_rows(), past)
    assert clean.outcome == "passed", clean.message
    if kind == "schema":  # the defect is in the table's layout, not in its rows
        ddl = BRONZE_DDL.replace(", `payment_method` STRING", "").replace("`amount` DOUBLE", "`amount` STRING")
        rows = [{k: (str(v) if k == "amount" else v) for k, v in r.items() if k != "payment_method"} for r in clean_rows()]
        found = judge(spark, store, check, rows, past, ddl)
        assert "amount is string, not double" in found.message
    else:
        found = judge(spark, store, check, defect(clean_rows()), past)
    assert found.outcome == "failed" and found.level == check["severity"], found
    assert expected in found.message, found.message
    if kind in ("rescued_data", "completeness", "allowed_values", "range", "format", "referential"):
        assert found.samples and set(found.samples[0]) == set(clean_rows()[0])
    if kind == "uniqueness":
        assert sorted((s["transaction_id"], s["occurrences"]) for s in found.samples) == [
            ("T2026011200000000", 2), ("T2026011200000001", 2)]


def test_referential_counts_orphan_rows_not_orphan_keys_and_lets_null_pass(spark, store, customers):
    """The orphan count is per row even though the check groups rows by key first: 4 rows of a customer signed up
    after the run date and 2 of an unknown one are 6 orphans (not 2 keys); 3 rows without a customer_id pass."""
    check = {"type": "referential", "column": "customer_id", "table": "silver_customers", "ref_column": "customer_id",
             "where": "signup_date <= DATE '{run_date}'", "severity": "error", "max_rate": 0.05}
    rows = setrows(setrows(setrows(clean_rows(), 9, customer_id=None), 6, customer_id="C9999999"), 4,
                   customer_id="C0000011")
    found = judge(spark, store, check, rows, None)
    assert found.outcome == "failed" and found.details == {"failed_rows": 6, "rows": N}, found
    assert "6 of 60 rows (10.00%) have a customer_id not found" in found.message
    assert len(found.samples) == 3 and {s["customer_id"] for s in found.samples} <= {"C0000011", "C9999999"}


def test_trended_checks_skip_without_enough_history_and_volume_floor_still_applies(spark, store):
    volume = {"type": "volume", "max_z": 4, "severity": "error"}
    skipped = judge(spark, store, volume, clean_rows(), history(N, days=2))
    assert skipped.outcome == "skipped" and "2 earlier day(s) in the history, 5 needed" in skipped.message
    assert skipped.metric == N  # recorded, so the history builds up
    empty = judge(spark, store, volume, [], [])
    assert empty.outcome == "failed" and "0 rows, fewer than 1" in empty.message
    stale = judge(spark, store, {"type": "freshness", "column": "event_time", "max_lag_hours": 2, "severity": "warn"}, [], [])
    assert stale.outcome == "failed" and "no event_time at all for 2026-01-12" in stale.message


def test_a_check_on_a_missing_column_fails_alone(spark, store):
    ddl = BRONZE_DDL.replace(", `payment_method` STRING", "")
    rows = [{k: v for k, v in r.items() if k != "payment_method"} for r in clean_rows()]
    found = judge(spark, store, {"type": "allowed_values", "column": "payment_method", "severity": "warn"}, rows, [], ddl)
    assert found.outcome == "failed" and "['payment_method'] missing" in found.message


def test_checks_file_resolves_thresholds_per_environment_and_expands_columns():
    local, prod = load_config("local"), load_config("prod")
    tables = {t.table: t for t in local.tables}
    assert set(tables) == {f"{layer}_{s}" for layer in ("bronze", "silver") for s in ("customers", "transactions", "support", "churn")}

    def rescued(config):
        spec = next(t for t in config.tables if t.table == "bronze_transactions")
        return next(c for c in spec.checks if c.id == "rescued_data").max_rate

    assert (rescued(local), rescued(prod)) == (0.02, 0.005)
    ids = [c.id for c in tables["silver_transactions"].checks]
    assert {"completeness:transaction_id", "completeness:amount", "shares:channel", "uniqueness:transaction_id"} <= set(ids)
    assert local.fail_on == "error" and local.event_log.pipeline == "offline_features"


@pytest.mark.parametrize("text, message", [
    ("sources: {transactions: {bronze: {slice: 'true', checks: [{type: range, column: amount, severity: warn}]}}}",
     "sources.transactions.bronze.checks: check #1 (range) check: Value error, a range check needs min, max or both"),
    ("sources: {transactions: {bronze: {slice: 'true', checks: [{type: volume, max_z: {dev: 3}, severity: warn}]}}}",
     "no value for environment 'local' and no default"),
    ("sources: {transactions: {bronze: {slice: 'true', checks: [{type: sizes, severity: warn}]}}}",
     "check #1 (sizes)"),
    ("sources: {shops: {bronze: {slice: 'true', checks: []}}}", "unknown source 'shops'"),
    ("sources: {transactions: {silver: {checks: []}}}", "silver_transactions needs a `slice`"),
    ("sources: {transactions: {bronze: {slice: 'true', checks: [{type: volume, max_z: 3, severity: warn},"
     " {type: volume, max_z: 5, severity: error}]}}}", "bronze_transactions: check names ['volume'] are used more than once"),
    ("event_log: {checks: [{type: expectations, severity: warn, max_rate: 0.1}]}", "event_log.pipeline: Field required"),
])
def test_a_malformed_checks_file_is_refused_with_the_place(tmp_path: Path, text: str, message: str):
    path = tmp_path / "checks.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config("local", path)
    assert message in str(info.value)


def weekly_history(monday_level: float) -> list[Point]:
    """28 earlier days with the generator's weekly rhythm (Saturday 1.25 x the week's mean) around `monday_level`."""
    factors = [0.92, 0.94, 0.96, 1.00, 1.10, 1.25, 0.83]
    days = [DAY - timedelta(days=d) for d in range(28, 0, -1)]
    return [Point(d, monday_level * factors[d.weekday()] / factors[0] * (1 + (d.day % 3 - 1) * 0.01), {}) for d in days]


def test_volume_allows_for_the_weekly_rhythm_but_still_catches_a_spike(spark, store):
    weekly = {"type": "volume", "max_z": 4, "severity": "error"}
    # a usual Monday (DAY) against a history whose other days run up to 36% higher: fine once the rhythm is removed
    usual = judge(spark, store, weekly, clean_rows(), weekly_history(N))
    assert usual.outcome == "passed", usual.message
    assert "vs a Monday median of 60" in usual.message
    spike = judge(spark, store, weekly, clean_rows(), weekly_history(N / 2))
    assert spike.outcome == "failed" and "vs a Monday median of 30" in spike.message


def test_weekday_adjustment_removes_the_rhythm():
    from quality.trend_checks import weekday_adjusted

    saturday = DAY + timedelta(days=5)
    adjusted, factor = weekday_adjusted(weekly_history(1000), saturday)
    assert weekday_adjusted(weekly_history(1000)[-8:], saturday) is None  # one earlier Saturday: not yet
    assert factor == pytest.approx(1.25 / 0.96, rel=0.03)  # Saturday vs the week's median day (Wednesday)
    assert max(adjusted) / min(adjusted) < 1.05  # what is left is the 1% noise


# -- the pipeline event log (quality/event_checks.py) ------------------------------------------------
def log_update(store, update: str, state: str | None, flows: tuple = ()) -> datetime:
    """One offline_features update in the event log: create_update, RUNNING, its flows' `(dataset, data_quality)`
    (None: a flow without expectations), then `state`; its configuration is the bundle's only (no run date), as a
    Databricks update's is. Events of one call are later than the previous call's; returns a moment before them."""
    before = datetime.now(timezone.utc)
    log = EventLog("offline_features", "pipeline-1", update)
    log.emit("create_update", "started", {"create_update": {"cause": "JOB_TASK",
                                                            "config": {"lakehouse.late_arrival_days": "2"}}})
    log.emit("update_progress", "running", {"update_progress": {"state": "RUNNING"}})
    for dataset, quality in flows:
        progress = {"status": "COMPLETED", **({"data_quality": quality} if quality is not None else {})}
        log.emit("flow_progress", "done", {"flow_progress": progress}, flow=dataset, dataset=dataset)
    if state:
        log.emit("update_progress", state.lower(), {"update_progress": {"state": state}})
    log.flush(store)
    return before


def rule(name: str, passed: int, failed: int, dataset: str = "silver_transactions") -> dict:
    return {"name": name, "dataset": dataset, "passed_records": passed, "failed_records": failed}


def test_the_latest_update_decides_the_event_log_checks(spark, settings, tmp_path):
    """A completed update, then a failed re-delivery in the same job run: the gate reads the latest one and closes."""
    store = TableStore(spark, settings)
    job_started = datetime.now(timezone.utc)
    # update ids sort the other way round: time decides
    for update, state, failed in (("z-completed", "COMPLETED", 0), ("a-redelivery", "FAILED", 9)):
        quality = {"dropped_records": failed, "expectations": [rule("amount_positive", 100 - failed, failed)]}
        log_update(store, update, state, (("silver_transactions", quality),))
    only_the_log = load_config("local").model_copy(update={"tables": []})
    for since in (job_started, None):  # in the job run, and outside a job (the latest update)
        result = validate(spark, local(settings, tmp_path), DAY, only_the_log, job_started=since)
        assert result.expectations.update_id == "a-redelivery" and result.expectations.state == "FAILED"
        update = next(c for c in result.checks if c.name == "pipeline_update")
        assert update.outcome == "failed" and update.message == "update a-redelivery is FAILED"
        assert result.expectations.dropped_records == {"silver_transactions": 9}
        assert not result.gate_passed


def test_the_gate_reads_only_an_update_started_in_the_current_job_run(spark, settings, tmp_path):
    """An earlier run's completed update does not open the gate of a run whose pipeline update is missing; a failed
    update of this run closes it although an earlier run's completed; this run's completed update opens it."""
    store = TableStore(spark, settings)
    clean = (("silver_transactions", {"dropped_records": 0, "expectations": [rule("amount_positive", 100, 0)]}),)
    only_the_log = load_config("local").model_copy(update={"tables": []})

    def gate(job_started: datetime) -> tuple[bool, str]:
        result = validate(spark, local(settings, tmp_path), DAY, only_the_log, job_started=job_started)
        return result.gate_passed, next(c for c in result.checks if c.name == "pipeline_update").message

    log_update(store, "earlier-run", "COMPLETED", clean)
    this_run = datetime.now(timezone.utc)
    assert gate(this_run) == (False, f"no update of pipeline offline_features started since {this_run.isoformat()} "
                                     f"in the event log (data of {DAY})")
    log_update(store, "this-run-failed", "FAILED", clean)
    assert gate(this_run) == (False, "update this-run-failed is FAILED")
    next_run = log_update(store, "next-run", "COMPLETED", clean)
    assert gate(next_run) == (True, "update next-run is COMPLETED")
    assert gate(this_run) == (True, "update next-run is COMPLETED")  # a retry in the same run: the latest decides


def test_the_job_runs_update_metrics_are_summed_per_dataset_and_rule(spark, store):
    """Only the job run's update counts (not an earlier run's, not its events); its flows' expectations are
    summed per (dataset, rule), a flow without data quality adds nothing."""
    log_update(store, "z-earlier-run", "FAILED", (("silver_transactions", {"dropped_records": 7,
                                                                          "expectations": [rule("a", 1, 7)]}),))
    job_started = log_update(store, "m-this-run", "COMPLETED", (
        ("silver_transactions", {"dropped_records": 10, "expectations": [rule("a", 90, 10), rule("b", 100, 0)]}),
        ("silver_transactions", {"expectations": [rule("a", 45, 5)]}),  # no dropped_records: counts 0
        ("silver_customers", {"dropped_records": 2, "expectations": [rule("a", 8, 2, "silver_customers")]}),
        ("ards", None),
    ))
    for since in (job_started, None):
        summary = read_summary(store, "offline_features", since)
        assert (summary.update_id, summary.state, summary.since) == ("m-this-run", "COMPLETED", since)
        assert sorted(summary.expectations, key=lambda e: (e.dataset, e.name)) == [
            ExpectationMetric("silver_customers", "a", 8, 2), ExpectationMetric("silver_transactions", "a", 135, 15),
            ExpectationMetric("silver_transactions", "b", 100, 0)]
        assert summary.dropped_records == {"silver_transactions": 10, "silver_customers": 2}
    assert read_summary(store, "offline_features", datetime.now(timezone.utc)).update_id is None
    assert read_summary(store, "no_such_pipeline", job_started).update_id is None


def summary(state: str | None = "COMPLETED", *metrics: ExpectationMetric) -> ExpectationSummary:
    return ExpectationSummary("offline_features", None if state is None else "u-1", state, None, metrics)


@pytest.mark.parametrize("state, outcome, message", [
    ("COMPLETED", "passed", "update u-1 is COMPLETED"),
    ("FAILED", "failed", "update u-1 is FAILED"),
    ("CANCELED", "failed", "update u-1 is CANCELED"),
    ("RUNNING", "failed", "update u-1 is RUNNING"),
    (None, "failed", f"no update of pipeline offline_features at all in the event log (data of {DAY})"),
])
def test_the_pipeline_update_check_passes_only_a_completed_update(state, outcome, message):
    check = TypeAdapter(LogCheck).validate_python({"type": "pipeline_update", "severity": "error"})
    result = check.judge_log(summary(state), DAY)
    assert (result.table, result.outcome, result.message) == ("event_log_offline_features", outcome, message)


def test_the_expectations_check_names_every_rule_over_the_rate_worst_first():
    check = TypeAdapter(LogCheck).validate_python({"type": "expectations", "severity": "warn", "max_rate": 0.1})
    at_limit, worse, worst = ExpectationMetric("s", "at_limit", 90, 10), ExpectationMetric("s", "worse", 80, 20), \
        ExpectationMetric("s", "worst", 70, 30)
    over = check.judge_log(summary("COMPLETED", at_limit, worse, worst), DAY)
    assert (over.outcome, over.metric, over.threshold) == ("failed", 0.3, "<= 10.00% per expectation")
    assert over.message == "s.worst failed 30 records (30.00%); s.worse failed 20 records (20.00%)"
    assert over.details == {"over": ["s.worst", "s.worse"]}
    fine = check.judge_log(summary("FAILED", at_limit, ExpectationMetric("s", "clean", 5, 0)), DAY)
    assert (fine.outcome, fine.metric, fine.message) == ("passed", 0.1, "2 expectations, worst failure rate 10.00%")
    for nothing in (summary("COMPLETED"), summary(None)):
        skipped = check.judge_log(nothing, DAY)
        assert (skipped.outcome, skipped.message) == ("skipped", f"no expectation metrics for {DAY}")


@pytest.mark.parametrize("rate", [-0.01, 1.01])
def test_an_expectations_rate_outside_0_to_1_is_refused(rate):
    with pytest.raises(ValueError, match="max_rate"):
        TypeAdapter(LogCheck).validate_python({"type": "expectations", "severity": "warn", "max_rate": rate})


def test_an_update_created_exactly_at_the_job_runs_start_is_the_runs_update(spark, store):
    """'Not earlier than the job run's start' includes the start itself: an update whose create_update event carries
    exactly that instant belongs to the run (the boundary of the window, to the microsecond)."""
    log = EventLog("offline_features", "pipeline-1", "at-the-start")
    log.emit("create_update", "started", {"create_update": {"cause": "JOB_TASK"}})
    started = log.events[0]["timestamp"]
    log.emit("update_progress", "completed", {"update_progress": {"state": "COMPLETED"}})
    log.flush(store)
    summary = read_summary(store, "offline_features", started)
    assert (summary.update_id, summary.state) == ("at-the-start", "COMPLETED")
    assert read_summary(store, "offline_features", started + timedelta(microseconds=1)).update_id is None


def test_an_earlier_update_whose_id_sorts_first_adds_nothing_to_the_runs_metrics(spark, store):
    """Update ids have no order (Databricks' are UUIDs): an earlier run's update whose id sorts before this run's
    contributes none of its events, neither its failed records nor its state."""
    log_update(store, "0-earlier-run", "FAILED", (("silver_transactions", {"dropped_records": 7,
                                                                          "expectations": [rule("a", 1, 7)]}),))
    job_started = log_update(store, "9-this-run", "COMPLETED", (
        ("silver_transactions", {"dropped_records": 0, "expectations": [rule("a", 100, 0)]}),))
    summary = read_summary(store, "offline_features", job_started)
    assert (summary.update_id, summary.state) == ("9-this-run", "COMPLETED")
    assert summary.expectations == (ExpectationMetric("silver_transactions", "a", 100, 0),)
    assert summary.dropped_records == {"silver_transactions": 0}
