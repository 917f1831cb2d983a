"""The pipeline event log: a Delta table `event_log_<pipeline>` in the target schema, Databricks-shaped.

Columns follow the Databricks pipeline event log: id, sequence (JSON string), origin (struct with
pipeline_id, pipeline_name, update_id, flow_name, dataset_name), timestamp, level, event_type, message,
error (string, null when none), details (JSON string) and maturity_level. So the queries written for
Databricks work unchanged, e.g.

    SELECT origin.dataset_name, get_json_object(details, '$.flow_progress.data_quality.expectations')
    FROM <catalog>.<schema>.event_log_<pipeline> WHERE event_type = 'flow_progress'

Events are collected during the update and appended in one write at its end, also when it failed.
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from lakehouse.storage import TableStore

SCHEMA = (
    "id string, sequence string, "
    "origin struct<pipeline_id: string, pipeline_name: string, update_id: string, flow_name: string, dataset_name: string>, "
    "timestamp timestamp, level string, event_type string, message string, error string, details string, "
    "maturity_level string"
)


def table_name(pipeline: str) -> str:
    return "event_log_" + re.sub(r"[^A-Za-z0-9_]", "_", pipeline)


class EventLog:
    """Events of one update, written with `flush`."""

    def __init__(self, pipeline: str, pipeline_id: str, update_id: str) -> None:
        self.pipeline = pipeline
        self.pipeline_id = pipeline_id
        self.update_id = update_id
        self.events: list[dict[str, Any]] = []
        self._instance = socket.gethostname()
        self._last_seq = 0

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
                "timestamp": datetime.now(timezone.utc),
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
        table = table_name(self.pipeline)
        if store.exists(table):
            store.append(frame, table)
        else:
            store.overwrite(frame, table)
        self.events = []
