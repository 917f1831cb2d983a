"""What an expect_or_fail violation reports (lakehouse/local/dlt_runtime/expectations.py): up to five offending records,
only offending ones, nested values as JSON objects, so the message shows what to fix; and NOT NULL counted among the rows
to write only."""

from __future__ import annotations

import json

from lakehouse.core.declared_schema import parse
from lakehouse.local.dlt_runtime.expectations import check
from lakehouse.local.dlt_runtime.graph import Action, Dataset, Expectation, Kind


def test_an_expect_or_fail_violation_shows_five_offending_records_with_their_nested_values(spark):
    # T0..T3 pass, then T4..T11 (amount <= 0) offend: 8 of 12, more than the sample holds, none of them first
    rows = [(f"T{i}", float(4 - i if i > 3 else i + 1), (f"c{i}",)) for i in range(12)]
    frame = spark.createDataFrame(rows, "id string, amount double, detail struct<code: string>")
    dataset = Dataset("silver_tx", Kind.MATERIALIZED_VIEW, expectations=[
        Expectation("amount_positive", "amount > 0", Action.FAIL), Expectation("has_id", "id IS NOT NULL", Action.WARN)])
    checked = check(frame, dataset)
    head, sample = checked.failure.split("Sample of offending records: ")
    assert head == ("dataset 'silver_tx' violated expect_or_fail expectation(s) 'amount_positive' (8 of 12 records); "
                    "the table was left unchanged. ")
    records = json.loads(sample)
    assert len(records) == 5
    assert all(r["amount"] <= 0 and r["detail"] == {"code": f"c{r['id'][1:]}"} for r in records)
    assert (checked.rows_in, checked.rows_dropped) == (12, 0)


def test_only_nulls_among_the_rows_to_write_break_a_not_null_column(spark):
    """A NOT NULL column of the declared schema counts NULLs among the kept rows: a NULL an expect_or_drop rule drops
    breaks nothing, one that is kept fails the flow with its count."""
    frame = spark.createDataFrame([("T1", 1.0), (None, 2.0), ("T3", None), (None, -1.0)], "id string, amount double")
    schema = parse("id STRING NOT NULL, amount DOUBLE", "silver_tx")
    dropping = Dataset("silver_tx", Kind.MATERIALIZED_VIEW, schema=schema,
                       expectations=[Expectation("has_id", "id IS NOT NULL", Action.DROP)])
    checked = check(frame, dropping)
    assert (checked.failure, checked.rows_in, checked.rows_dropped) == (None, 4, 2)
    warning = Dataset("silver_tx", Kind.MATERIALIZED_VIEW, schema=schema,
                      expectations=[Expectation("has_id", "id IS NOT NULL", Action.WARN)])
    assert check(frame, warning).failure == (
        "dataset 'silver_tx' violated the NOT NULL constraint of its declared schema on 'id' (2 records); the table "
        "was left unchanged. Drop such rows with an expect_or_drop rule or fill the column.")
