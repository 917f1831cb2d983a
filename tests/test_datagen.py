"""The source data generator: contract, behaviour, determinism, manifest exactness, drift, signal.

No Spark here: files are re-read with the standard library and pandas.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakehouse.local.datagen import GeneratorConfig, generate_range, incident
from lakehouse.local.datagen import drift as drift_scenario
from lakehouse.local.datagen.defects import RECORD_DEFECTS
from lakehouse.local.datagen.schema import DOMAINS, SOURCES, manifest_path, relative_path
from lakehouse.local.datagen.writer import write_atomic

START = date(2026, 1, 1)  # a Thursday
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONEY = re.compile(r"^\d+\.\d{2}$")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def file_lines(landing: Path, source: str, day: date) -> list[str]:
    """Data lines of a drop file (CSV header removed), without newlines."""
    text = (landing / relative_path(source, day)).read_text()
    assert text == "" or text.endswith("\n")
    lines = text.split("\n")[:-1]
    return lines[1:] if SOURCES[source].format == "csv" else lines


def header(landing: Path, source: str, day: date) -> list[str]:
    with open(landing / relative_path(source, day)) as f:
        return f.readline().rstrip("\n").split(",")


def records(landing: Path, source: str, day: date) -> list[dict]:
    """Parsed records of a clean drop file (values as the file spells them); for small files."""
    if SOURCES[source].format == "csv":
        with open(landing / relative_path(source, day), newline="") as f:
            return list(csv.DictReader(f))
    return [json.loads(line) for line in file_lines(landing, source, day)]


def read_all(landing: Path, source: str, drop_days: list[date]) -> pd.DataFrame:
    """All clean records of a source over some days, as a DataFrame of contract columns."""
    paths = [landing / relative_path(source, d) for d in drop_days]
    if SOURCES[source].format == "csv":
        return pd.concat(pd.read_csv(p, dtype={"customer_id": str, "transaction_id": str}) for p in paths)
    frames = [pd.read_json(p, lines=True, dtype=False, convert_dates=False) for p in paths if p.stat().st_size]
    return pd.concat(frames, ignore_index=True)


def problems(source: str, line: str, columns: list[str]) -> set[tuple[str, str | None]]:
    """Every defect visible in one line, as (kind, column); empty for a clean line."""
    if SOURCES[source].format == "csv":
        fields = line.split(",")
        if len(fields) != len(columns):
            return {("malformed_line", None)}
        record: dict = dict(zip(columns, fields))
    else:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return {("malformed_line", None)}
        if list(record) != columns:
            return {("malformed_line", None)}
    found = set()
    keys = {SOURCES[source].key, "customer_id"}
    for column, kind in SOURCES[source].columns:
        if column not in record:
            continue
        value = record[column]
        if column in keys:
            if value in ("", None):
                found.add(("null_key", column))
            continue
        if column in DOMAINS[source] and value not in DOMAINS[source][column]:
            found.add(("unknown_category", column))
        elif kind == "double":
            if isinstance(value, str) and not MONEY.match(value.lstrip("-")) or isinstance(value, bool):
                found.add(("wrong_type", column))
            elif float(value) <= 0:
                found.add(("negative_amount", column))
        elif kind == "int":
            ok = value is None and column == "satisfaction" or type(value) is int
            if not ok:
                found.add(("wrong_type", column))
            elif column == "satisfaction" and value is not None and not 1 <= value <= 5:
                found.add(("out_of_range", column))
        elif kind == "boolean" and type(value) is not bool:
            found.add(("wrong_type", column))
        elif kind == "timestamp" and not (isinstance(value, str) and TIMESTAMP.match(value)):
            found.add(("bad_timestamp", column))
        elif kind == "date" and not (isinstance(value, str) and DATE.match(value)):
            found.add(("bad_date", column))
        elif kind == "string" and not (isinstance(value, str) and value):
            found.add(("empty", column))
    return found


# ---------------------------------------------------------------- fixtures


CLEAN = GeneratorConfig(
    customers=1000, world_start=START, transactions_per_customer_day=6.0, drift_start=START + timedelta(days=28)
)
CLEAN_END = START + timedelta(days=41)  # six full weeks


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    landing = tmp_path_factory.mktemp("clean")
    return landing, generate_range(CLEAN, landing, START, CLEAN_END)


DEFECTIVE = GeneratorConfig(
    customers=3000, world_start=START, transactions_per_customer_day=1.0, defect_rate=0.2, file_defect_rate=0.3, seed=7
)
DEFECT_END = START + timedelta(days=9)


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], Path]:
    """A world with defects, and the same world generated clean."""
    landing = tmp_path_factory.mktemp("defective")
    twin = tmp_path_factory.mktemp("twin")
    manifests = generate_range(DEFECTIVE, landing, START, DEFECT_END)
    generate_range(dataclasses.replace(DEFECTIVE, defect_rate=0.0), twin, START, DEFECT_END)
    return landing, manifests, twin


# ---------------------------------------------------------------- config and API


@pytest.mark.parametrize(
    "change, message",
    [
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"customers": 0}, "customers must be between 1 and"),
        ({"customers": 2.5}, "customers must be an integer"),
        ({"world_start": "2026-01-01"}, "world_start must be a datetime.date"),
        ({"drift_start": START - timedelta(days=1)}, "drift_start 2025-12-31 is before world_start"),
        ({"incident_day": START - timedelta(days=1)}, "incident_day 2025-12-31 is before world_start"),
        ({"transactions_per_customer_day": 0}, "transactions_per_customer_day must be in (0, 1000]"),
        ({"defect_rate": 0.6}, "defect_rate must be a number between 0 and 0.5"),
        ({"late_fraction": -0.1}, "late_fraction must be a number between 0 and 0.5"),
        ({"duplicate_fraction": float("nan")}, "duplicate_fraction must be a number between 0 and 0.5"),
        ({"file_defect_rate": 1.5}, "file_defect_rate must be a number between 0 and 1.0"),
    ],
)
def test_config_rejects_invalid_values_in_one_line(change: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        GeneratorConfig(**change)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_generate_range_rejects_bad_ranges(tmp_path: Path) -> None:
    config = GeneratorConfig(customers=10, world_start=START)
    with pytest.raises(ValueError, match=r"^end 2026-01-01 is before start 2026-01-02$"):
        generate_range(config, tmp_path, START + timedelta(days=1), START)
    with pytest.raises(ValueError, match=r"^start 2025-12-31 is before world_start 2026-01-01"):
        generate_range(config, tmp_path, START - timedelta(days=1), START)
    assert list(tmp_path.iterdir()) == []


def test_progress_is_called_once_per_day_in_order(tmp_path: Path) -> None:
    seen: list[date] = []
    config = GeneratorConfig(customers=20, world_start=START)
    manifests = generate_range(config, tmp_path, START + timedelta(days=2), START + timedelta(days=4), seen.append)
    assert seen == days(START + timedelta(days=2), START + timedelta(days=4))
    assert [m["date"] for m in manifests] == [d.isoformat() for d in seen]


# ---------------------------------------------------------------- contract


def test_files_follow_the_contract(clean: tuple[Path, list[dict]]) -> None:
    landing, manifests = clean
    for day, manifest in zip(days(START, CLEAN_END), manifests):
        assert json.loads((landing / manifest_path(day)).read_text()) == manifest
        assert manifest["date"] == day.isoformat()
        assert manifest["config"] == CLEAN.to_dict()
        assert manifest["defects"] == [] and manifest["file_defects"] == []
        for source, spec in SOURCES.items():
            info = manifest["files"][source]
            assert info["path"] == relative_path(source, day)
            assert info["columns"] == list(spec.column_names)
            lines = file_lines(landing, source, day)
            assert info["rows"] == len(lines)
            if spec.format == "csv":
                assert header(landing, source, day) == list(spec.column_names)
            for line in lines:
                assert problems(source, line, list(spec.column_names)) == set(), line
    assert sorted(p.name for p in landing.iterdir()) == ["_manifest", "churn", "customers", "support", "transactions"]
    assert not [p for p in landing.rglob("*") if p.name.startswith(".")]  # no temporary files left


def test_initial_snapshot_holds_the_whole_base(clean: tuple[Path, list[dict]]) -> None:
    landing, _ = clean
    base = records(landing, "customers", START)
    assert [r["customer_id"] for r in sorted(base, key=lambda r: r["customer_id"])] == [
        f"C{i:07d}" for i in range(1, CLEAN.customers + 1)
    ]
    churned = {r["customer_id"] for r in records(landing, "churn", START)}
    assert churned and {r["customer_id"] for r in base if r["status"] == "churned"} == churned  # one row a day
    assert {r["status"] for r in base if r["customer_id"] not in churned} == {"active"}
    signup = pd.to_datetime(pd.Series([r["signup_date"] for r in base]))
    assert signup.max() < pd.Timestamp(START) and signup.min() >= pd.Timestamp(START - timedelta(days=3 * 365))
    assert (signup.max() - signup.min()).days > 1000  # spread over ~3 years
    fees = {(r["plan"], r["monthly_fee"]) for r in base}
    assert fees == {("basic", 9.99), ("standard", 19.99), ("premium", 34.99)}
    assert all(r["updated_at"].startswith(START.isoformat()) for r in base)


def test_churn_follows_the_behaviour_rules(clean: tuple[Path, list[dict]]) -> None:
    landing, _ = clean
    churn = pd.concat(pd.DataFrame(records(landing, "churn", d)) for d in days(START, CLEAN_END))
    assert churn["customer_id"].is_unique
    assert set(churn["reason"]) <= set(DOMAINS["churn"]["reason"])
    churn_date = dict(zip(churn["customer_id"], churn["churn_date"]))
    for day in days(START, CLEAN_END):
        drop = [r for r in records(landing, "churn", day)]
        assert {r["churn_date"] for r in drop} <= {day.isoformat()}
        churned_profiles = {r["customer_id"] for r in records(landing, "customers", day) if r["status"] == "churned"}
        assert churned_profiles == {r["customer_id"] for r in drop}
    # nobody acts after their churn day, and nobody before signing up
    signups = {}
    for day in days(START, CLEAN_END):
        for r in records(landing, "customers", day):
            signups.setdefault(r["customer_id"], r["signup_date"])
    for source in ("transactions", "support"):
        events = read_all(landing, source, days(START, CLEAN_END))
        event_day = events["event_time"].str[:10]
        assert (event_day <= events["customer_id"].map(churn_date).fillna("9999")).all()
        assert (event_day >= events["customer_id"].map(signups)).all()
    # 2-4 % of the base churns per month; signups replace churners
    per_month = len(churn) / CLEAN.customers * 30 / len(days(START, CLEAN_END))
    assert 0.015 < per_month < 0.05
    new = sum(1 for c, s in signups.items() if s >= START.isoformat())
    assert abs(new - len(churn)) < 0.35 * len(churn)


def test_volume_and_weekly_seasonality(clean: tuple[Path, list[dict]]) -> None:
    landing, _ = clean
    per_day: Counter[str] = Counter()
    for day in days(START, CLEAN_END):
        per_day.update(line.split(",")[2][:10] for line in file_lines(landing, "transactions", day))
    complete = (CLEAN_END - timedelta(days=2)).isoformat()  # later days still have late rows to come
    counts = pd.Series({date.fromisoformat(d): n for d, n in per_day.items() if d <= complete})
    expected = CLEAN.customers * CLEAN.transactions_per_customer_day
    assert 0.85 * expected < counts.mean() < 1.15 * expected
    weekday = counts.groupby([d.weekday() for d in counts.index]).mean()
    assert weekday[5] > 1.15 * weekday[:4].mean()  # Saturdays busy
    assert weekday[6] < 0.92 * weekday[:4].mean()  # Sundays quiet


def test_late_records_and_duplicates_are_exactly_as_recorded(clean: tuple[Path, list[dict]]) -> None:
    landing, manifests = clean
    seen: Counter[str] = Counter()
    total = late_total = 0
    late_seen: set[tuple[str, str]] = set()
    for day, manifest in zip(days(START, CLEAN_END), manifests):
        late = {(e["source"], e["key"]): e["event_date"] for e in manifest["realism"]["late"]}
        duplicates = {(e["source"], e["key"]) for e in manifest["realism"]["duplicates"]}
        assert len(duplicates) == len(manifest["realism"]["duplicates"])
        assert {s for s, _ in duplicates} <= {"transactions"}
        previous = set(file_lines(landing, "transactions", day - timedelta(days=1))) if day > START else set()
        for source in ("transactions", "support"):
            for line in file_lines(landing, source, day):
                if source == "transactions":
                    key, _, event_time = line.split(",")[:3]
                else:
                    key, event_time = json.loads(line)["interaction_id"], json.loads(line)["event_time"]
                event_day = event_time[:10]
                if (source, key) in duplicates:
                    assert line in previous  # byte-identical re-delivery of yesterday's row
                    continue
                seen[key] += 1
                total += source == "transactions"
                if (source, key) in late:
                    late_seen.add((source, key))
                    assert late[(source, key)] == event_day
                    assert 1 <= (day - date.fromisoformat(event_day)).days <= 2
                    late_total += source == "transactions"
                else:
                    assert event_day == day.isoformat()
        assert late_seen >= set(late) and len(late) == len(manifest["realism"]["late"])
    assert set(seen.values()) == {1}  # every event delivered exactly once (besides duplicates)
    assert 0.01 < late_total / total < 0.03
    n_dup = sum(len(m["realism"]["duplicates"]) for m in manifests)
    assert 0.005 < n_dup / total < 0.015
    assert manifests[0]["realism"]["late"] == [] and manifests[0]["realism"]["duplicates"] == []


# ---------------------------------------------------------------- determinism


DETERMINISM = GeneratorConfig(
    customers=300, world_start=START, defect_rate=0.05, file_defect_rate=0.5, drift_start=START + timedelta(days=3)
)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_and_day_give_the_same_bytes_in_any_call_and_process(tmp_path: Path) -> None:
    first, end = START + timedelta(days=2), START + timedelta(days=5)
    generate_range(DETERMINISM, tmp_path / "a", first, end)
    generate_range(DETERMINISM, tmp_path / "b", first, end)
    for day in days(first, end):  # one call per day, in reverse order
        generate_range(DETERMINISM, tmp_path / "c", end - (day - first), end - (day - first))
    code = (
        "import sys, datetime; from datetime import date; from pathlib import Path;"
        "from lakehouse.local.datagen import GeneratorConfig, generate_range;"
        f"config = GeneratorConfig(**{DETERMINISM.__dict__!r});"
        "generate_range(config, Path(sys.argv[1]), date(2026, 1, 5), date(2026, 1, 5))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "d")], check=True, env=env)
    a = tree(tmp_path / "a")
    assert len(a) == 4 * 5  # 4 sources + manifest, 4 days
    assert tree(tmp_path / "b") == a
    assert tree(tmp_path / "c") == a
    d = tree(tmp_path / "d")
    assert d and all(a[path] == data for path, data in d.items())
    other = dataclasses.replace(DETERMINISM, seed=43)
    generate_range(other, tmp_path / "e", first, first)
    assert tree(tmp_path / "e")[relative_path("transactions", first)] != a[relative_path("transactions", first)]


def test_regenerating_a_day_overwrites_it_with_identical_bytes(tmp_path: Path) -> None:
    day = START + timedelta(days=1)
    generate_range(DETERMINISM, tmp_path, day, day)
    before = tree(tmp_path)
    (tmp_path / relative_path("transactions", day)).write_text("garbage\n")
    generate_range(DETERMINISM, tmp_path, day, day)
    assert tree(tmp_path) == before


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x" / "f.csv"
    write_atomic(target, b"old\n")
    assert target.read_bytes() == b"old\n" and oct(target.stat().st_mode & 0o777) == "0o644"

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in target.parent.iterdir()] == ["f.csv"]


# ---------------------------------------------------------------- defects and manifest


def test_manifest_records_every_defect_exactly(defective: tuple[Path, list[dict], Path]) -> None:
    landing, manifests, _ = defective
    injected = set()
    for day, manifest in zip(days(START, DEFECT_END), manifests):
        recorded: dict[tuple[str, int], tuple[str, str | None]] = {}
        for entry in manifest["defects"]:
            assert entry["file"] == relative_path(entry["source"], day)
            recorded[(entry["source"], entry["line"])] = (entry["kind"], entry["column"])
            injected.add((entry["source"], entry["kind"], entry["column"]))
        assert len(recorded) == len(manifest["defects"])
        for source in SOURCES:
            columns = manifest["files"][source]["columns"]
            first_line = 2 if SOURCES[source].format == "csv" else 1
            if SOURCES[source].format == "csv":
                assert header(landing, source, day) == columns
            lines = file_lines(landing, source, day)
            assert manifest["files"][source]["rows"] == len(lines)
            for number, line in enumerate(lines, start=first_line):
                expected = recorded.get((source, number))
                assert problems(source, line, columns) == ({expected} if expected else set()), (source, number)
    every_option = {(s, d.kind, d.column) for s, options in RECORD_DEFECTS.items() for d in options}
    assert injected == every_option


def test_defect_keys_name_the_broken_record(defective: tuple[Path, list[dict], Path]) -> None:
    landing, manifests, _ = defective
    for day, manifest in zip(days(START, DEFECT_END), manifests):
        lines = {source: file_lines(landing, source, day) for source in SOURCES}
        for entry in manifest["defects"]:
            first_line = 2 if entry["file"].endswith(".csv") else 1
            line = lines[entry["source"]][entry["line"] - first_line]
            if entry["kind"] == "null_key" and entry["column"] == SOURCES[entry["source"]].key:
                continue  # the id itself was blanked
            assert entry["key"] in line


def test_layout_defects_change_only_the_recorded_files(defective: tuple[Path, list[dict], Path]) -> None:
    landing, manifests, _ = defective
    layouts = Counter()
    for day, manifest in zip(days(START, DEFECT_END), manifests):
        by_source = {e["source"]: e for e in manifest["file_defects"]}
        for source, spec in SOURCES.items():
            columns = list(spec.column_names)
            entry = by_source.get(source)
            if entry is None:
                assert manifest["files"][source]["columns"] == columns
                continue
            layouts[(entry["kind"], entry["column"])] += 1
            assert entry["file"] == relative_path(source, day)
            if entry["kind"] == "added_column":
                assert header(landing, source, day) == columns + [entry["column"]]
            else:
                assert manifest["files"][source]["columns"] == [c for c in columns if c != entry["column"]]
                assert all(f'"{entry["column"]}"' not in line for line in file_lines(landing, source, day))
        assert {e["source"] for e in manifest["file_defects"]} <= {"transactions", "support"}
    assert set(layouts) == {("added_column", "promo_code"), ("missing_column", "satisfaction")}


def test_defects_touch_only_the_recorded_lines(defective: tuple[Path, list[dict], Path]) -> None:
    landing, manifests, twin = defective
    for day, manifest in zip(days(START, DEFECT_END), manifests):
        broken = {(e["source"], e["line"]) for e in manifest["defects"]}
        layout = {e["source"] for e in manifest["file_defects"]}
        for source, spec in SOURCES.items():
            first_line = 2 if spec.format == "csv" else 1
            dirty, clean_lines = file_lines(landing, source, day), file_lines(twin, source, day)
            assert len(dirty) == len(clean_lines)
            for number, (a, b) in enumerate(zip(dirty, clean_lines), start=first_line):
                if (source, number) in broken:
                    assert a != b
                elif source in layout and source == "transactions":
                    assert a.rsplit(",", 1)[0] == b  # only the added column differs
                elif source in layout:
                    assert json.loads(a) == {k: v for k, v in json.loads(b).items() if k != "satisfaction"}
                else:
                    assert a == b


def test_no_defects_without_defect_rate(
    clean: tuple[Path, list[dict]], defective: tuple[Path, list[dict], Path]
) -> None:
    _, manifests = clean
    assert all(m["defects"] == [] and m["file_defects"] == [] for m in manifests)
    # the twin has file_defect_rate 0.3 but defect_rate 0: no layout defects either
    twin_manifests = [json.loads((defective[2] / manifest_path(d)).read_text()) for d in days(START, DEFECT_END)]
    assert all(m["defects"] == [] and m["file_defects"] == [] for m in twin_manifests)


# ---------------------------------------------------------------- the incident and its correction


def test_the_incident_sends_paypal_payments_in_dollars_and_its_correction_restores_the_drop(tmp_path: Path) -> None:
    """The broken file differs from the same world without the incident only in the PayPal rows' currency and amount;
    nothing else of any drop changes; the staged correction is the drop as it should have been, and delivering it
    retracts the broken file once (a second delivery does nothing, regenerating the day undoes it)."""
    day = START + timedelta(days=2)
    staged = dataclasses.replace(DEFECTIVE, incident_day=day)
    manifests = generate_range(staged, tmp_path / "incident", START, day + timedelta(days=1))
    generate_range(DEFECTIVE, tmp_path / "plain", START, day + timedelta(days=1))
    landing, plain = tmp_path / "incident", tree(tmp_path / "plain")
    entry = manifests[2]["incident"]
    assert [m.get("incident") for m in manifests] == [None, None, entry, None]
    assert entry["rule"] == "currency_is_eur" and entry["file"] == relative_path("transactions", day)
    assert set(tree(landing)) - set(plain) == {entry["correction"]}
    assert (landing / entry["correction"]).read_bytes() == plain[entry["file"]]
    assert all(tree(landing)[p] == data for p, data in plain.items() if p != entry["file"] and "_manifest" not in p)

    defective_lines = {e["line"] - 2 for e in manifests[2]["defects"] if e["source"] == "transactions"}
    sent, right = file_lines(landing, "transactions", day), file_lines(tmp_path / "plain", "transactions", day)
    columns = header(landing, "transactions", day)[:len(SOURCES["transactions"].column_names)]
    paypal = 0
    for number, (a, b) in enumerate(zip(sent, right)):
        if number in defective_lines:
            continue
        got, want = dict(zip(columns, a.split(","))), dict(zip(columns, b.split(",")))
        if want["payment_method"] == "paypal":
            paypal += 1
            assert got["currency"] == "USD" and abs(float(got["amount"]) - float(want["amount"]) * 1.08) <= 0.005
            assert {k: v for k, v in got.items() if k not in ("currency", "amount")} == \
                {k: v for k, v in want.items() if k not in ("currency", "amount")}
        else:
            assert a == b
    assert paypal > 100 and entry["rows"] >= paypal

    assert incident.deliver_correction(landing, day) is True
    assert not (landing / entry["file"]).exists()
    assert (landing / entry["delivered_as"]).read_bytes() == plain[entry["file"]]
    assert (landing / incident.RETRACTED_DIR / entry["file"]).read_text().splitlines()[1:] == sent
    after = tree(landing)
    assert incident.deliver_correction(landing, day) is False and tree(landing) == after
    assert incident.deliver_correction(landing, day + timedelta(days=1)) is False
    generate_range(staged, landing, day, day)
    assert (landing / entry["file"]).exists() and not (landing / entry["delivered_as"]).exists()


# ---------------------------------------------------------------- drift


def test_drift_adds_the_app_channel_and_raises_prices(clean: tuple[Path, list[dict]]) -> None:
    landing, manifests = clean
    drift_day = CLEAN.drift_start
    tx = read_all(landing, "transactions", days(START, CLEAN_END)).drop_duplicates("transaction_id")
    tx["after"] = tx["event_time"].str[:10] >= drift_day.isoformat()
    before, after = tx[~tx["after"]], tx[tx["after"]]
    assert "app" not in set(before["channel"])
    assert 0.22 < (after["channel"] == "app").mean() < 0.28
    ratio = after.groupby("category")["amount"].median() / before.groupby("category")["amount"].median()
    for category, value in ratio.items():
        expected = drift_scenario.AMOUNT_MULTIPLIER.get(category, 1.0)
        assert abs(value / expected - 1) < 0.08, (category, value)
    new_fees = set()
    for day in days(START, CLEAN_END):
        for r in records(landing, "customers", day):
            if r["signup_date"] == day.isoformat() and day > START:
                new_fees.add((day >= drift_day, r["plan"], r["monthly_fee"]))
    assert {fee for after_drift, _, fee in new_fees if after_drift} <= {11.99, 23.99, 41.99}
    assert {fee for after_drift, _, fee in new_fees if not after_drift} <= {9.99, 19.99, 34.99}
    assert [m["drift"]["active"] for m in manifests] == [d >= drift_day for d in days(START, CLEAN_END)]
    assert all(m["config"]["drift_start"] == drift_day.isoformat() for m in manifests)


# ---------------------------------------------------------------- signal


def test_churn_is_predictable_but_not_trivially(tmp_path: Path) -> None:
    """A plain logistic regression on simple behaviour features reaches a realistic AUC."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n_days = 120
    config = GeneratorConfig(customers=3000, world_start=START, transactions_per_customer_day=5.0)
    generate_range(config, tmp_path, START, START + timedelta(days=n_days - 1))
    every = days(START, START + timedelta(days=n_days - 1))

    def day_index(text: pd.Series) -> np.ndarray:
        days_ = np.asarray(text, dtype=object).astype("U10").astype("datetime64[D]")
        return (days_ - np.datetime64(START)).astype(int)

    def customer_index(ids: pd.Series) -> np.ndarray:
        return ids.str.slice(1).astype(int).to_numpy() - 1

    tx = read_all(tmp_path, "transactions", every).drop_duplicates("transaction_id")
    support = read_all(tmp_path, "support", every)
    churn = read_all(tmp_path, "churn", every)
    profiles = read_all(tmp_path, "customers", every).drop_duplicates("customer_id")

    n = int(customer_index(profiles["customer_id"]).max()) + 1
    shape = (n, n_days)

    def matrix(frame: pd.DataFrame, weights: np.ndarray | None = None) -> np.ndarray:
        grid = np.zeros(shape)
        cell = (customer_index(frame["customer_id"]), day_index(frame["event_time"]))
        np.add.at(grid, cell, 1 if weights is None else weights)
        return np.concatenate([np.zeros((n, 1)), grid.cumsum(axis=1)], axis=1)  # prefix sums

    count, spend = matrix(tx), matrix(tx, tx["amount"].to_numpy())
    contacts = matrix(support)
    cancel = matrix(support[support["topic"].isin(["cancellation", "billing"])])
    unhappy = matrix(support[support["satisfaction"].fillna(5) <= 2])
    active_day = count[:, 1:] > count[:, :-1]
    last_seen = np.where(active_day, np.arange(n_days), -1)
    last_seen = np.maximum.accumulate(last_seen, axis=1)
    churn_day = np.full(n, 10**6)
    churn_day[customer_index(churn["customer_id"])] = day_index(churn["churn_date"])
    signup = np.zeros(n)
    signup[customer_index(profiles["customer_id"])] = day_index(profiles["signup_date"])
    fee = np.zeros(n)
    fee[customer_index(profiles["customer_id"])] = profiles["monthly_fee"]

    rows, labels, groups = [], [], []
    for asof in range(45, n_days - 30, 10):
        alive = (signup <= asof) & (churn_day > asof)

        def window(m: np.ndarray, w: int, asof: int = asof) -> np.ndarray:
            return m[:, asof + 1] - m[:, max(asof + 1 - w, 0)]

        features = np.column_stack(
            [
                window(count, 7), window(count, 30), window(count, 90),
                window(spend, 7), window(spend, 30),
                (window(count, 7) / 7 + 0.1) / (window(count, 30) / 30 + 0.1),
                asof - last_seen[:, asof],
                window(contacts, 30), window(cancel, 30), window(unhappy, 30),
                asof - signup, fee,
            ]
        )  # fmt: skip
        rows.append(features[alive])
        labels.append((churn_day[alive] > asof) & (churn_day[alive] <= asof + 30))
        groups.append(np.flatnonzero(alive))
    x, y, customer = np.log1p(np.clip(np.vstack(rows), 0, None)), np.concatenate(labels), np.concatenate(groups)
    test = customer % 2 == 0
    assert 0.02 < y.mean() < 0.06 and y[test].sum() > 80
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x[~test], y[~test])
    auc = roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])
    assert 0.7 <= auc <= 0.95, auc
