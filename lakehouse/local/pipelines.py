"""Run a bundle pipeline on this machine: bundle resource -> local DLT runtime update.

The pipeline's structure (source folders, configuration) comes from bundle/; catalog, schema and
landing path come from the settings, so a run can be pointed elsewhere. A run for a date ingests the
landing folders up to that date (`lakehouse.ingest_through`, a local ingestion limit of the runtime's Auto Loader). Auto Loader has no
equivalent for a folder's date: it ingests every new file present, each once (its `modifiedBefore` option bounds
a file's modification time, not the data day; changed files are not re-read, `cloudFiles.allowOverwrites` false:
https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/options). On the daily schedule that
is the same set, since a day's folder is complete before the job starts and the next day's has not begun; locally
the limit lets tests and the demo replay history day by day. Nothing else about the date
reaches the pipeline: which feature dates an update recomputes follows from the files it ingested
(lakehouse.platform.sources.recompute_window), as on Databricks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings
from lakehouse.local.bundle import pipeline_spec
from lakehouse.platform.sources import LANDING_PATH_CONF

if TYPE_CHECKING:  # the runtime (and deltalake) loads only when a pipeline runs here, not where its keys are read
    from lakehouse.local.dlt_runtime.runner import PipelineSettings


def local_pipeline(settings: Settings, key: str, run_date: date | None = None) -> PipelineSettings:
    """The bundle's pipeline `key` with this run's configuration and the event log name it publishes."""
    from lakehouse.local.dlt_runtime.auto_loader import INGEST_THROUGH_CONF
    from lakehouse.local.dlt_runtime.runner import PipelineSettings

    spec = pipeline_spec(
        key, "local", {"catalog": settings.catalog, "schema": settings.schema_name, "landing_path": str(settings.landing)}
    )
    conf = dict(spec.configuration)
    conf[LANDING_PATH_CONF] = str(settings.landing)
    if run_date is not None:
        conf[INGEST_THROUGH_CONF] = run_date.isoformat()
    return PipelineSettings(name=key, catalog=spec.catalog, target=spec.schema, sources=spec.source_dirs,
                            configuration=conf, event_log=spec.event_log)


def folder_pipeline(settings: Settings, sources: Sequence[Path], configuration: Mapping[str, str],
                    name: str | None = None) -> PipelineSettings:
    """Any pipeline folder, not only the bundle's: its .py files, the settings' catalog and schema as its target,
    and `configuration` for `spark.conf.get`. The name (default: the first folder's name) keys its state and event
    log (`event_log_<name>`), so a second run is incremental."""
    from lakehouse.local.dlt_runtime.runner import PipelineSettings

    if not sources:
        raise LakehouseError("give the pipeline's source folder or files (--source)")
    chosen = name or Path(sources[0]).resolve().name
    return PipelineSettings(name=chosen, catalog=settings.catalog, target=settings.schema_name,
                            sources=tuple(Path(s) for s in sources), configuration=dict(configuration))


def run_pipeline(spark: Any, settings: Settings, key: str, run_date: date | None = None, full_refresh: bool = False,
                 refresh: Sequence[str] | None = None, full_refresh_selection: Sequence[str] | None = None,
                 console: Any = None) -> Any:
    """One update of pipeline `key`; returns the UpdateResult.

    Incremental by default; `full_refresh` recomputes everything; `refresh` updates only the named
    datasets and `full_refresh_selection` recomputes only those (e.g. to recover from bad data that
    already reached bronze: deliver the corrected file, then fully refresh the affected tables).
    A full refresh of a gold table computes it over every date, never just the late-data window.
    """
    from lakehouse.local.dlt_runtime.runner import run_update

    pipeline = local_pipeline(settings, key, run_date)
    return run_update(spark, settings, pipeline, full_refresh=full_refresh, refresh=list(refresh) if refresh else None,
                      full_refresh_selection=list(full_refresh_selection) if full_refresh_selection else None,
                      console=console)
