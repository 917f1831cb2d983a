"""The UI's data layer: every query it runs, as SQL text that also runs on Databricks SQL.

Event log queries read `details` with `get_json_object` / `from_json` (the JSON-string accessors Spark
SQL, Sail and Databricks SQL share; Databricks' `details:path` syntax is Databricks-only) and `origin`
as a struct, as in a pipeline's published event log table. `{events}` is replaced by `event_source`:
the event log tables of the pipelines shown (one per pipeline, each row tagged with the pipeline's
key), so one query answers for all of them. Each query is grouped so that one result feeds several
widgets of a page. Values come in as named parameters (`:update_id`); table names and pipeline keys
are validated identifiers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

EXPECTATIONS_TYPE = "array<struct<name:string,dataset:string,passed_records:bigint,failed_records:bigint>>"
RUN_DATE_KEY = "lakehouse.ingest_through"  # the landing day a local update ingested up to (lakehouse.local.dlt_runtime.auto_loader.INGEST_THROUGH_CONF)
EVENT_COLUMNS = "origin, timestamp, level, event_type, error, details"


def event_source(tables: Mapping[str, str]) -> str:
    """The union of event log tables ({pipeline key: quoted name}): `pipeline` and the columns the queries use."""
    return " UNION ALL ".join(f"SELECT '{key}' AS pipeline, {EVENT_COLUMNS} FROM {table}" for key, table in tables.items())


# One row per update: when it ran, how it ended, which day it processed.
UPDATES = f"""
WITH events AS ({{events}})
SELECT pipeline,
       origin.update_id AS update_id,
       min(timestamp) AS started_at,
       max(timestamp) AS ended_at,
       max_by(get_json_object(details, '$.update_progress.state'), timestamp)
           FILTER (WHERE event_type = 'update_progress') AS state,
       max_by(error, timestamp) FILTER (WHERE event_type = 'update_progress') AS error,
       max(get_json_object(details, "$.create_update.config['{RUN_DATE_KEY}']")) AS run_date,
       max(CAST(get_json_object(details, '$.create_update.full_refresh') AS BOOLEAN)) AS full_refresh
FROM events
WHERE origin.update_id IS NOT NULL
GROUP BY pipeline, origin.update_id
ORDER BY started_at DESC
"""

# One row per dataset and update: worst flow status, rows written and dropped (summed over its flows).
DATASETS = """
WITH events AS ({events}),
flows AS (
  SELECT pipeline,
         origin.update_id AS update_id,
         origin.dataset_name AS dataset,
         get_json_object(details, '$.flow_progress.status') AS status,
         CAST(get_json_object(details, '$.flow_progress.metrics.num_output_rows') AS BIGINT) AS rows_written,
         CAST(get_json_object(details, '$.flow_progress.data_quality.dropped_records') AS BIGINT) AS rows_dropped,
         error,
         timestamp
  FROM events
  WHERE event_type = 'flow_progress' {update_filter}
)
SELECT pipeline, update_id, dataset,
       CASE WHEN count_if(status = 'FAILED') > 0 THEN 'FAILED'
            WHEN count_if(status = 'SKIPPED') > 0 THEN 'SKIPPED'
            WHEN count_if(status = 'COMPLETED') > 0 THEN 'COMPLETED'
            ELSE max(status) END AS status,
       coalesce(sum(rows_written), 0) AS rows_written,
       coalesce(sum(rows_dropped), 0) AS rows_dropped,
       concat_ws('; ', collect_list(error)) AS error,
       max(timestamp) AS ended_at
FROM flows
GROUP BY pipeline, update_id, dataset
"""

# One row per expectation (dataset, rule) and update: passed and failed records over the dataset's flows.
EXPECTATIONS = f"""
WITH events AS ({{events}})
SELECT pipeline,
       origin.update_id AS update_id,
       coalesce(e.dataset, origin.dataset_name) AS dataset,
       e.name AS rule,
       sum(e.passed_records) AS passed,
       sum(e.failed_records) AS failed
FROM events
LATERAL VIEW explode(from_json(get_json_object(details, '$.flow_progress.data_quality.expectations'),
                               '{EXPECTATIONS_TYPE}')) x AS e
WHERE event_type = 'flow_progress' {{update_filter}}
GROUP BY pipeline, origin.update_id, coalesce(e.dataset, origin.dataset_name), e.name
"""

# The dataset graph of an update as Databricks records it: `flow_definition` events (one per flow).
EDGES = """
WITH events AS ({events})
SELECT DISTINCT get_json_object(details, '$.flow_definition.output_dataset') AS dataset, input
FROM events
LATERAL VIEW OUTER explode(from_json(get_json_object(details, '$.flow_definition.input_datasets'),
                                     'array<string>')) x AS input
WHERE event_type = 'flow_definition' AND origin.update_id = :update_id
"""

UPDATE_FILTER = "AND origin.update_id = :update_id"

# An update's flow_progress events (every status change of every flow) and update_progress events, in time order:
# the flow timeline of the update page.
FLOW_EVENTS = """
WITH events AS ({events})
SELECT event_type,
       origin.flow_name AS flow,
       origin.dataset_name AS dataset,
       coalesce(get_json_object(details, '$.flow_progress.status'),
                get_json_object(details, '$.update_progress.state')) AS status,
       CAST(get_json_object(details, '$.flow_progress.metrics.num_output_rows') AS BIGINT) AS rows_written,
       error,
       timestamp
FROM events
WHERE event_type IN ('flow_progress', 'update_progress') AND origin.update_id = :update_id
ORDER BY timestamp
"""


def quarantine_samples(tables: Sequence[tuple[str, str, str | None]], limit: int) -> str:
    """The latest `limit` rows of each quarantine table, as (table_name, rules, record JSON).

    `tables` holds (label, quoted name, ordering column or None).
    """
    parts = [
        f"SELECT * FROM (SELECT '{label}' AS table_name, _failed_rules AS rules, to_json(struct(*)) AS record "
        f"FROM {name}{f' ORDER BY {order} DESC' if order else ''} LIMIT {int(limit)})"
        for label, name, order in tables
    ]
    return " UNION ALL ".join(parts)


# Job run history (issue 8's `job_runs`): the latest runs, newest first.
JOB_RUNS = """
SELECT run_id, job, task, run_date, attempt, status, started_at, ended_at, duration_s, error
FROM {table}
ORDER BY started_at DESC
LIMIT {limit}
"""

# Data-quality runs, one per run date (a rerun replaces the day): status and failed checks.
QUALITY_RUNS = """
SELECT run_date,
       max_by(run_id, validated_at) AS run_id,
       count(*) AS checks,
       count_if(outcome = 'failed') AS failed,
       CASE WHEN count_if(level = 'error') > 0 THEN 'error'
            WHEN count_if(level = 'warn') > 0 THEN 'warn' ELSE 'ok' END AS status,
       max(validated_at) AS validated_at
FROM {table}
GROUP BY run_date
ORDER BY run_date DESC
LIMIT {limit}
"""

# Drift history (quality/drift/history.py), one row per month: columns checked, which drifted, the verdict.
DRIFT_MONTHS = """
SELECT month,
       count(DISTINCT column_name) AS columns,
       count(DISTINCT CASE WHEN drifted THEN column_name END) AS drifted,
       array_sort(collect_set(CASE WHEN drifted THEN column_name END)) AS drifted_columns,
       max(CAST(dataset_drift AS INT)) = 1 AS dataset_drift,
       max(CAST(retrain_recommended AS INT)) = 1 AS retrain_recommended
FROM {table}
GROUP BY month
ORDER BY month DESC
LIMIT {limit}
"""

# Batch scoring runs, one per score date: rows, positive decisions, model version, when.
SCORING_RUNS = """
SELECT score_date,
       count(*) AS rows,
       count_if(decision) AS positives,
       avg(probability) AS mean_probability,
       max(model_version) AS model_version,
       max(scored_at) AS scored_at
FROM {table}
GROUP BY score_date
ORDER BY score_date DESC
LIMIT {limit}
"""
