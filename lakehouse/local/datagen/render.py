"""Text encoding of event frames: the exact CSV and JSON-lines bytes of a drop.

Why: a day can hold millions of rows, so text is built column-wise with Arrow compute (no
per-row Python), and it must be byte-stable. Every generated value is plain ASCII without
commas, quotes or backslashes, so CSV needs no quoting and JSON no escaping; JSON objects are
compact (separators "," and ":") with keys in contract order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.local.datagen.names import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES
from lakehouse.local.datagen.schema import DOMAINS, SOURCES
from lakehouse.local.datagen.table import EPOCH_ORDINAL, Table

ID_PREFIX = {"transactions": "T", "support": "S"}
CUSTOMER_ID_DIGITS = 7
QUOTED_TYPES = {"string", "date", "timestamp"}  # JSON-quoted; numbers and booleans are bare

Fields = dict[str, pa.Array]


def fields(source: str, frame: Table) -> Fields:
    """Each contract column of the source as encoded field text (nulls already spelled out)."""
    raw = _RAW[source](frame)
    spec = SOURCES[source]
    if spec.format == "csv":
        return {name: pc.fill_null(raw[name], "") for name in spec.column_names}
    return {
        name: pc.fill_null(_quote(raw[name]) if kind in QUOTED_TYPES else raw[name], "null")
        for name, kind in spec.columns
    }


def literal(fmt: str, value: str | None) -> str:
    """Field text of a constant: a JSON string or null, or a bare (possibly empty) CSV field."""
    if fmt == "jsonl":
        return json.dumps(value)
    return "" if value is None else value


def lines(fmt: str, columns: Fields) -> pa.Array:
    """One text line per row, each ending in a newline."""
    names = list(columns)
    if fmt == "csv":
        last = pc.binary_join_element_wise(columns[names[-1]], "\n", "")
        return pc.binary_join_element_wise(*(columns[n] for n in names[:-1]), last, ",")
    parts: list[pa.Array | str] = []
    for i, name in enumerate(names):
        parts += [("{" if i == 0 else ",") + json.dumps(name) + ":", columns[name]]
    return pc.binary_join_element_wise(*parts, "}\n", "")


def header(fmt: str, columns: list[str]) -> bytes:
    """The CSV header line; JSON lines have none."""
    return (",".join(columns) + "\n").encode() if fmt == "csv" else b""


def concat(text: pa.Array) -> bytes:
    """The lines of a string array as one byte string."""
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    if len(text) == 0:
        return b""
    _, offsets, data = text.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(text) + 1, offset=text.offset * 4)
    return data.slice(int(bounds[0]), int(bounds[-1] - bounds[0])).to_pybytes()


def customer_ids(customer: np.ndarray) -> pa.Array:
    """Customer numbers as ids "C0000001" (customer index i is number i + 1)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(customer + 1), pa.string()), CUSTOMER_ID_DIGITS, "0")
    return pc.binary_join_element_wise("C", digits, "")


def record_ids(source: str, frame: Table) -> pa.Array:
    """The record id text of each row (what the contract's key column holds)."""
    if source in ID_PREFIX:
        return pc.binary_join_element_wise(ID_PREFIX[source], pc.cast(pa.array(frame["id"]), pa.string()), "")
    return customer_ids(frame["customer"])


def iso_dates(ordinals: np.ndarray) -> pa.Array:
    """Day ordinals as "YYYY-MM-DD"."""
    unique, inverse = np.unique(ordinals, return_inverse=True)
    text = pa.array([date.fromordinal(int(o)).isoformat() for o in unique], pa.string())
    return text.take(pa.array(inverse))


def iso_timestamps(epoch_seconds: np.ndarray) -> pa.Array:
    """Epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" (UTC)."""
    days, seconds = np.divmod(epoch_seconds, 86400)
    day_text = iso_dates(days + EPOCH_ORDINAL)
    return pc.binary_join_element_wise(day_text, _times_of_day().take(pa.array(seconds)), "T")


@cache
def _times_of_day() -> pa.Array:
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86400)])


def _quote(text: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', text, '"', "")


def _lookup(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    return pa.array(values).take(pa.array(codes))


def _numbers(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _money(cents: np.ndarray) -> pa.Array:
    euros, rest = np.divmod(cents, 100)
    return pc.binary_join_element_wise(_numbers(euros), pc.utf8_lpad(_numbers(rest), 2, "0"), ".")


def _customers(f: Table) -> Fields:
    first = _lookup(FIRST_NAMES, f["first_name"])
    last = _lookup(LAST_NAMES, f["last_name"])
    version = f["email_version"]
    suffix = pc.if_else(pa.array(version > 0), pc.binary_join_element_wise(".", _numbers(version), ""), "")
    local = pc.binary_join_element_wise(
        pc.utf8_lower(first), ".", pc.utf8_lower(last), _numbers(f["customer"] + 1), suffix, ""
    )
    return {
        "customer_id": customer_ids(f["customer"]),
        "name": pc.binary_join_element_wise(first, last, " "),
        "email": pc.binary_join_element_wise(local, _lookup(EMAIL_DOMAINS, f["email_domain"]), "@"),
        "signup_date": iso_dates(f["signup"]),
        "plan": _lookup(DOMAINS["customers"]["plan"], f["plan"]),
        "monthly_fee": _money(f["fee_cents"]),
        "region": _lookup(DOMAINS["customers"]["region"], f["region"]),
        "acquisition_channel": _lookup(DOMAINS["customers"]["acquisition_channel"], f["acquisition"]),
        "birth_year": _numbers(f["birth_year"]),
        "status": _lookup(DOMAINS["customers"]["status"], f["churned"].astype(np.int8)),
        "updated_at": iso_timestamps(f["updated_at"]),
    }


def _transactions(f: Table) -> Fields:
    domains = DOMAINS["transactions"]
    return {
        "transaction_id": record_ids("transactions", f),
        "customer_id": customer_ids(f["customer"]),
        "event_time": iso_timestamps(f["event_time"]),
        "amount": _money(f["cents"]),
        "currency": _lookup(domains["currency"], np.zeros(len(f["id"]), np.int8)),
        "category": _lookup(domains["category"], f["category"]),
        "channel": _lookup(domains["channel"], f["channel"]),
        "payment_method": _lookup(domains["payment_method"], f["payment"]),
    }


def _support(f: Table) -> Fields:
    domains = DOMAINS["support"]
    satisfaction = f["satisfaction"]
    return {
        "interaction_id": record_ids("support", f),
        "customer_id": customer_ids(f["customer"]),
        "event_time": iso_timestamps(f["event_time"]),
        "channel": _lookup(domains["channel"], f["channel"]),
        "topic": _lookup(domains["topic"], f["topic"]),
        "resolved": _lookup(("false", "true"), f["resolved"].astype(np.int8)),
        "satisfaction": pc.cast(pa.array(satisfaction, mask=satisfaction < 0), pa.string()),
    }


def _churn(f: Table) -> Fields:
    return {
        "customer_id": customer_ids(f["customer"]),
        "churn_date": iso_dates(f["churn_date"]),
        "reason": _lookup(DOMAINS["churn"]["reason"], f["reason"]),
    }


_RAW: dict[str, Callable[[Table], Fields]] = {
    "customers": _customers,
    "transactions": _transactions,
    "support": _support,
    "churn": _churn,
}
