"""The delivery incident: one day's transactions file with PayPal payments settled in US dollars, and its correction.

Why: the pipelines' `expect_or_fail` rule `currency_is_eur` (quality/expectations.py) exists for exactly this, a
feed whose amounts silently change currency. On `config.incident_day` the transactions drop carries the day's PayPal
payments as `currency` "USD" with their amounts converted at USD_PER_EUR; everything else in the file is as on any
other day. The generator writes the corrected file (the same records in euros) at the same time, staged under
CORRECTIONS_DIR where no reader looks, and `deliver_correction` plays the supplier's fix a day later: the broken file
is retracted (moved under RETRACTED_DIR) and the corrected one lands in the day's folder under a new name, because
Auto Loader takes new files only (`cloudFiles.allowOverwrites` false:
https://docs.databricks.com/aws/en/ingestion/cloud-object-storage/auto-loader/options).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.local.datagen import render
from lakehouse.local.datagen.schema import DOMAINS, SOURCES, manifest_path, relative_path
from lakehouse.local.datagen.table import Table

SOURCE = "transactions"
CURRENCY = "USD"
USD_PER_EUR = 1.08
PAYMENT_METHOD = "paypal"
RULE = "currency_is_eur"  # the expect_or_fail rule of silver_transactions the incident breaks
CORRECTIONS_DIR = "_corrections"  # underscore: not a source folder, Auto Loader never lists it
RETRACTED_DIR = "_retracted"
_PAYPAL = DOMAINS[SOURCE]["payment_method"].index(PAYMENT_METHOD)


def affected(frame: Table) -> np.ndarray:
    """The rows the incident breaks: every PayPal payment of the drop."""
    return frame["payment"] == _PAYPAL


def convert(frame: Table) -> Table:
    """The drop as the broken feed sent it: the affected rows' amounts in US cents (currency set by `relabel`)."""
    hit = affected(frame)
    return {**frame, "cents": np.where(hit, np.rint(frame["cents"] * USD_PER_EUR).astype(frame["cents"].dtype),
                                       frame["cents"])}


def relabel(frame: Table, fields: render.Fields) -> render.Fields:
    """The encoded fields with the affected rows' currency set to CURRENCY."""
    hit = pa.array(affected(frame))
    usd = pa.array([render.literal(SOURCES[SOURCE].format, CURRENCY)] * int(pc.sum(hit).as_py() or 0), pa.string())
    return {**fields, "currency": pc.replace_with_mask(fields["currency"], hit, usd)}


def corrected_path(day: date) -> str:
    """Where the corrected file lands: the day's folder, under a name Auto Loader has not seen."""
    original = relative_path(SOURCE, day)
    stem, ext = original.rsplit(".", 1)
    return f"{stem}_corrected.{ext}"


def entry(day: date, frame: Table) -> dict[str, Any]:
    """The manifest's record of the incident of the drop of `day`."""
    return {
        "source": SOURCE,
        "file": relative_path(SOURCE, day),
        "kind": "wrong_currency",
        "rule": RULE,
        "currency": CURRENCY,
        "payment_method": PAYMENT_METHOD,
        "rows": int(affected(frame).sum()),
        "correction": f"{CORRECTIONS_DIR}/{corrected_path(day)}",
        "delivered_as": corrected_path(day),
    }


def recorded(landing: Path, day: date) -> dict[str, Any] | None:
    """The incident recorded in the manifest of `day`, or None when that drop had none."""
    path = Path(landing) / manifest_path(day)
    return json.loads(path.read_text()).get("incident") if path.exists() else None


def deliver_correction(landing: Path, day: date) -> bool:
    """Retract the broken file of `day` and deliver its correction; False when there is nothing (left) to do.

    Each step is one rename, and a step already done is skipped, so an interrupted delivery completes when called
    again.
    """
    found = recorded(landing, day)
    if found is None:
        return False
    landing = Path(landing)
    moves = [(landing / found["file"], landing / RETRACTED_DIR / found["file"]),
             (landing / found["correction"], landing / found["delivered_as"])]
    done = False
    for source, target in moves:
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            done = True
    return done
