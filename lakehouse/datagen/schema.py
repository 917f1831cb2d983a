"""The landing-zone contract as data: which files each source delivers and what they hold.

The generator writes exactly this and the pipelines read with it, so a user's own files fit
the pipelines when they follow it (docs/source_contract.md explains it in prose). Types are
Spark SQL type names; timestamps are ISO-8601 UTC strings, dates are ISO dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss'Z'"  # Spark datetime pattern; always UTC
DATE_FORMAT = "yyyy-MM-dd"
MANIFEST_DIR = "_manifest"  # underscore: Spark-style readers skip it when listing a source


@dataclass(frozen=True)
class SourceSpec:
    """One source: file format, record id column, business time column, ordered columns."""

    name: str
    format: str  # also the file extension: "jsonl" (a JSON object per line) or "csv" (header, no quoting)
    key: str
    time_column: str
    columns: tuple[tuple[str, str], ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


SOURCES: dict[str, SourceSpec] = {
    "customers": SourceSpec(
        name="customers",
        format="jsonl",
        key="customer_id",
        time_column="updated_at",
        columns=(
            ("customer_id", "string"),
            ("name", "string"),
            ("email", "string"),
            ("signup_date", "date"),
            ("plan", "string"),
            ("monthly_fee", "double"),
            ("region", "string"),
            ("acquisition_channel", "string"),
            ("birth_year", "int"),
            ("status", "string"),
            ("updated_at", "timestamp"),
        ),
    ),
    "transactions": SourceSpec(
        name="transactions",
        format="csv",
        key="transaction_id",
        time_column="event_time",
        columns=(
            ("transaction_id", "string"),
            ("customer_id", "string"),
            ("event_time", "timestamp"),
            ("amount", "double"),
            ("currency", "string"),
            ("category", "string"),
            ("channel", "string"),
            ("payment_method", "string"),
        ),
    ),
    "support": SourceSpec(
        name="support",
        format="jsonl",
        key="interaction_id",
        time_column="event_time",
        columns=(
            ("interaction_id", "string"),
            ("customer_id", "string"),
            ("event_time", "timestamp"),
            ("channel", "string"),
            ("topic", "string"),
            ("resolved", "boolean"),
            ("satisfaction", "int"),
        ),
    ),
    "churn": SourceSpec(
        name="churn",
        format="csv",
        key="customer_id",
        time_column="churn_date",
        columns=(
            ("customer_id", "string"),
            ("churn_date", "date"),
            ("reason", "string"),
        ),
    ),
}

# Allowed values of the categorical columns. The generator encodes them by position, so
# append new values at the end. "app" is a valid channel that appears from the drift day on.
DOMAINS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "plan": ("basic", "standard", "premium"),
        "region": ("north", "south", "east", "west", "central"),
        "acquisition_channel": ("web", "store", "partner"),
        "status": ("active", "churned"),
    },
    "transactions": {
        "currency": ("EUR",),
        "category": ("groceries", "electronics", "fashion", "travel", "entertainment", "services"),
        "channel": ("web", "store", "app_legacy", "app"),
        "payment_method": ("card", "paypal", "transfer"),
    },
    "support": {
        "channel": ("phone", "email", "chat"),
        "topic": ("billing", "technical", "cancellation", "other"),
    },
    "churn": {
        "reason": ("price", "service", "competitor", "moved", "other"),
    },
}

def relative_path(source: str, day: date) -> str:
    """Where a source's drop of one day lives, relative to the landing root."""
    return f"{source}/{day.isoformat()}/{source}_{day:%Y%m%d}.{SOURCES[source].format}"


def manifest_path(day: date) -> str:
    """Where the manifest of one day's drop lives, relative to the landing root."""
    return f"{MANIFEST_DIR}/{day.isoformat()}.json"
