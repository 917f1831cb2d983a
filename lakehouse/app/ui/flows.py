"""An update's flow timeline: when each flow was queued, started and ended, as Databricks' update details show.

A flow's `flow_progress` events carry its status changes: QUEUED (waiting for its inputs), STARTING,
RUNNING, then an end state, COMPLETED, FAILED, SKIPPED (an upstream flow failed), STOPPED, IDLE or
EXCLUDED (not selected). The statuses are the open-sourced engine's `FlowStatus`
(https://github.com/apache/spark/blob/master/sql/pipelines/src/main/scala/org/apache/spark/sql/pipelines/common/FlowStatus.scala),
the event its `flow_progress` (https://docs.databricks.com/aws/en/ldp/monitor-event-log-schema).

The local runtime records them as Databricks does. When a flow's log holds only its end state (an event
log written before it did), its start is the update's previous event: the end of the flow before it, or
the update's RUNNING state for the first one. Each span says which of the two its start is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lakehouse.app.ui.source import Tables

QUEUED = "QUEUED"
STARTED = frozenset({"PLANNING", "STARTING", "RUNNING"})
ENDED = frozenset({"COMPLETED", "FAILED", "SKIPPED", "STOPPED", "IDLE", "EXCLUDED"})
EXCLUDED = "EXCLUDED"


@dataclass(frozen=True)
class FlowSpan:
    flow: str
    dataset: str | None
    status: str  # the latest status recorded
    queued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    start_recorded: bool  # False: the start is the update's previous event (see the module docstring)
    rows_written: int | None = None
    error: str | None = None

    @property
    def seconds(self) -> float:
        if self.started_at is None or self.ended_at is None:
            return 0.0
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def ran(self) -> bool:
        return self.status != EXCLUDED


def flow_spans(tables: Tables, pipeline: str, update_id: str) -> list[FlowSpan]:
    """The flows of an update in the order they started (flows that never started last)."""
    seen: dict[str, dict[str, Any]] = {}
    previous: datetime | None = None
    for event in tables.flow_events(pipeline, update_id):
        at, status = event["timestamp"], event["status"]
        if event["event_type"] == "flow_progress" and event["flow"]:
            flow = seen.setdefault(event["flow"], {"flow": event["flow"], "dataset": event["dataset"], "queued_at": None,
                                                   "started_at": None, "ended_at": None, "start_recorded": False})
            flow["status"] = status
            if status == QUEUED and flow["queued_at"] is None:
                flow["queued_at"] = at
            elif status in STARTED and flow["started_at"] is None:
                flow.update(started_at=at, start_recorded=True)
            elif status in ENDED:
                flow.update(ended_at=at, rows_written=event["rows_written"], error=event["error"] or None)
                if flow["started_at"] is None:
                    flow["started_at"] = previous if status != EXCLUDED else at
        previous = at
    spans = [FlowSpan(**f) for f in seen.values()]
    return sorted(spans, key=lambda s: (s.started_at is None, s.started_at or datetime.min, s.flow))
