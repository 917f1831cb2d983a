"""Crafted landing files in the source contract's layout, for tests of the real pipelines.

Layout (lakehouse.local.datagen.schema): `<landing>/<source>/<YYYY-MM-DD>/<source>_<YYYYMMDD>[suffix].<ext>`,
CSV with a header and no quoting, JSON lines with one compact object per line. Records are dicts in
contract column order (the builders below fill in sensible defaults); `lines=` appends raw text lines
as they are, for malformed input; `columns=` writes another layout than the contract's (a CSV column
more or less; for JSON the keys of the records are written as given).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from lakehouse.local.datagen.schema import SOURCES


def landing_file(landing: str | os.PathLike[str], source: str, day: date, suffix: str = "") -> Path:
    """Where the drop of `source` for `day` lives (a `suffix` makes a second file in the same folder)."""
    spec = SOURCES[source]
    return Path(landing) / source / day.isoformat() / f"{source}_{day:%Y%m%d}{suffix}.{spec.format}"


def render(source: str, records: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    """The text lines of `records` (a CSV header first)."""
    spec = SOURCES[source]
    if spec.format == "csv":
        names = list(columns or spec.column_names)
        return [",".join(names)] + [",".join(_csv_field(r.get(n)) for n in names) for r in records]
    return [json.dumps(dict(r) if columns is None else {n: r.get(n) for n in columns}, separators=(",", ":"))
            for r in records]


def write(
    landing: str | os.PathLike[str],
    source: str,
    day: date,
    records: Iterable[Mapping[str, Any]] = (),
    *,
    lines: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    suffix: str = "",
    raw: str | None = None,
) -> Path:
    """Write one landing file; returns its absolute path. `raw` writes exactly that text instead."""
    path = landing_file(landing, source, day, suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = raw if raw is not None else "".join(line + "\n" for line in [*render(source, list(records), columns), *lines])
    path.write_text(text)
    return Path(os.path.abspath(path))  # how ingestion names it in `_source_file`


def write_drop(landing: str | os.PathLike[str], day: date, **sources: Iterable[Mapping[str, Any]]) -> dict[str, Path]:
    """One day's drop: a file per source given (an empty list writes a file with no records)."""
    return {source: write(landing, source, day, records) for source, records in sources.items()}


# -- record builders (contract column order) -------------------------------------------------------
def customer(
    customer_id: str | None,
    updated_at: str | None,
    *,
    signup_date: str | None = "2026-01-15",
    plan: str | None = "basic",
    monthly_fee: Any = 10.0,
    region: str | None = "north",
    acquisition_channel: str | None = "web",
    birth_year: Any = 1990,
    status: str | None = "active",
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "name": f"Name {customer_id}",
        "email": f"{customer_id}@example.com".lower(),
        "signup_date": signup_date,
        "plan": plan,
        "monthly_fee": monthly_fee,
        "region": region,
        "acquisition_channel": acquisition_channel,
        "birth_year": birth_year,
        "status": status,
        "updated_at": updated_at,
    }


def txn(
    transaction_id: str | None,
    customer_id: str | None,
    event_time: str | None,
    amount: Any,
    *,
    currency: str | None = "EUR",
    category: str | None = "groceries",
    channel: str | None = "web",
    payment_method: str | None = "card",
) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "customer_id": customer_id,
        "event_time": event_time,
        "amount": amount,
        "currency": currency,
        "category": category,
        "channel": channel,
        "payment_method": payment_method,
    }


def contact(
    interaction_id: str | None,
    customer_id: str | None,
    event_time: str | None,
    *,
    channel: str | None = "chat",
    topic: str | None = "billing",
    resolved: Any = True,
    satisfaction: Any = 4,
) -> dict[str, Any]:
    return {
        "interaction_id": interaction_id,
        "customer_id": customer_id,
        "event_time": event_time,
        "channel": channel,
        "topic": topic,
        "resolved": resolved,
        "satisfaction": satisfaction,
    }


def churned(customer_id: str | None, churn_date: str | None, reason: str | None = "price") -> dict[str, Any]:
    return {"customer_id": customer_id, "churn_date": churn_date, "reason": reason}


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
