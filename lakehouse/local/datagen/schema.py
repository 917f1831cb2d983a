"""The landing layout the generator writes; the contract itself (sources, columns, domains) is
lakehouse.core.source_contract, re-exported here for the generator's modules.
"""

from __future__ import annotations

from datetime import date

from lakehouse.core.source_contract import (
    DATE_FORMAT,
    DOMAINS,
    MANIFEST_DIR,
    SOURCES,
    TIMESTAMP_FORMAT,
    SourceSpec,
)

__all__ = ["DATE_FORMAT", "DOMAINS", "MANIFEST_DIR", "SOURCES", "TIMESTAMP_FORMAT", "SourceSpec", "manifest_path",
           "relative_path"]


def relative_path(source: str, day: date) -> str:
    """Where a source's drop of one day lives, relative to the landing root."""
    return f"{source}/{day.isoformat()}/{source}_{day:%Y%m%d}.{SOURCES[source].format}"


def manifest_path(day: date) -> str:
    """Where the manifest of one day's drop lives, relative to the landing root."""
    return f"{MANIFEST_DIR}/{day.isoformat()}.json"
