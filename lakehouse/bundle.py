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

from lakehouse.errors import ConfigError

BUNDLE_DIR = Path(__file__).resolve().parent.parent / "bundle"
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
    return PipelineSpec(
        key=key,
        name=str(body.get("name", key)),
        catalog=str(body.get("catalog", "")),
        schema=str(body.get("schema", body.get("target", ""))),
        source_dirs=tuple(dirs),
        configuration={k: str(v) for k, v in (body.get("configuration") or {}).items()},
    )
