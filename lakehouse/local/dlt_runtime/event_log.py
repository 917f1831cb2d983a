"""The pipeline event log: a Delta table in the target schema, Databricks-shaped, named by the pipeline
resource's `event_log.name` (the bundle's pipelines publish theirs as `event_log_<pipeline>`).

Columns follow the Databricks pipeline event log: id, sequence (JSON string), origin (struct with
pipeline_id, pipeline_name, update_id, flow_name, dataset_name), timestamp, level, event_type, message,
error (string, null when none), details (JSON string) and maturity_level
(https://docs.databricks.com/aws/en/ldp/monitor-event-log-schema). Queries that read `details` with the JSON
string functions (`get_json_object`, `from_json`) run unchanged on both sides, e.g. EXPECTATIONS_QUERY.
Databricks' own examples write `details:flow_progress.data_quality.expectations`, the `:` JSON path operator
of Databricks SQL: Sail does not parse it and Spark 4 accepts it only on VARIANT columns, so locally use the
`get_json_object(details, '$.flow_progress...')` form, which returns the same JSON text.

A flow's `flow_progress` events follow its status as Databricks records them: QUEUED when the update plans it,
STARTING and RUNNING when it starts, then its end state, COMPLETED, FAILED, SKIPPED (an upstream flow failed) or
EXCLUDED (outside a refresh selection, its only event) (`details:flow_progress.status`, "Event log schema",
https://docs.databricks.com/aws/en/ldp/monitor-event-log-schema; the statuses are the open engine's `FlowStatus`,
https://github.com/apache/spark/blob/master/sql/pipelines/src/main/scala/org/apache/spark/sql/pipelines/common/FlowStatus.scala).
As there, `metrics` and `data_quality` ride on the end event only: a query summing them over `flow_progress`
counts each flow once, and one that wants a flow's outcome filters on the status or on `metrics` being present.

Events are collected during the update and appended in one write at its end, also when it failed. Their
timestamps never decrease (a wall clock stepped back is held at the last one), so ordering by `timestamp` or by
`sequence` gives the same order of a flow's status changes.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from lakehouse.core.storage import TableStore
from lakehouse.platform.event_log import EXPECTATIONS_QUERY, table_name  # noqa: F401 - the seam's

SCHEMA = (
    "id string, sequence string, "
    "origin struct<pipeline_id: string, pipeline_name: string, update_id: string, flow_name: string, dataset_name: string>, "
    "timestamp timestamp, level string, event_type string, message string, error string, details string, "
    "maturity_level string"
)


QUEUED, STARTING, RUNNING = "QUEUED", "STARTING", "RUNNING"  # a flow's statuses before its end (results.py)


class EventLog:
    """Events of one update, written with `flush`."""

    def __init__(self, pipeline: str, pipeline_id: str, update_id: str, table: str | None = None) -> None:
        self.pipeline = pipeline
        self.table = table or table_name(pipeline)
        self.pipeline_id = pipeline_id
        self.update_id = update_id
        self.events: list[dict[str, Any]] = []
        self._instance = socket.gethostname()
        self._last_seq = 0
        self._last_at = datetime.min.replace(tzinfo=timezone.utc)

    def emit(
        self,
        event_type: str,
        message: str,
        details: dict[str, Any],
        level: str = "INFO",
        flow: str | None = None,
        dataset: str | None = None,
        error: str | None = None,
    ) -> None:
        self._last_seq = max(self._last_seq + 1, time.time_ns())
        self._last_at = max(self._last_at, datetime.now(timezone.utc))
        self.events.append(
            {
                "id": str(uuid.uuid4()),
                "sequence": json.dumps({"data_plane_id": {"instance": self._instance, "seq_no": self._last_seq}}),
                "origin": {
                    "pipeline_id": self.pipeline_id,
                    "pipeline_name": self.pipeline,
                    "update_id": self.update_id,
                    "flow_name": flow,
                    "dataset_name": dataset,
                },
                "timestamp": self._last_at,
                "level": level,
                "event_type": event_type,
                "message": message,
                "error": error,
                "details": json.dumps(details, default=str),
                "maturity_level": "STABLE",
            }
        )

    def flush(self, store: TableStore) -> None:
        """Append the collected events to the event log table (created on first use)."""
        if not self.events:
            return
        frame = store.spark.createDataFrame(self.events, SCHEMA)
        if store.exists(self.table):
            store.append(frame, self.table)
        else:
            store.overwrite(frame, self.table)
        self.events = []
