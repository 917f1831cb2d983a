"""Shared fixtures: one Sail engine per test process, isolated storage per test."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import lakehouse.local  # noqa: F401  the local emulation registers itself with the seam (feature store)
from lakehouse.core.engine import Engine, start_engine
from lakehouse.core.settings import Settings, load_settings
from lakehouse.core.storage import TableStore


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("lakehouse")
    return load_settings(
        "local", storage_root=root / "warehouse", landing_path=str(root / "landing"), shuffle_partitions=2
    )


@pytest.fixture(scope="session")
def engine(base_settings: Settings) -> Engine:
    eng = start_engine(base_settings)
    yield eng
    eng.stop()


@pytest.fixture(scope="session")
def spark(engine: Engine):
    return engine.spark


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    """Settings of one test: its own storage root, landing zone and schema name."""
    return base_settings.model_copy(
        update={
            "storage_root": tmp_path / "warehouse",
            "landing_path": str(tmp_path / "landing"),
            "schema_name": f"t_{uuid.uuid4().hex[:10]}",
        }
    )


@pytest.fixture
def store(spark, settings: Settings) -> TableStore:
    return TableStore(spark, settings)


def own_mlflow(settings: Settings, folder: Path) -> Settings:
    """`settings` with a tracking store and registry of its own (model_copy does not re-derive them from the
    storage root, so tests share the session's store unless they ask for this)."""
    uri = f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}"
    return settings.model_copy(update={"mlflow_tracking_uri": uri, "mlflow_registry_uri": uri})
