"""The pipeline event log as both sides name and read it: the table name the bundle's pipelines publish their log
under, and Databricks' documented per-expectation query, which runs unchanged on the local runtime's log (its
writer is lakehouse/local/dlt_runtime/event_log.py; columns: https://docs.databricks.com/aws/en/ldp/monitor-event-log-schema).
"""

from __future__ import annotations

import re

# Databricks' documented per-expectation query (https://docs.databricks.com/aws/en/ldp/monitor-event-logs, "Query
# data quality from the event log"), with `details:flow_progress.data_quality.expectations` written as
# get_json_object: the same rows on Databricks and on the local log (tests/test_run_scoping.py runs it).
EXPECTATIONS_QUERY = """\
SELECT row_expectations.dataset AS dataset,
       row_expectations.name AS expectation,
       SUM(row_expectations.passed_records) AS passing_records,
       SUM(row_expectations.failed_records) AS failing_records
FROM (
  SELECT explode(from_json(get_json_object(details, '$.flow_progress.data_quality.expectations'),
           'array<struct<name: string, dataset: string, passed_records: bigint, failed_records: bigint>>'))
         AS row_expectations
  FROM {event_log}
  WHERE event_type = 'flow_progress' AND origin.update_id = '{update_id}'
)
GROUP BY row_expectations.dataset, row_expectations.name"""


def table_name(pipeline: str) -> str:
    """`event_log_<pipeline>`: the name the bundle's pipelines publish their logs under (`event_log.name`, which the
    runtime is given) and the data-quality gate reads; also the name for a pipeline declared without one."""
    return "event_log_" + re.sub(r"[^A-Za-z0-9_]", "_", pipeline)
