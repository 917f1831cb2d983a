"""The SQL-boolean rule engine: one-pass counts, NULL semantics, failed-rule arrays, quarantine split."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from lakehouse.core.rules import RuleError, count_rules, quarantine_rows, rule_set, valid_rows, with_failed_rules

RULES = {"positive": "amount > 0", "has_tag": "tag IS NOT NULL", "small": "amount < 100"}


@pytest.fixture
def frame(spark):
    rows = [(1, 5, "a"), (2, -1, "b"), (3, None, None), (4, 500, "c"), (5, 0, None)]
    return spark.createDataFrame(rows, "id int, amount int, tag string")


def test_counts_every_rule_in_one_pass_and_null_passes(frame):
    report = count_rules(frame, RULES, "orders", extra={"max_id": F.max("id")})
    assert report.total == 5
    # amount NULL makes `amount > 0` and `amount < 100` NULL: Databricks counts a record as failing only
    # when the constraint is false, so NULL passes.
    assert [(r.name, r.passed, r.failed) for r in report.rules] == [
        ("positive", 3, 2), ("has_tag", 3, 2), ("small", 4, 1)]
    assert report.extras == {"max_id": 5}
    assert report.failed("has_tag") == 2


def test_failed_rules_array_names_broken_rules_in_rule_order(frame):
    rows = {r.id: r._failed_rules for r in with_failed_rules(frame, RULES).collect()}
    assert rows == {1: [], 2: ["positive"], 3: ["has_tag"], 4: ["small"], 5: ["positive", "has_tag"]}


def test_quarantine_and_valid_split_every_row_exactly_once(frame):
    quarantined = quarantine_rows(frame, RULES, column="broken")
    kept = valid_rows(frame, RULES)
    assert sorted(r.id for r in kept.collect()) == [1]
    assert sorted((r.id, tuple(r.broken)) for r in quarantined.collect()) == [
        (2, ("positive",)), (3, ("has_tag",)), (4, ("small",)), (5, ("positive", "has_tag"))]
    assert kept.count() + quarantined.count() == frame.count()


def test_rule_set_refuses_duplicates_and_empty_parts():
    with pytest.raises(RuleError, match="'dup' is used more than once"):
        rule_set([("dup", "a > 0"), ("dup", "b > 0")], "orders")
    with pytest.raises(RuleError, match="non-empty name"):
        rule_set({"": "a > 0"}, "orders")
    with pytest.raises(RuleError, match="rule 'r' needs a SQL boolean"):
        rule_set({"r": " "}, "orders")
    assert list(rule_set({"b": "x", "a": "y"}, "orders")) == ["b", "a"]


def test_bad_expression_names_rule_and_dataset(frame):
    with pytest.raises(RuleError, match=r"dataset 'orders': rule 'ghost' \('missing_col > 0'\) is not a valid"):
        count_rules(frame, {"positive": "amount > 0", "ghost": "missing_col > 0"}, "orders")
    with pytest.raises(RuleError, match=r"rule 'broken' \('amount >'\) is not a valid"):
        count_rules(frame, {"broken": "amount >"}, "orders")


def test_non_boolean_rule_is_refused(frame):
    with pytest.raises(RuleError, match=r"rule 'amount_only' \('amount'\) is int, not a boolean"):
        count_rules(frame, {"amount_only": "amount"}, "orders")


def test_empty_frame_counts_zero(frame):
    report = count_rules(frame.limit(0), RULES, "orders")
    assert report.total == 0 and all(r.passed == 0 and r.failed == 0 for r in report.rules)
