"""One typed settings object: a YAML file per environment, overridden by LAKEHOUSE_* variables.

Precedence (highest first): explicit keyword arguments, environment variables
(`LAKEHOUSE_CATALOG`, `LAKEHOUSE_STORAGE_ROOT`, nested with `__`, e.g. `LAKEHOUSE_GENERATOR__CUSTOMERS`),
the environment's file `lakehouse/core/conf/<env>.yaml`, then the defaults below. Local needs no file
and no variable. Secrets never live in these files: the Blob connection string is read from
`AZURE_STORAGE_CONNECTION_STRING`, or on Databricks from a secret scope when a report is published
(quality.publish), never at load: tasks that publish nothing never touch secrets.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lakehouse.core.errors import ConfigError
from lakehouse.core.job_settings import DriftSettings, ScoringSettings, TrainingSettings

CONF_DIR = Path(__file__).parent / "conf"
ENVIRONMENTS = ("local", "dev", "staging", "prod")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

Engine = Literal["sail", "classic", "databricks"]


def validate_identifier(value: str, what: str) -> str:
    """Catalog, schema and table names go into SQL text: only plain identifiers are allowed."""
    if not IDENTIFIER.match(value):
        raise ValueError(f"{what} {value!r} is not a plain identifier (letters, digits, underscore)")
    return value


class GeneratorSettings(BaseModel):
    """Defaults for the source data generator (see lakehouse.local.datagen), sized for `make demo`.

    181 days (2026-01-01..06-30): the longest feature window is 90 days, so the first complete feature date is day 90
    (03-31); the demo's first training (day 174: train as-of dates from day 90 on), its clean drift month (May against
    the champion's April) and its drifted one (June, complete on the last day) see complete windows only
    (lakehouse.app.demo_story.story). 6,000 customers keeps the demo under 10 minutes on 2 cores (10.6M transactions; 10,000
    customers over 90 days were 9M) with about 75 churners in its test split."""

    seed: int = 42
    customers: int = Field(6_000, gt=0)
    transactions_per_customer_day: float = Field(10.0, gt=0)
    world_start: date = date(2026, 1, 1)
    days: int = Field(181, gt=0)
    defect_rate: float = Field(0.0, ge=0, le=0.5)
    drift_start: date | None = None


class BlobSettings(BaseModel):
    """Where reports are published and where they wait until then; secrets come from the environment or a scope."""

    container: str = "lakehouse-reports"
    connection_string: SecretStr | None = None  # from AZURE_STORAGE_CONNECTION_STRING only
    local_dir: Path | None = None  # publish to a folder instead of Blob when set
    pending_path: Path | None = None  # where reports wait for upload; default: lakehouse/platform/volumes.py
    secret_scope: str = "churn"  # on Databricks: the connection string is this scope's secret ...
    secret_key: str = "azure-storage-connection-string"  # ... under this key, when the variable is not set


class Settings(BaseSettings):
    """Everything a job needs to know about where it runs."""

    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    env: Literal["local", "dev", "staging", "prod"] = "local"
    engine: Engine = "sail"
    catalog: str = "lakehouse"
    schema_name: str = "churn"
    storage_root: Path = Path("data/warehouse")
    landing_path: str = "data/landing"
    mlflow_tracking_uri: str = ""  # unset (empty or null): SQLite beside the warehouse, <storage_root>/../mlflow
    mlflow_registry_uri: str = ""  # unset: the tracking URI
    experiment_name: str = "/Shared/churn-local"
    model_name: str = "churn_model"
    run_date: date | None = None
    sail_port: int = Field(0, ge=0, le=65535)
    shuffle_partitions: int = Field(4, gt=0)
    generator: GeneratorSettings = GeneratorSettings()
    blob: BlobSettings = BlobSettings()
    training: TrainingSettings = TrainingSettings()
    scoring: ScoringSettings = ScoringSettings()
    drift: DriftSettings = DriftSettings()

    @field_validator("catalog", "schema_name", "model_name")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        return validate_identifier(value, "name")

    @field_validator("mlflow_tracking_uri", "mlflow_registry_uri", mode="before")
    @classmethod
    def _null_is_unset(cls, value: Any) -> Any:
        return "" if value is None else value  # a key without a value in YAML

    @model_validator(mode="after")
    def _resolve(self) -> "Settings":
        """Resolve the paths and fill in the unset URIs: after validation every field holds its final value."""
        root = self.storage_root.expanduser()
        self.storage_root = root if root.is_absolute() or self.engine == "databricks" else root.resolve()
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{self.storage_root.parent / 'mlflow' / 'mlflow.db'}"
        if not self.mlflow_registry_uri:
            self.mlflow_registry_uri = self.mlflow_tracking_uri
        secret = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")  # the secret scope is read when publishing
        if secret and self.blob.connection_string is None:
            self.blob.connection_string = SecretStr(secret)
        pending = self.blob.pending_path
        if pending is not None and not pending.expanduser().is_absolute():
            if not self.local:  # relative = the task's working directory, which serverless does not guarantee
                raise ValueError(f"blob.pending_path {pending} must be absolute on Databricks (a /Volumes/... path)")
            self.blob.pending_path = pending.expanduser().resolve()
        return self

    @property
    def local(self) -> bool:
        """True when tables live under the storage root rather than in Unity Catalog."""
        return self.engine != "databricks"

    @property
    def landing(self) -> Path:
        path = Path(self.landing_path).expanduser()
        return path if path.is_absolute() else path.resolve()

    @property
    def effective_run_date(self) -> date:
        """The data day a daily job processes: the configured run date, else yesterday (UTC)."""
        from datetime import datetime, timezone

        return self.run_date or (datetime.now(timezone.utc).date() - timedelta(days=1))

    def table(self, name: str) -> str:
        """Fully qualified `catalog.schema.table`."""
        return f"{self.catalog}.{self.schema_name}.{validate_identifier(name, 'table')}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _EnvFileSource(settings_cls)




_FILE_VALUES: ContextVar[dict[str, Any]] = ContextVar("_FILE_VALUES", default={})


class _EnvFileSource(PydanticBaseSettingsSource):
    """The values of the environment's YAML file, lowest precedence but above the defaults."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return _FILE_VALUES.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES.get())


def _read_env_file(env: str, conf_dir: Path) -> dict[str, Any]:
    if env not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {env!r}: choose one of {', '.join(ENVIRONMENTS)}")
    path = conf_dir / f"{env}.yaml"
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"settings file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"settings file {path} must hold a mapping of setting names to values")
    if "connection_string" in str(data.get("blob", {})):
        raise ConfigError(f"settings file {path} holds a connection string: set AZURE_STORAGE_CONNECTION_STRING instead")
    return data


def load_settings(env: str | None = None, conf_dir: Path = CONF_DIR, **overrides: Any) -> Settings:
    """Resolve the settings of `env` (default: $LAKEHOUSE_ENV, else local); raises ConfigError."""
    env = env or os.environ.get("LAKEHOUSE_ENV", "local")
    token = _FILE_VALUES.set(_read_env_file(env, conf_dir))
    try:
        return Settings(env=env, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where} for environment {env!r}: {first['msg']}") from None
    finally:
        _FILE_VALUES.reset(token)
