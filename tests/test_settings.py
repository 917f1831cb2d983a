"""Settings resolution: defaults, environment files, variable overrides and clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from lakehouse.core.errors import ConfigError
from lakehouse.core.settings import load_settings
from lakehouse.platform.volumes import reports_pending_path


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


@pytest.mark.parametrize("unset", ["mlflow_tracking_uri:\n", "mlflow_tracking_uri: ''\n", ""],
                         ids=["null", "empty", "absent"])
def test_an_unset_tracking_uri_is_the_sqlite_store_beside_the_warehouse_and_the_registry_follows(tmp_path: Path, unset):
    """Never MLflow's own default (./mlruns of whatever directory the job starts in)."""
    (tmp_path / "local.yaml").write_text(unset + "mlflow_registry_uri:\n")
    s = load_settings("local", conf_dir=tmp_path, storage_root=tmp_path / "lake" / "warehouse")
    assert s.mlflow_tracking_uri == s.mlflow_registry_uri == f"sqlite:///{tmp_path}/lake/mlflow/mlflow.db"
    assert load_settings("local", conf_dir=tmp_path, mlflow_tracking_uri="http://mlflow:5000").mlflow_registry_uri == (
        "http://mlflow:5000")


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


def test_reports_pending_path_comes_from_the_settings(monkeypatch, tmp_path: Path):
    local = load_settings(storage_root=tmp_path / "warehouse")
    assert reports_pending_path(local) == tmp_path / "warehouse" / "_reports_pending"
    prod = load_settings("prod", schema_name="churn_ci")  # on Databricks: the schema's `reports` volume
    assert reports_pending_path(prod) == Path("/Volumes/churn_prod/churn_ci/reports/pending")
    monkeypatch.setenv("LAKEHOUSE_BLOB__PENDING_PATH", "/Volumes/shared/ops/reports/pending")
    assert reports_pending_path(load_settings("prod")) == Path("/Volumes/shared/ops/reports/pending")
    monkeypatch.setenv("LAKEHOUSE_BLOB__PENDING_PATH", "pending")  # relative: the task's working directory
    with pytest.raises(ConfigError, match="blob.pending_path pending must be absolute on Databricks"):
        load_settings("prod")
    monkeypatch.chdir(tmp_path)
    assert reports_pending_path(load_settings("local")) == tmp_path / "pending"  # locally resolved once, at load


def test_loading_settings_on_databricks_reads_no_secret(monkeypatch):
    """Tasks that publish nothing (train, score) must not need READ on the secret scope: the read happens when
    a report is published (quality.publish). dbutils is replaced by a recorder, as the runtime is not here."""
    import sys
    import types

    reads: list[tuple[str, str]] = []
    secrets = types.SimpleNamespace(get=lambda scope, key: reads.append((scope, key)) or "UseDevelopmentStorage=true")
    runtime = types.ModuleType("databricks.sdk.runtime")
    runtime.dbutils = types.SimpleNamespace(secrets=secrets)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "databricks.sdk.runtime", runtime)
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "client.1.13")
    settings = load_settings("prod")
    assert reads == [] and settings.blob.connection_string is None

    from lakehouse.platform.secrets import databricks_secret

    assert databricks_secret("churn", "azure-storage-connection-string") == "UseDevelopmentStorage=true"
    assert reads == [("churn", "azure-storage-connection-string")]


# -- what the rest of the settings resolve to (mutation testing, benchmarks/results/mutation.md) ------------------
def test_without_a_run_date_a_daily_job_processes_yesterday_in_utc():
    from datetime import datetime, timedelta, timezone

    before = datetime.now(timezone.utc).date()
    found = load_settings("local").effective_run_date
    after = datetime.now(timezone.utc).date()
    assert found in {before - timedelta(days=1), after - timedelta(days=1)}
    assert load_settings("local", run_date=date(2026, 3, 1)).effective_run_date == date(2026, 3, 1)


def test_the_landing_folder_is_absolute_relative_to_where_the_job_starts(monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    assert load_settings("local", landing_path="drops").landing == tmp_path / "drops"
    assert load_settings("local", landing_path="/srv/landing").landing == Path("/srv/landing")


def test_a_yaml_error_is_reported_by_its_first_line_what_went_wrong(tmp_path: Path):
    (tmp_path / "local.yaml").write_text("catalog: [unclosed\n")
    with pytest.raises(ConfigError) as refused:
        load_settings("local", conf_dir=tmp_path)
    assert str(refused.value) == f"settings file {tmp_path / 'local.yaml'} is not valid YAML: while parsing a flow sequence"


def test_with_several_invalid_values_the_first_is_named(tmp_path: Path):
    (tmp_path / "local.yaml").write_text("catalog: 'x; DROP TABLE y'\ngenerator:\n  customers: -5\n")
    with pytest.raises(ConfigError, match="^invalid setting catalog for environment 'local': "):
        load_settings("local", conf_dir=tmp_path)


@pytest.mark.parametrize(("engine", "local"), [("sail", True), ("classic", True), ("databricks", False)])
def test_a_relative_storage_root_is_resolved_where_tables_are_local_files(monkeypatch, tmp_path: Path, engine, local):
    """Locally (Sail or classic Spark) the root is made absolute once; on Databricks a path is not this machine's."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings("local", engine=engine, storage_root="warehouse")
    assert settings.local is local
    assert settings.storage_root == (tmp_path / "warehouse" if local else Path("warehouse"))
    assert settings.sail_port == 0  # any free port
