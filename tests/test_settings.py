"""Settings resolution: defaults, environment files, variable overrides and clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from lakehouse.errors import ConfigError
from lakehouse.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("LAKEHOUSE_") or key == "AZURE_STORAGE_CONNECTION_STRING":
            monkeypatch.delenv(key)


def test_local_needs_no_configuration():
    s = load_settings()
    assert (s.env, s.engine, s.catalog, s.schema_name) == ("local", "sail", "lakehouse", "churn")
    assert s.storage_root.is_absolute()
    assert s.mlflow_tracking_uri.startswith("sqlite:///") and s.mlflow_tracking_uri.endswith("mlflow.db")
    assert s.table("ards") == "lakehouse.churn.ards"
    assert s.blob.connection_string is None


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_databricks_environments_use_unity_catalog(env):
    s = load_settings(env)
    assert s.engine == "databricks" and s.catalog == f"churn_{env}"
    assert s.mlflow_registry_uri == "databricks-uc"
    assert not s.local


def test_environment_variables_override_the_file(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_CATALOG", "other")
    monkeypatch.setenv("LAKEHOUSE_GENERATOR__CUSTOMERS", "123")
    monkeypatch.setenv("LAKEHOUSE_RUN_DATE", "2026-02-03")
    s = load_settings("dev")
    assert s.catalog == "other"
    assert s.schema_name == "churn"  # from dev.yaml, not overridden
    assert s.generator.customers == 123
    assert s.effective_run_date == date(2026, 2, 3)


def test_keyword_overrides_beat_everything(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_CATALOG", "from_env")
    assert load_settings("local", catalog="from_kwarg").catalog == "from_kwarg"


def test_environment_selected_by_variable(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "staging")
    assert load_settings().catalog == "churn_staging"


def test_connection_string_comes_from_the_environment_only(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")
    s = load_settings()
    assert s.blob.connection_string.get_secret_value() == "UseDevelopmentStorage=true"
    assert "UseDevelopmentStorage" not in repr(s)
    (tmp_path / "local.yaml").write_text("blob:\n  connection_string: AccountKey=abc\n")
    with pytest.raises(ConfigError, match="holds a connection string"):
        load_settings("local", conf_dir=tmp_path)


def test_unknown_environment_is_one_clear_error():
    with pytest.raises(ConfigError, match="unknown environment 'qa'"):
        load_settings("qa")


def test_malformed_settings_file(tmp_path: Path):
    (tmp_path / "local.yaml").write_text("catalog: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings("local", conf_dir=tmp_path)
    (tmp_path / "local.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_settings("local", conf_dir=tmp_path)


def test_invalid_values_name_the_setting(tmp_path: Path):
    (tmp_path / "local.yaml").write_text("catalog: 'x; DROP TABLE y'\n")
    with pytest.raises(ConfigError, match="invalid setting catalog.*plain identifier"):
        load_settings("local", conf_dir=tmp_path)
    (tmp_path / "local.yaml").write_text("generator:\n  customers: -5\n")
    with pytest.raises(ConfigError, match="invalid setting generator.customers"):
        load_settings("local", conf_dir=tmp_path)
    (tmp_path / "local.yaml").write_text("no_such_setting: 1\n")
    with pytest.raises(ConfigError, match="no_such_setting"):
        load_settings("local", conf_dir=tmp_path)


def test_job_settings_come_from_the_environment_file_and_variables(monkeypatch):
    local = load_settings("local")
    assert local.training.threads == 1 and local.training.as_of_every_days == 7  # local.yaml
    assert load_settings("prod").training.as_of_every_days == 7  # prod.yaml
    monkeypatch.setenv("LAKEHOUSE_TRAINING__HORIZON_DAYS", "21")
    monkeypatch.setenv("LAKEHOUSE_TRAINING__GATE__MODE", "dry-run")
    monkeypatch.setenv("LAKEHOUSE_SCORING__THRESHOLD", "0.3")
    s = load_settings("local")
    assert (s.training.horizon_days, s.training.threads, s.training.gate.mode) == (21, 1, "dry-run")
    assert s.scoring.threshold == 0.3


def test_inconsistent_job_settings_are_refused(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_SCORING__TOP_K_PERCENT", "5")  # threshold 0.5 is also set by default
    with pytest.raises(ConfigError, match="exactly one of scoring.threshold and scoring.top_k_percent"):
        load_settings("local")
