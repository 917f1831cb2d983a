"""Which feature store client a run talks to: Databricks Feature Engineering in a workspace, its emulation here.

Both clients implement the same calls (create_table, write_table, create_training_set, log_model, score_batch,
publish_table: https://docs.databricks.com/aws/en/machine-learning/feature-store/python-api). Neither lives in this
layer: the Databricks one is the domain's (ml/feature_store/databricks.py, it runs the domain's checks before each
call) and the local one is emulation (lakehouse/local/feature_store.py, not in the wheel). So each registers its
factory here when its package is imported, and the domain asks `feature_store(spark, settings)` without knowing
where it runs: the seam decides from the settings, and no layer below the emulation ever imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from lakehouse.core.errors import ConfigError
from lakehouse.core.settings import Settings

Where = Literal["databricks", "local"]
Factory = Callable[[Any, Settings], Any]

_factories: dict[Where, Factory] = {}


def register(where: Where, factory: Factory) -> None:
    """Make `factory(spark, settings)` the client for runs `where` (the last registration wins)."""
    _factories[where] = factory


def feature_store(spark: Any, settings: Settings) -> Any:
    """The client for where the settings say we run (`Settings.local`)."""
    where: Where = "local" if settings.local else "databricks"
    factory = _factories.get(where)
    if factory is None:  # local settings in an installation without the emulation (the wheel), or nothing imported
        raise ConfigError(
            f"no {where} feature store client registered: the local one comes with `import lakehouse.local` "
            "(a checkout with the local extras, `make setup`), the Databricks one with `import ml.feature_store`"
        )
    return factory(spark, settings)
