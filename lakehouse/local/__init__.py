"""The local emulation of the platform: DLT runtime, file ingestion, job runner, bundle reading, Azurite, the
data generator, engine parity. Never runs on Databricks and is not in the wheel (docs/architecture.md).
"""

from typing import Any

from lakehouse.core.settings import Settings
from lakehouse.platform import feature_store as _feature_store_seam


def local_feature_store(spark: Any, settings: Settings) -> Any:
    """The emulated feature store, imported on first use (it loads Spark and pandas, ~1.4 s): importing
    `lakehouse.local` for Azurite or the job runner stays cheap."""
    from lakehouse.local.feature_store import LocalFeatureStore

    return LocalFeatureStore(spark, settings)


# The emulation wires itself into the seam: whatever runs locally imports lakehouse.local (the CLI, the job runner,
# the tests' conftest), and nothing that runs on Databricks can (docs/architecture.md, "Choosing an implementation").
_feature_store_seam.register("local", local_feature_store)
