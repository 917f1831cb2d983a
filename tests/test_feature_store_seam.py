"""The seam hands out the feature store client for where the settings say a run is; the domain never chooses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lakehouse.local.feature_store import LocalFeatureStore
from ml.feature_store import feature_store

REPO = Path(__file__).resolve().parent.parent


def test_local_settings_get_the_emulated_store(spark, settings):
    assert settings.local
    assert isinstance(feature_store(spark, settings), LocalFeatureStore)


def test_without_the_emulation_local_settings_are_refused_not_served_a_databricks_client():
    """As in the wheel, where lakehouse.local does not exist: the domain imported alone has only the Databricks
    client registered, and local settings get a ConfigError naming the way out instead of a workspace call."""
    probe = """
import sys
from lakehouse.core.errors import ConfigError
from lakehouse.core.settings import load_settings
from ml.feature_store import feature_store
assert "lakehouse.local" not in sys.modules
try:
    feature_store(None, load_settings("local"))
except ConfigError as error:
    print(error)
else:
    raise SystemExit("served a client")
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no local feature store client registered" in done.stdout and "import lakehouse.local" in done.stdout
