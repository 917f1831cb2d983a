"""Bad-input campaign over the landing zone: one day's drop holding every kind of broken delivery (one file
per case), one pipeline update. For every file: all its rows are read into bronze; per source the event log
balances (passed + quarantined = read, quarantined = dropped); every quarantined row names its file and
rules, every rescued value its file; files with bytes but no rows, or that needed rescuing, are named in a warning
(an empty file, a quiet day's delivery, is not).
A currency the pipeline must not mix in (an expect_or_fail rule) fails the update and changes nothing."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import date

import pytest
from landing import contact, customer, landing_file, render, txn, write

from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime import event_log_table
from lakehouse.local.pipelines import run_pipeline

from .conftest import data_lines

PIPELINE = "offline_features"
DAY = date(2026, 3, 2)
T = "2026-03-02T10:00:00Z"
GOOD = [txn(f"G{i}", "C1", T, 5.0) for i in range(3)]


def _cases(landing) -> dict[str, tuple[str, object]]:
    """case -> (source, file); the expectations per case are in EXPECTED."""
    def put(source, suffix, records=(), **kw):
        return source, write(landing, source, DAY, records, suffix=suffix, **kw)

    good_csv = "\n".join(render("transactions", GOOD)) + "\n"
    cases = {
        "truncated": put("transactions", "_truncated", raw=good_csv + "T9,C1,2026-03-02T1"),
        "empty": put("churn", "_empty", raw=""),
        "header_only": put("churn", "_header", raw=render("churn", [])[0] + "\n"),
        "huge_line": put("transactions", "_huge", [txn("H1", "C1", T, 5.0, category="x" * 2_000_000)]),
        "wrong_delimiter": put("transactions", "_semicolon", raw=good_csv.replace(",", ";")),
        "type_change": put("transactions", "_types", [txn("Y1", "C1", T, "12.50EUR"), txn("Y2", "C1", "yesterday", 3)]),
        "added_column": put("transactions", "_added", [{**GOOD[0], "transaction_id": "A1", "coupon": "X"}],
                            columns=[*GOOD[0], "coupon"]),
        "dropped_column": put("support", "_dropped", [contact("S1", "C1", T)],
                              columns=["interaction_id", "customer_id", "event_time", "topic", "resolved", "satisfaction"]),
        "null_keys": put("customers", "_nulls", [customer(None, T), customer("", T), customer("C1", T)]),
        "duplicate_keys": put("transactions", "_dupes", [txn("D1", "C1", T, 1.0), txn("D1", "C1", T, 1.0)]),
        "future_and_past": put("transactions", "_times", [txn("F1", "C1", "2999-01-01T00:00:00Z", 2.0),
                                                          txn("P1", "C1", "1900-01-01T00:00:00Z", 2.0)]),
        "redelivered_day": put("transactions", "_again", [txn("D1", "C1", T, 1.0), txn("D2", "C1", T, 1.0)]),
    }
    path = write(landing, "support", DAY, suffix="_utf8", lines=[])
    path.write_bytes(json.dumps(contact("U1", "C1", T, topic="TOPIC")).encode().replace(b"TOPIC", b"bill\xffing") + b"\n")
    cases["invalid_utf8"] = ("support", path)
    return cases


# case -> (rows read, rows quarantined with these rules, rows with _rescued_data, warned about the file)
EXPECTED = {
    "truncated": (4, {("transaction_id_present", "customer_id_present", "event_time_present", "amount_positive"): 1}, 1, True),
    "empty": (0, {}, 0, False),
    "header_only": (0, {}, 0, True),
    "huge_line": (1, {}, 0, False),
    "wrong_delimiter": (3, {("transaction_id_present", "customer_id_present", "event_time_present", "amount_positive"): 3}, 3, True),
    "type_change": (2, {("amount_positive",): 1, ("event_time_present",): 1}, 2, True),
    "added_column": (1, {}, 1, True),
    "dropped_column": (1, {}, 0, False),
    "null_keys": (3, {("customer_id_present",): 2}, 0, False),
    "duplicate_keys": (2, {}, 0, False),
    "future_and_past": (2, {}, 0, False),
    "redelivered_day": (2, {}, 0, False),
    "invalid_utf8": (1, {}, 1, True),
}


@pytest.fixture(scope="module")
def campaign(spark, module_settings):
    settings = module_settings("campaign")
    landing = settings.landing
    write(landing, "transactions", DAY, GOOD)
    cases = _cases(landing)
    handler = _Capture()
    logging.getLogger("lakehouse").addHandler(handler)
    try:
        result = run_pipeline(spark, settings, PIPELINE, DAY)
    finally:
        logging.getLogger("lakehouse").removeHandler(handler)
    return settings, TableStore(spark, settings), cases, result, handler.lines


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_update_continues_and_every_source_balances_in_the_event_log(campaign):
    settings, store, cases, result, _ = campaign
    assert result.ok, result.error
    flows = {r["flow"]: json.loads(r["details"])["flow_progress"] for r in store.read(event_log_table(PIPELINE))
             .where(f"event_type = 'flow_progress' AND origin.update_id = '{result.update_id}' "
                    "AND get_json_object(details, '$.flow_progress.metrics') IS NOT NULL")  # each flow's end event
             .selectExpr("origin.flow_name AS flow", "details").collect()}
    checked = {"customers": "silver_customer_updates", "transactions": "transactions_checked",
               "support": "support_checked", "churn": "churn_checked"}
    for source, dataset in checked.items():
        files = [f for s, f in cases.values() if s == source] + ([landing_file(settings.landing, source, DAY)]
                                                                 if source == "transactions" else [])
        read = flows[f"bronze_{source}"]["metrics"]["num_output_rows"]
        assert read == sum(data_lines(str(f)) for f in files), source
        passed, dropped = flows[dataset]["metrics"]["num_output_rows"], flows[dataset]["data_quality"]["dropped_records"]
        assert passed + dropped == read and flows[f"quarantine_{source}"]["metrics"]["num_output_rows"] == dropped, source


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_bad_file_is_accounted_for_and_named(campaign, case):
    settings, store, cases, _, warnings = campaign
    source, path = cases[case]
    read, quarantined, rescued, warned = EXPECTED[case]
    bronze = store.read(f"bronze_{source}").where(f"_source_file = '{path}'")
    assert bronze.count() == read == data_lines(str(path))
    rows = store.read(f"quarantine_{source}").where(f"_source_file = '{path}'").select("_failed_rules").collect()
    got: dict[tuple[str, ...], int] = {}
    for row in rows:
        got[tuple(row[0])] = got.get(tuple(row[0]), 0) + 1
    assert got == quarantined
    rescued_rows = [json.loads(r[0]) for r in bronze.where("_rescued_data IS NOT NULL").select("_rescued_data").collect()]
    assert len(rescued_rows) == rescued and all(r["_file_path"] == str(path) for r in rescued_rows)
    assert any(str(path) in line for line in warnings) == warned


def test_duplicates_and_a_redelivered_day_collapse_to_one_row_per_key(campaign):
    _, store, _, _, _ = campaign
    keys = store.read("silver_transactions").groupBy("transaction_id").count().where("count > 1").collect()
    assert keys == [] and store.read("silver_transactions").where("transaction_id = 'D1'").count() == 1


def test_a_file_changed_after_ingestion_is_reported_not_ingested_again(spark, campaign, caplog):
    settings, store, cases, _, _ = campaign
    _, path = cases["duplicate_keys"]
    before = store.read("bronze_transactions").count()
    path.write_text(path.read_text() + "\n".join(render("transactions", [txn("D9", "C1", T, 1.0)])[1:]) + "\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    with caplog.at_level(logging.WARNING, logger="lakehouse.local.ingest"):
        assert run_pipeline(spark, settings, PIPELINE, DAY).ok
    assert store.read("bronze_transactions").count() == before
    assert f"landing file {path} changed after it was ingested" in caplog.text


def test_a_forbidden_currency_fails_the_update_and_leaves_silver_unchanged(spark, module_settings):
    settings = module_settings("currency")
    write(settings.landing, "transactions", DAY, GOOD)
    assert run_pipeline(spark, settings, PIPELINE, DAY).ok
    store = TableStore(spark, settings)
    before = store.version("silver_transactions")
    path = write(settings.landing, "transactions", date(2026, 3, 3), [txn("U1", "C1", T, 5.0, currency="USD")])
    result = run_pipeline(spark, settings, PIPELINE, date(2026, 3, 3))
    assert result.state == "FAILED" and "currency_is_eur" in result.error
    assert store.version("silver_transactions") == before
    assert store.read("bronze_transactions").where(f"_source_file = '{path}'").count() == 1  # kept, for the fix
