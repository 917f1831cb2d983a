"""Where the UI's rows come from: the queries of queries.py run on the lakehouse's tables through Spark SQL.

Every table is optional (the job history and drift tables come from other jobs, and a fresh lakehouse
has none): a missing table reads as no rows, so each page shows its empty state. Results are kept for
the lifetime of the object, so a page (or a whole static export) runs each query once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse.app.ui import queries
from lakehouse.core.catalogs import quote as quoted
from lakehouse.core.settings import Settings
from lakehouse.core.storage import TableStore
from lakehouse.local.dlt_runtime import event_log_table

EVENT_LOG_PREFIX = "event_log_"
QUARANTINE_PREFIX = "quarantine_"  # the project's quarantine tables: quarantine_<source>, with `_failed_rules`
JOB_RUNS, DRIFT_HISTORY, QUALITY_RESULTS = "job_runs", "drift_history", "data_quality_results"
Row = dict[str, Any]


class Tables:
    """Runs the UI's queries against the configured catalog and schema."""

    def __init__(self, spark: Any, settings: Settings) -> None:
        self.spark = spark
        self.settings = settings
        self.store = TableStore(spark, settings)
        self._cache: dict[tuple[str, tuple[tuple[str, Any], ...]], list[Row]] = {}
        self._tables: list[str] | None = None
        self._names: dict[str, str] = {}

    # -- tables ------------------------------------------------------------------------------
    def tables(self) -> list[str]:
        if self._tables is None:
            self._tables = self.store.list_tables()
        return self._tables

    def has(self, table: str) -> bool:
        return table in self.tables()

    def name(self, table: str) -> str:
        """The quoted, fully qualified name (registered in the session first, as Sail's catalog is in memory)."""
        if table not in self._names:
            self.store.register(table)
            self._names[table] = quoted(self.store.name(table))
        return self._names[table]

    def pipelines(self) -> list[str]:
        """Pipelines with an event log table, by the key in its name (`event_log_<key>`)."""
        return sorted(t[len(EVENT_LOG_PREFIX):] for t in self.tables() if t.startswith(EVENT_LOG_PREFIX))

    def event_logs(self, *pipelines: str) -> str:
        """The event log tables of `pipelines` as the queries' `{events}` source."""
        return queries.event_source({p: self.name(event_log_table(p)) for p in pipelines})

    # -- queries -----------------------------------------------------------------------------
    def rows(self, sql: str, args: Mapping[str, Any] | None = None) -> list[Row]:
        """The result rows of `sql` as dicts (once per object for the same text and arguments)."""
        key = (sql, tuple(sorted((args or {}).items())))
        if key not in self._cache:
            self._cache[key] = [row.asDict() for row in self.spark.sql(sql, args=dict(args or {})).collect()]
        return self._cache[key]

    def updates(self) -> list[Row]:
        """Every update of every pipeline, newest first."""
        pipelines = self.pipelines()
        return self.rows(queries.UPDATES.format(events=self.event_logs(*pipelines))) if pipelines else []

    def datasets(self, pipeline: str, update_id: str | None = None) -> list[Row]:
        return self._per_pipeline(queries.DATASETS, pipeline, update_id)

    def expectations(self, pipeline: str, update_id: str | None = None) -> list[Row]:
        return self._per_pipeline(queries.EXPECTATIONS, pipeline, update_id)

    def edges(self, pipeline: str, update_id: str) -> list[Row]:
        return self.rows(queries.EDGES.format(events=self.event_logs(pipeline)), {"update_id": update_id})

    def flow_events(self, pipeline: str, update_id: str) -> list[Row]:
        return self.rows(queries.FLOW_EVENTS.format(events=self.event_logs(pipeline)), {"update_id": update_id})

    def _per_pipeline(self, template: str, pipeline: str, update_id: str | None) -> list[Row]:
        sql = template.format(events=self.event_logs(pipeline), update_filter=queries.UPDATE_FILTER if update_id else "")
        return self.rows(sql, {"update_id": update_id} if update_id else {})

    def quarantine_samples(self, names: set[str], limit: int) -> list[Row]:
        """The latest `limit` rows of each quarantine table among `names` that has `_failed_rules`."""
        found = []
        for table in (t for t in self.tables() if t.startswith(QUARANTINE_PREFIX) and t in names):
            name = self.name(table)
            columns = self.spark.table(name).columns
            if "_failed_rules" in columns:
                found.append((table, name, "_ingested_at" if "_ingested_at" in columns else None))
        return self.rows(queries.quarantine_samples(found, limit)) if found else []

    def history(self, template: str, table: str, limit: int) -> list[Row]:
        """The rows of a history query (job runs, quality runs, drift months, scoring runs); none without the table."""
        return self.rows(template.format(table=self.name(table), limit=int(limit))) if self.has(table) else []
