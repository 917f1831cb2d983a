"""Run a bundle pipeline on this machine: bundle resource -> local DLT runtime update.

The pipeline's structure (source folders, configuration) comes from bundle/; catalog, schema and
landing path come from the settings, so a run can be pointed elsewhere. A run for a date narrows
the update to what that day can change: files delivered up to the date, and feature dates from
`late_arrival_days` before it (late records re-open those dates) through the date itself.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Sequence

from lakehouse.bundle import pipeline_spec
from lakehouse.settings import Settings
from lakehouse.sources import INGEST_THROUGH_CONF, LANDING_PATH_CONF, STORAGE_ROOT_CONF, register_local_sources

if TYPE_CHECKING:  # the runtime (and deltalake) loads only when a pipeline runs here, not where its keys are read
    from lakehouse.dlt_runtime.runner import PipelineSettings

LATE_DAYS_CONF = "lakehouse.late_arrival_days"
START_CONF = "lakehouse.feature_start_date"
END_CONF = "lakehouse.feature_end_date"


def local_pipeline(settings: Settings, key: str, run_date: date | None = None, full_refresh: bool = False) -> PipelineSettings:
    """The bundle's pipeline `key` with this run's configuration."""
    from lakehouse.dlt_runtime.runner import PipelineSettings

    spec = pipeline_spec(
        key, "local", {"catalog": settings.catalog, "schema": settings.schema_name, "landing_path": str(settings.landing)}
    )
    conf = dict(spec.configuration)
    conf[LANDING_PATH_CONF] = str(settings.landing)
    conf[STORAGE_ROOT_CONF] = str(settings.storage_root)
    if run_date is not None:
        conf[INGEST_THROUGH_CONF] = run_date.isoformat()
        conf[END_CONF] = run_date.isoformat()
        if not full_refresh:
            late_days = int(conf.get(LATE_DAYS_CONF, "2"))
            conf[START_CONF] = (run_date - timedelta(days=late_days)).isoformat()
    return PipelineSettings(name=key, catalog=spec.catalog, target=spec.schema, sources=spec.source_dirs,
                            configuration=conf)


def run_pipeline(spark: Any, settings: Settings, key: str, run_date: date | None = None, full_refresh: bool = False,
                 refresh: Sequence[str] | None = None, full_refresh_selection: Sequence[str] | None = None,
                 console: Any = None) -> Any:
    """One update of pipeline `key`; returns the UpdateResult.

    Incremental by default; `full_refresh` recomputes everything; `refresh` updates only the named
    datasets and `full_refresh_selection` recomputes only those (e.g. to recover from bad data that
    already reached bronze: deliver the corrected file, then fully refresh the affected tables).
    Any full refresh computes gold over every date, never just the late-data window.
    """
    from lakehouse.dlt_runtime.runner import run_update

    register_local_sources()
    pipeline = local_pipeline(settings, key, run_date, full_refresh or bool(full_refresh_selection))
    return run_update(spark, settings, pipeline, full_refresh=full_refresh, refresh=list(refresh) if refresh else None,
                      full_refresh_selection=list(full_refresh_selection) if full_refresh_selection else None,
                      console=console)
