"""The landing-zone contract as data: which files each source delivers, what they hold, the allowed values.

The generator writes exactly this and the pipelines read with it, so a user's own files fit the pipelines when
they follow it (docs/source_contract.md explains it in prose). Why a module of its own: pipeline files import it
(bronze's Auto Loader schema, silver's expectation domains), and a pipeline must not import the data generator.
It depends on nothing but the standard library, so it imports in a Databricks pipeline environment too. `SILVER`
says how the silver pipeline treats each source, so silver.py has no per-source branch.
Types are Spark SQL type names; timestamps are ISO-8601 UTC strings, dates are ISO dates.
Layout: `<landing>/<source>/<YYYY-MM-DD>/<file>`; the folder's date is the drop date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class SilverSpec:
    """What the silver pipeline does to a source beyond the common path, as data so silver has no per-source branch
    (here rather than in the pipeline file: a dataclass needs its module importable, which an executed pipeline
    file is not). The upsert key and sequence column are the source's `key` and `time_column`."""

    event_date: bool = False  # add `event_date`, the day of the time column (a partition or a filter column)
    partitions: tuple[str, ...] = ()
    validated_table: str | None = None  # keep the validated changes as this table (gold reads them); else a view


SILVER: dict[str, SilverSpec] = {
    "customers": SilverSpec(validated_table="silver_customer_updates"),
    "transactions": SilverSpec(event_date=True, partitions=("event_date",)),
    "support": SilverSpec(event_date=True),
    "churn": SilverSpec(),
}


DROP_DATE = "_drop_date"  # bronze's column and partition: the date of the landing folder a row's file is in
DROP_DATE_PATTERN = r"/(\d{4}-\d{2}-\d{2})/[^/]+$"  # <source>/<YYYY-MM-DD>/<file>


def drop_date_column(path_column: str) -> Any:
    """The drop date of a row's file as a Spark column, from its path (`_metadata.file_path` in bronze); null when
    the file is not in a valid `<YYYY-MM-DD>` folder."""
    from pyspark.sql import functions as F

    folder = F.nullif(F.regexp_extract(F.col(path_column), DROP_DATE_PATTERN, 1), F.lit(""))
    return folder.try_cast("date")


def contract_ddl(source: str) -> str:
    """The source's columns as a Spark DDL string, e.g. `customer_id STRING, amount DOUBLE`."""
    return ", ".join(f"`{name}` {dtype.upper()}" for name, dtype in SOURCES[source].columns)
