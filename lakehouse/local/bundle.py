"""Reads the Databricks Asset Bundle in bundle/ so local runs use the same pipeline and job definitions.

Only what the local runtime needs is resolved: includes, target overrides, `${var.*}` /
`${bundle.*}` substitutions, and `${resources.<kind>.<key>.id}`, whose local id is the resource key. Values the local settings know better (catalog, schema, landing path)
are passed in as variable overrides, so tests and users can point a run elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from lakehouse.core.errors import ConfigError

BUNDLE_DIR = Path(__file__).resolve().parents[2] / "bundle"
_REF = re.compile(r"\$\{(var|bundle)\.([A-Za-z0-9_]+)\}")
_RESOURCE_REF = re.compile(r"\$\{resources\.([a-z_]+)\.([A-Za-z0-9_]+)\.id\}")


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline resource as the local DLT runtime needs it."""

    key: str
    name: str
    catalog: str
    schema: str
    source_dirs: tuple[Path, ...]
    configuration: Mapping[str, str]
    event_log: str | None = None  # `event_log.name`: the table the pipeline publishes its event log to


def _event_log(key: str, body: Mapping[str, Any], catalog: str, schema: str) -> str | None:
    """The name under which the pipeline publishes its event log (`event_log: {name, catalog, schema}`).

    Databricks publishes the log to `catalog.schema.name` when the block is set
    (https://docs.databricks.com/aws/en/ldp/monitor-event-logs); the local runtime writes the same name, and
    only in the pipeline's own catalog and schema, so another location is refused rather than silently moved.
    """
    spec = body.get("event_log")
    if spec is None:
        return None
    if not isinstance(spec, dict) or not spec.get("name"):
        raise ConfigError(f"pipeline {key!r}: event_log needs a name (event_log: {{name, catalog, schema}})")
    elsewhere = {k: spec[k] for k, own in (("catalog", catalog), ("schema", schema)) if spec.get(k, own) != own}
    if elsewhere:
        raise ConfigError(f"pipeline {key!r}: event_log {elsewhere} differs from the pipeline's catalog/schema "
                          f"({catalog}.{schema}); the local runtime publishes the event log next to the tables")
    return str(spec["name"])


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merge(base.get(k), v) if k in base else v for k, v in {**base, **override}.items()}
    return override


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"bundle file {path} cannot be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"bundle file {path} must hold a mapping")
    return data


def load_bundle(target: str, variables: Mapping[str, str] | None = None, root: Path = BUNDLE_DIR) -> dict[str, Any]:
    """The bundle for `target` with includes merged and references substituted.

    Each resource gets `_file`: the YAML file it came from (relative paths resolve against it).
    """
    main = _read(root / "databricks.yml")
    config: dict[str, Any] = {k: v for k, v in main.items() if k != "include"}
    for pattern in main.get("include", []):
        for path in sorted(root.glob(pattern)):
            part = _read(path)
            for kind, items in (part.get("resources") or {}).items():
                for key, body in items.items():
                    body = {**body, "_file": str(path)}
                    config.setdefault("resources", {}).setdefault(kind, {})[key] = body
    targets = config.get("targets") or {}
    if target not in targets:
        raise ConfigError(f"bundle has no target {target!r}: choose one of {', '.join(targets)}")
    chosen = targets[target] or {}
    config["resources"] = _merge(config.get("resources", {}), chosen.get("resources", {}))
    values = {name: str(spec.get("default", "")) for name, spec in (config.get("variables") or {}).items()}
    values.update({k: str(v) for k, v in (chosen.get("variables") or {}).items()})
    values.update({k: str(v) for k, v in (variables or {}).items()})
    bundle_values = {"target": target, "name": str(config.get("bundle", {}).get("name", ""))}

    def substitute(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: substitute(v) for k, v in node.items()}
        if isinstance(node, list):
            return [substitute(v) for v in node]
        if isinstance(node, str):
            def lookup(match: re.Match[str]) -> str:
                table = values if match.group(1) == "var" else bundle_values
                if match.group(2) not in table:
                    raise ConfigError(f"bundle references undefined {match.group(0)}")
                return table[match.group(2)]

            def resource_id(match: re.Match[str]) -> str:
                if match.group(2) not in config["resources"].get(match.group(1), {}):
                    raise ConfigError(f"bundle references undefined resource {match.group(0)}")
                return match.group(2)

            return _RESOURCE_REF.sub(resource_id, _REF.sub(lookup, node))
        return node

    return substitute(config)


def pipeline_spec(key: str, target: str, variables: Mapping[str, str] | None = None,
                  root: Path = BUNDLE_DIR) -> PipelineSpec:
    """The pipeline resource `key` of `target`, with its source folders resolved to local paths."""
    bundle = load_bundle(target, variables, root)
    pipelines = bundle.get("resources", {}).get("pipelines", {})
    if key not in pipelines:
        raise ConfigError(f"bundle has no pipeline {key!r}: choose one of {', '.join(sorted(pipelines))}")
    body = pipelines[key]
    base = Path(body["_file"]).parent
    dirs = []
    for library in body.get("libraries", []):
        include = (library.get("glob") or {}).get("include") or (library.get("file") or {}).get("path")
        if include:
            dirs.append((base / include.split("*")[0]).resolve())
    catalog, schema = str(body.get("catalog", "")), str(body.get("schema", body.get("target", "")))
    return PipelineSpec(
        key=key,
        name=str(body.get("name", key)),
        catalog=catalog,
        schema=schema,
        source_dirs=tuple(dirs),
        configuration={k: str(v) for k, v in (body.get("configuration") or {}).items()},
        event_log=_event_log(key, body, catalog, schema),
    )
