"""quality/checks.yaml read for one environment into typed, validated check declarations.

Per-environment values (`{default: x, prod: y}`) are resolved first, then `columns: [...]`
shorthands expanded, then every check validated on its own, so an error names the table, the
check and the field. Each source yields two tables, `bronze_<source>` and `silver_<source>`,
with the source's shared checks plus the layer's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from lakehouse.core.errors import ConfigError
from lakehouse.core.settings import ENVIRONMENTS
from lakehouse.core.source_contract import SOURCES
from quality.checks import (
    AllowedValues,
    Check,
    Completeness,
    Expression,
    Format,
    Freshness,
    HistorySettings,
    Range,
    Referential,
    RescuedData,
    Schema,
    Uniqueness,
)
from quality.event_checks import Expectations, LogCheck, PipelineUpdate
from quality.trend_checks import DistributionMean, DistributionShares, Volume

CHECKS_FILE = Path(__file__).with_name("checks.yaml")
LAYERS = ("bronze", "silver")
_ENV_KEYS = {"default", *ENVIRONMENTS}
TableCheck = Annotated[
    Union[Schema, RescuedData, Completeness, AllowedValues, Range, Format, Expression, Referential, Uniqueness,
          Freshness, Volume, DistributionMean, DistributionShares],
    Field(discriminator="type"),
]
MULTI_COLUMN_TYPES = {"uniqueness"}  # types whose own field is `columns` (not the one-check-per-column shorthand)


class TableSpec(BaseModel):
    """One table to validate: its source contract, the SQL predicate of the run date's slice, its checks."""

    model_config = ConfigDict(frozen=True)
    table: str
    source: str
    slice: str
    checks: list[Check]


class EventLogSpec(BaseModel):
    """The pipeline whose event log is summarised, and the checks on that summary."""

    model_config = ConfigDict(frozen=True)
    pipeline: str
    checks: list[PipelineUpdate | Expectations] = []


class QualityConfig(BaseModel):
    """Everything the validation job reads from the checks file, for one environment."""

    model_config = ConfigDict(frozen=True)
    fail_on: Literal["warn", "error", "never"] = "error"
    history: HistorySettings = HistorySettings()
    sample_rows: int = Field(5, ge=0)
    event_log: EventLogSpec | None = None
    tables: list[TableSpec]


def for_env(value: Any, env: str, where: str) -> Any:
    """`value` with every per-environment mapping replaced by the value for `env` (else `default`)."""
    if isinstance(value, dict) and value and set(value) <= _ENV_KEYS:
        if env not in value and "default" not in value:
            raise ConfigError(f"{where}: no value for environment {env!r} and no default")
        return for_env(value.get(env, value.get("default")), env, where)
    if isinstance(value, dict):
        return {k: for_env(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [for_env(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _validated(items: list[dict[str, Any]], adapter: TypeAdapter, where: str) -> list[Any]:
    """Validated checks; `columns: [a, b]` on a single-column check type becomes one check per column."""
    checks = []
    for i, item in enumerate(items or []):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: check #{i + 1} must be a mapping, got {item!r}")
        if "columns" in item and item.get("type") not in MULTI_COLUMN_TYPES:
            rest = {k: v for k, v in item.items() if k != "columns"}
            variants = [{**rest, "column": column} for column in item["columns"]]
        else:
            variants = [item]
        for variant in variants:
            try:
                checks.append(adapter.validate_python(variant))
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"][1:]) or "check"
                raise ConfigError(f"{where}: check #{i + 1} ({item.get('type')}) {field}: {first['msg']}") from None
    return checks


def _unique(checks: list[Any], where: str) -> list[Any]:
    ids = [c.id for c in checks]
    duplicates = sorted({n for n in ids if ids.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: check names {duplicates} are used more than once (give them a `name`)")
    return checks


def load_config(env: str, path: Path = CHECKS_FILE) -> QualityConfig:
    """The checks of environment `env`; raises ConfigError naming what is wrong and where."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"checks file {path} cannot be read: {str(exc).splitlines()[0]}") from None
    raw = for_env(raw, env, path.name)
    table_checks = TypeAdapter(TableCheck)
    tables = []
    for source, spec in (raw.get("sources") or {}).items():
        if source not in SOURCES:
            raise ConfigError(f"{path.name}: unknown source {source!r} (the contract has {', '.join(SOURCES)})")
        shared = _validated(spec.get("checks"), table_checks, f"{path.name}: sources.{source}.checks")
        for layer in (layer for layer in LAYERS if layer in spec):
            table = f"{layer}_{source}"
            if not spec[layer].get("slice"):
                raise ConfigError(f"{path.name}: {table} needs a `slice` (SQL predicate of the run date's rows)")
            own = _validated(spec[layer].get("checks"), table_checks, f"{path.name}: sources.{source}.{layer}.checks")
            checks = _unique(shared + own, f"{path.name}: {table}")
            tables.append(TableSpec(table=table, source=source, slice=spec[layer]["slice"], checks=checks))
    log = raw.get("event_log")
    if log:
        where = f"{path.name}: event_log.checks"
        log = {**log, "checks": _unique(_validated(log.get("checks"), TypeAdapter(LogCheck), where), where)}
    try:
        return QualityConfig(
            fail_on=(raw.get("gate") or {}).get("fail_on", "error"),
            history=raw.get("history") or {},
            sample_rows=raw.get("sample_rows", 5),
            event_log=log or None,
            tables=tables,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{path.name}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
