"""MLflow wiring from the settings: tracking and registry URIs, the environment's experiment, model names.

Locally everything is in SQLite next to the warehouse and artifacts go to `<storage_root>/../mlflow/
artifacts` (never ./mlruns of the working directory); on Databricks the workspace tracking server
and the Unity Catalog registry, where a model is named catalog.schema.model.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from lakehouse.core.lock import process_alive
from lakehouse.core.settings import Settings

RUN_HOST, RUN_PID, INTERRUPTED = "lakehouse.host", "lakehouse.pid", "lakehouse.interrupted"


def mlflow_dir(settings: Settings) -> Path:
    return settings.storage_root.parent / "mlflow"


def registered_model_name(settings: Settings) -> str:
    """`model_name` locally; `catalog.schema.model_name` in Unity Catalog."""
    return settings.model_name if settings.local else f"{settings.catalog}.{settings.schema_name}.{settings.model_name}"


def configure(settings: Settings) -> Any:
    """Point MLflow at the environment's tracking server and registry; returns the client."""
    import mlflow

    if settings.local:
        mlflow_dir(settings).mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_registry_uri)
    return mlflow.MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri)


def experiment_id(settings: Settings) -> str:
    """The environment's experiment (created on first use, artifacts beside the local database)."""
    import mlflow

    found = mlflow.get_experiment_by_name(settings.experiment_name)
    if found is not None:
        return found.experiment_id
    location = (mlflow_dir(settings) / "artifacts").as_uri() if settings.local else None
    return mlflow.create_experiment(settings.experiment_name, artifact_location=location)


def process_tags() -> dict[str, str]:
    """Which process a run belongs to, so that a later run can tell a dead run from a live one."""
    return {RUN_HOST: socket.gethostname(), RUN_PID: str(os.getpid())}


def close_dead_runs(client: Any, experiment: str) -> list[str]:
    """Mark KILLED the experiment's RUNNING runs whose process on this host is gone; returns their ids.

    A training killed mid-run cannot end its own run, which would otherwise stay RUNNING for ever."""
    host = socket.gethostname()
    found = client.search_runs([experiment], f"attributes.status = 'RUNNING' AND tags.`{RUN_HOST}` = '{host}'")
    dead = [r for r in found if str(r.data.tags.get(RUN_PID, "")).isdigit()
            and not process_alive(int(r.data.tags[RUN_PID]))]
    for run in dead:
        client.set_tag(run.info.run_id, INTERRUPTED, "its process ended before the run finished (killed or crashed)")
        client.set_terminated(run.info.run_id, status="KILLED")
    return [r.info.run_id for r in dead]
