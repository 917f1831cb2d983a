"""Delivery realism: late records, re-delivered duplicates, and which rows make up a day's drop.

Why: real feeds deliver some records a day or two late (with their original event time) and
re-send some rows of the previous drop; the pipelines must cope with both. Whether and when an
event is delivered is drawn once, with a stream of its event day, so each event is delivered
the same way however the days are requested.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np

from lakehouse.local.datagen import render
from lakehouse.local.datagen.config import GeneratorConfig
from lakehouse.local.datagen.rng import Stream, day_rng
from lakehouse.local.datagen.table import Table, n_rows, take

MAX_DELAY_DAYS = 2
STREAMS = {"transactions": Stream.DELIVERY_TRANSACTIONS, "support": Stream.DELIVERY_SUPPORT}
REDELIVERED = {"transactions"}  # sources whose rows may re-appear in the next drop
LOOKBACK_DAYS = MAX_DELAY_DAYS + 1  # a drop holds events of up to this many days before it


def mark(config: GeneratorConfig, source: str, day: date, frame: Table) -> Table:
    """Add `delay` (days after the event day it is delivered) and `redeliver` (sent twice)."""
    u = day_rng(config.seed, day, STREAMS[source]).random((3, n_rows(frame)))
    late = u[0] < config.late_fraction
    redeliver = (u[2] < config.duplicate_fraction) & (source in REDELIVERED)
    return {**frame, "delay": np.where(late, 1 + (u[1] < 0.5), 0).astype(np.int8), "redeliver": redeliver}


def assemble(day: date, batches: Mapping[date, Table]) -> Table:
    """The rows delivered on `day`, from marked batches keyed by event day.

    Adds `event_day` (ordinal) and `duplicate` (a second copy of a row of the previous drop).
    Rows are in id order, which is event-time order.
    """
    picks = []  # (frame, row mask, event day ordinal, duplicate)
    for event_day, frame in batches.items():
        age = (day - event_day).days
        delay = frame["delay"]
        picks.append((frame, delay == age, event_day.toordinal(), False))
        picks.append((frame, frame["redeliver"] & (delay == age - 1), event_day.toordinal(), True))
    columns = {
        name: np.concatenate([frame[name][rows] for frame, rows, _, _ in picks])
        for name in next(iter(batches.values()))
    }
    columns["event_day"] = np.concatenate([np.full(rows.sum(), o, np.int64) for _, rows, o, _ in picks])
    columns["duplicate"] = np.concatenate([np.full(rows.sum(), d) for _, rows, _, d in picks])
    order = np.lexsort((columns["duplicate"], columns["id"]))
    return take(columns, order)


def late_entries(source: str, day: date, drop: Table) -> list[dict[str, str]]:
    """Manifest records of the rows delivered after their event day (first deliveries only)."""
    late = take(drop, (drop["event_day"] < day.toordinal()) & ~drop["duplicate"])
    keys = render.record_ids(source, late).to_pylist()
    days = render.iso_dates(late["event_day"]).to_pylist()
    return [{"source": source, "key": k, "event_date": d} for k, d in zip(keys, days)]


def duplicate_entries(source: str, drop: Table) -> list[dict[str, str]]:
    """Manifest records of the rows that repeat a row of the previous drop."""
    keys = render.record_ids(source, take(drop, drop["duplicate"])).to_pylist()
    return [{"source": source, "key": k} for k in keys]
