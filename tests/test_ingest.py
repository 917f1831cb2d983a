"""Landing-file ingestion: tolerant parsing (exact rows, nulls, rescued data, line numbers) and the
exactly-once file log across repeated and crashed runs."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import textwrap
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import lakehouse.local.ingest.parse as parse_module
from lakehouse.local.ingest import IngestLog, output_schema, parse_file, read_files, read_new_files, to_spark
from lakehouse.platform.sources import drop_date, drop_date_column

SCHEMA = [
    ("id", "string"),
    ("ts", "timestamp"),
    ("amount", "double"),
    ("qty", "int"),
    ("big", "bigint"),
    ("refund", "boolean"),
    ("day", "date"),
]
COLUMNS = [name for name, _ in SCHEMA]
HEADER = ",".join(COLUMNS)
UTC = timezone.utc
NULLS = dict.fromkeys(COLUMNS)


def parse(tmp_path: Path, name: str, content: bytes | str, schema=SCHEMA):
    """Parse a crafted file; checks the schema and that rows + blank lines + header = lines, always."""
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    fmt = "csv" if name.endswith(".csv") else "json"
    table, stats = parse_file(path, fmt, schema)
    assert table.schema == output_schema(schema)
    body = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    lines = len(body.split(b"\n")) - body.endswith(b"\n") if body else 0
    assert stats.rows + stats.blank + (fmt == "csv" and lines > 0) == lines
    rows = table.to_pylist()
    assert [r["_source_file"] for r in rows] == [str(path)] * len(rows)
    return [{k: v for k, v in r.items() if k != "_source_file"} for r in rows], stats, str(path)


def rescued(path: str, **values) -> str:
    return json.dumps({**values, "_file_path": path}, separators=(",", ":"), ensure_ascii=False)


def row(line: int, rescued_data: str | None = None, **values) -> dict:
    return {**NULLS, **values, "_rescued_data": rescued_data, "_line": line}


# -- clean files -----------------------------------------------------------------------------------
def test_clean_csv_gives_exact_typed_values(tmp_path):
    rows, stats, _ = parse(tmp_path, "clean.csv", f"""{HEADER}
a,2026-01-02T03:04:05Z,12.50,3,9223372036854775807,true,2026-01-02
b,2026-01-02 03:04:05.123456+02:00,-0.5,-2147483648,-9223372036854775808,FALSE,2024-02-29
c,2026-01-02T03:04Z,1e3,2147483647,0,false,
""")
    assert rows == [
        row(2, id="a", ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), amount=12.5, qty=3, big=2**63 - 1,
            refund=True, day=date(2026, 1, 2)),
        row(3, id="b", ts=datetime(2026, 1, 2, 1, 4, 5, 123456, tzinfo=UTC), amount=-0.5, qty=-(2**31),
            big=-(2**63), refund=False, day=date(2024, 2, 29)),
        row(4, id="c", ts=datetime(2026, 1, 2, 3, 4, tzinfo=UTC), amount=1000.0, qty=2**31 - 1, big=0,
            refund=False),
    ]
    assert (stats.rows, stats.rescued, stats.corrupt, stats.blank) == (3, 0, 0, 0)


def test_clean_json_lines_give_exact_typed_values(tmp_path):
    rows, stats, _ = parse(tmp_path, "clean.jsonl", textwrap.dedent("""\
        {"id":"a","ts":"2026-01-02T03:04:05Z","amount":12.5,"qty":3,"big":9223372036854775807,"refund":true,"day":"2026-01-02"}
        {"id":7,"ts":"2026-01-02T03:04:05-01:30","amount":2,"qty":null,"refund":false,"day":"2024-02-29","big":-1}
        {"id":{"nested":[1,"x"]}}
        {}
        """))
    assert rows == [
        row(1, id="a", ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), amount=12.5, qty=3, big=2**63 - 1,
            refund=True, day=date(2026, 1, 2)),
        # like Spark, a string column takes any JSON value as its text
        row(2, id="7", ts=datetime(2026, 1, 2, 4, 34, 5, tzinfo=UTC), amount=2.0, big=-1, refund=False,
            day=date(2024, 2, 29)),
        row(3, id='{"nested":[1,"x"]}'),
        row(4),
    ]
    assert (stats.rescued, stats.corrupt) == (0, 0)


# -- values that do not fit, extra and missing columns --------------------------------------------
def test_csv_values_of_the_wrong_type_are_rescued_and_null(tmp_path):
    rows, stats, path = parse(tmp_path, "types.csv", f"""{HEADER}
r1,2026-01-01T00:00:00Z,abc,1,1,true,2026-01-01
r2,2026-01-01T00:00:00Z,"12,50",1,1,true,2026-01-01
r3,2026-01-01T10:00:00,1,+5,1.0,yes,2026-02-30
r4,2026-01-01T00:00:00.1234567Z, 1,2147483648,9223372036854775808,true,2026-13-01
r5,2026-01-01T24:00:00Z,NaN,1 000,-,TRUE,0000-01-01
""")
    ok_ts = datetime(2026, 1, 1, tzinfo=UTC)
    assert rows == [
        row(2, rescued(path, amount="abc"), id="r1", ts=ok_ts, qty=1, big=1, refund=True, day=date(2026, 1, 1)),
        row(3, rescued(path, amount="12,50"), id="r2", ts=ok_ts, qty=1, big=1, refund=True, day=date(2026, 1, 1)),
        row(4, rescued(path, ts="2026-01-01T10:00:00", qty="+5", big="1.0", refund="yes", day="2026-02-30"),
            id="r3", amount=1.0),
        row(5, rescued(path, ts="2026-01-01T00:00:00.1234567Z", amount=" 1", qty="2147483648",
                       big="9223372036854775808", day="2026-13-01"), id="r4", refund=True),
        row(6, rescued(path, ts="2026-01-01T24:00:00Z", amount="NaN", qty="1 000", big="-", day="0000-01-01"),
            id="r5", refund=True),
    ]
    assert (stats.rows, stats.rescued, stats.corrupt) == (5, 5, 0)


def test_json_values_of_the_wrong_type_are_rescued_with_their_json_value(tmp_path):
    rows, stats, path = parse(tmp_path, "types.jsonl", textwrap.dedent("""\
        {"id":"j1","amount":"abc","qty":1}
        {"id":"j2","qty":1.5,"big":"12","refund":"true","day":20260101}
        {"id":"j3","qty":2147483648,"big":9223372036854775808,"ts":"2026-01-01"}
        {"id":"j4","amount":true,"ts":"2026-01-01T00:00:00+00:00","day":"2026-02-29"}
        """))
    assert rows == [
        row(1, rescued(path, amount="abc"), id="j1", qty=1),
        row(2, rescued(path, qty=1.5, big="12", refund="true", day=20260101), id="j2"),
        row(3, rescued(path, ts="2026-01-01", qty=2147483648, big=9223372036854775808), id="j3"),
        row(4, rescued(path, amount=True, day="2026-02-29"), id="j4", ts=datetime(2026, 1, 1, tzinfo=UTC)),
    ]
    assert (stats.rescued, stats.corrupt) == (4, 0)


def test_a_float_in_an_int_column_is_found_among_many_good_lines(tmp_path):
    """pyarrow names no row for this error: the bad line is found by bisection."""
    lines = [json.dumps({"id": f"g{i}", "qty": i}) for i in range(60)]
    lines[37] = '{"id":"g37","qty":3.5}'
    rows, stats, path = parse(tmp_path, "float.jsonl", "\n".join(lines) + "\n")
    assert [r["qty"] for r in rows] == [None if i == 37 else i for i in range(60)]
    assert rows[37] == row(38, rescued(path, qty=3.5), id="g37")
    assert stats.rescued == 1


def test_extra_columns_are_rescued_and_missing_columns_are_null(tmp_path):
    rows, _, path = parse(tmp_path, "extra.csv", "id,coupon,amount,amount\ne1,X1,1.5,3\ne2,,2.5,\n")
    assert rows == [row(2, rescued(path, coupon="X1", amount3="3"), id="e1", amount=1.5),
                    row(3, id="e2", amount=2.5)]
    rows, _, path = parse(tmp_path, "extra.jsonl",
                          '{"id":"e1","coupon":"X1","Amount":3}\n{"id":"e2","coupon":null,"amount":2.5}\n')
    assert rows == [row(1, rescued(path, coupon="X1", Amount=3), id="e1"), row(2, id="e2", amount=2.5)]


# -- lines that cannot be parsed ------------------------------------------------------------------
def test_malformed_json_lines_become_corrupt_records(tmp_path):
    content = '{"id":"ok1","amount":1}\n{"id":"trunc","amount":1\n[1,2]\n42\n\n   \n{"id":"a"} {"id":"b"}\n{"id":"ok2"}\n'
    rows, stats, path = parse(tmp_path, "bad.jsonl", content)
    assert rows == [
        row(1, id="ok1", amount=1.0),
        row(2, rescued(path, _corrupt_record='{"id":"trunc","amount":1')),
        row(3, rescued(path, _corrupt_record="[1,2]")),
        row(4, rescued(path, _corrupt_record="42")),
        row(6, rescued(path, _corrupt_record="   ")),
        row(7, rescued(path, _corrupt_record='{"id":"a"} {"id":"b"}')),
        row(8, id="ok2"),
    ]
    assert (stats.rows, stats.rescued, stats.corrupt, stats.blank) == (7, 5, 5, 1)


def test_csv_rows_with_a_wrong_field_count_become_corrupt_records(tmp_path):
    rows, stats, path = parse(tmp_path, "fields.csv", "id,amount\na,1\nb\nc,2,3\n,\nd,4\n")
    assert rows == [
        row(2, id="a", amount=1.0),
        row(3, rescued(path, _corrupt_record="b")),
        row(4, rescued(path, _corrupt_record="c,2,3")),
        row(5),  # two empty fields: a row of nulls, nothing to rescue
        row(6, id="d", amount=4.0),
    ]
    assert (stats.rows, stats.rescued, stats.corrupt) == (5, 2, 2)


def test_csv_quoted_values_and_a_value_spanning_lines(tmp_path):
    """Quotes work within a line; a line break inside quotes is not followed (one row per line, like
    Spark without multiLine), so the parser falls back to the line-by-line reader."""
    rows, stats, path = parse(tmp_path, "quoted.csv", 'id,amount\n"a,b",1.5\nx,"multi\nline",2\nz,3\n')
    assert rows == [
        row(2, id="a,b", amount=1.5),
        row(3, rescued(path, _corrupt_record='x,"multi')),
        row(4, id='line"', amount=2.0),
        row(5, id="z", amount=3.0),
    ]
    assert stats.corrupt == 1


def test_semicolon_csv_loses_nothing(tmp_path):
    rows, stats, path = parse(tmp_path, "semicolon.csv", "id;amount\na;1.5\nb;2,5\n")
    assert rows == [
        row(2, rescued(path, **{"id;amount": "a;1.5"})),
        row(3, rescued(path, _corrupt_record="b;2,5")),
    ]
    assert (stats.rows, stats.rescued, stats.corrupt) == (2, 2, 1)


def test_invalid_utf8_is_replaced_and_the_line_rescued(tmp_path):
    rows, stats, path = parse(tmp_path, "latin1.csv", "id,amount\nok,1\ncafé,2\n".encode() + b"bad\xff\xfeid,3\n")
    assert rows == [
        row(2, id="ok", amount=1.0),
        row(3, id="café", amount=2.0),
        row(4, rescued(path, _invalid_utf8="bad\\xff\\xfeid,3"), id="bad\ufffd\ufffdid", amount=3.0),
    ]
    rows, stats, path = parse(tmp_path, "latin1.jsonl", b'{"id":"caf\xe9"}\n{"id":"ok"}\n')
    assert rows == [row(1, rescued(path, _invalid_utf8='{"id":"caf\\xe9"}'), id="caf\ufffd"), row(2, id="ok")]
    assert (stats.rescued, stats.corrupt) == (1, 0)


# -- shapes of files ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, content", [
    ("empty.csv", b""), ("empty.jsonl", b""), ("bom.csv", b"\xef\xbb\xbf"),
    ("header.csv", f"{HEADER}\n".encode()), ("header_no_newline.csv", HEADER.encode()),
])
def test_empty_and_header_only_files_give_no_rows(tmp_path, name, content):
    rows, stats, _ = parse(tmp_path, name, content)
    assert rows == [] and (stats.rows, stats.rescued, stats.corrupt) == (0, 0, 0)


def test_blank_lines_are_skipped_and_counted_and_crlf_is_handled(tmp_path):
    rows, stats, _ = parse(tmp_path, "crlf.csv", b"\xef\xbb\xbfid,amount\r\n\r\na,1\r\n\r\nb,2\r\n")
    assert rows == [row(3, id="a", amount=1.0), row(5, id="b", amount=2.0)]
    assert stats.blank == 2
    rows, stats, _ = parse(tmp_path, "crlf.jsonl", b'{"id":"a"}\r\n\r\n{"id":"b","qty":2}')
    assert rows == [row(1, id="a"), row(3, id="b", qty=2)]
    assert stats.blank == 1


def test_a_one_megabyte_line(tmp_path, monkeypatch):
    big = "x" * (1 << 20)
    rows, _, path = parse(tmp_path, "big.jsonl", f'{{"id":"{big}","qty":1}}\n{{"id":"{big}\n{{"id":"s"}}\n')
    assert rows == [row(1, id=big, qty=1), row(2, rescued(path, _corrupt_record=f'{{"id":"{big}')), row(3, id="s")]
    rows, _, _ = parse(tmp_path, "big.csv", f"id,qty\n{big},1\ns,2\n")
    assert rows == [row(2, id=big, qty=1), row(3, id="s", qty=2)]
    monkeypatch.setattr(parse_module, "_csv_arrow", lambda data, lines, body, *_: (None, body))
    assert parse(tmp_path, "big.csv", f"id,qty\n{big},1\ns,2\n")[0] == rows  # the line-by-line reader too


# -- the fast (pyarrow) path agrees with the per-line Python path ---------------------------------
def _messy_json_lines(n: int, seed: int = 3) -> bytes:
    rnd = random.Random(seed)
    good = {"id": "g", "ts": "2026-03-01T10:00:00+01:00", "amount": 1.25, "qty": 7, "big": 2**40,
            "refund": False, "day": "2026-03-01"}
    bad = [
        lambda: json.dumps({**good, "amount": "abc"}),
        lambda: json.dumps({**good, "qty": 2.5}), lambda: json.dumps({**good, "qty": 2**31}),
        lambda: json.dumps({**good, "extra": [1, {"a": None}]}), lambda: json.dumps({**good, "extra": "s"}),
        lambda: json.dumps({**good, "day": "2026-02-30", "ts": "2026-03-01"}), lambda: json.dumps({"id": 5}),
        lambda: json.dumps(good)[:30], lambda: "[1]", lambda: "", lambda: "null",
        lambda: json.dumps({**good, "id": "naïve ✓"}, ensure_ascii=False), lambda: json.dumps({**good, "big": 2**70}),
    ]
    lines = [(rnd.choice(bad)() if rnd.random() < 0.2 else json.dumps(good)).encode() for _ in range(n)]
    lines[n // 2] = b'{"id":"\xff"}'
    return b"\n".join(lines) + b"\n"


def test_fast_and_python_json_paths_agree(tmp_path, monkeypatch):
    path = tmp_path / "messy.jsonl"
    path.write_bytes(_messy_json_lines(2000))
    python_rows = []
    row_parser = parse_module._json_row
    monkeypatch.setattr(parse_module, "_json_row", lambda *a: python_rows.append(1) or row_parser(*a))
    fast, fast_stats = parse_file(path, "json", SCHEMA)
    assert len(python_rows) < 1000  # most lines, rescued ones included, went through pyarrow
    monkeypatch.setattr(parse_module, "_read_json", lambda piece, schema, expected: None)
    slow, slow_stats = parse_file(path, "json", SCHEMA)
    assert fast.equals(slow) and fast_stats == slow_stats
    assert fast_stats.rows + fast_stats.blank == 2000 and fast_stats.corrupt > 0 and fast_stats.rescued > 300


def test_fast_and_python_csv_paths_agree(tmp_path, monkeypatch):
    rnd = random.Random(5)
    variants = ["a,2026-01-01T00:00:00Z,1.5,1,2,true,2026-01-01", "b,x,abc,1.5,,maybe,2026-02-31", "c,,,,,,",
                "d,1", "e,1,2,3,4,5,6,7", '"f,g",2026-01-01 00:00:00-05:00,-1e-3,-7,8,False,2000-02-29', ""]
    path = tmp_path / "messy.csv"
    path.write_text(HEADER + "\n" + "\n".join(rnd.choice(variants) for _ in range(300)) + "\n")
    fast, fast_stats = parse_file(path, "csv", SCHEMA)
    monkeypatch.setattr(parse_module, "_csv_arrow", lambda data, lines, body, *_: (None, body))
    slow, slow_stats = parse_file(path, "csv", SCHEMA)
    assert fast.equals(slow) and fast_stats == slow_stats


# -- exactly once ---------------------------------------------------------------------------------
def land(landing: Path, day: str, name: str, text: str = "id,amount\nx,1\n", source: str = "tx") -> str:
    path = landing / source / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def nothing_written(files: list[str]) -> set[str]:
    return set()


def test_listing_skips_temp_files_other_folders_and_days_after_through(tmp_path):
    landing = tmp_path / "landing"
    second = land(landing, "2026-01-02", "b.csv")
    first = [land(landing, "2026-01-01", "a2.csv"), land(landing, "2026-01-01", "a1.csv")]
    for ignored in [("2026-01-01", ".a3.csv"), ("2026-01-01", "_a4.csv"), ("2026-01-01", "a5.json"),
                    ("_manifest", "m.csv"), ("not-a-day", "n.csv")]:
        land(landing, *ignored)
    log = IngestLog(tmp_path / "ckpt")
    assert log.new_files(landing, "tx", "csv", nothing_written) == sorted(first) + [second]
    assert log.new_files(landing, "tx", "csv", nothing_written, through=date(2026, 1, 1)) == sorted(first)


def test_a_repeated_run_finds_nothing_and_a_new_file_is_found_alone(tmp_path):
    landing, ckpt = tmp_path / "landing", tmp_path / "ckpt"
    files = [land(landing, "2026-01-01", "a.csv"), land(landing, "2026-01-02", "b.csv")]
    batch = read_new_files(IngestLog(ckpt), landing, "tx", "csv", [("id", "string"), ("amount", "double")],
                           nothing_written)
    assert batch.files == files and batch.table.num_rows == 2
    assert [(s.file, s.rows, s.rescued, s.corrupt) for s in batch.stats] == [(f, 1, 0, 0) for f in files]
    IngestLog(ckpt).commit(batch.files)
    assert IngestLog(ckpt).new_files(landing, "tx", "csv", nothing_written) == []
    later = land(landing, "2026-01-03", "c.csv")
    assert IngestLog(ckpt).new_files(landing, "tx", "csv", nothing_written) == [later]
    assert IngestLog(ckpt).ingested() == files


def test_crash_between_write_and_commit_does_not_ingest_twice(tmp_path):
    landing, ckpt = tmp_path / "landing", tmp_path / "ckpt"
    files = [land(landing, "2026-01-01", "a.csv"), land(landing, "2026-01-01", "b.csv")]
    IngestLog(ckpt).begin(files)  # ... rows written, then the process died before commit
    asked = []

    def already_written(pending: list[str]) -> set[str]:
        asked.append(pending)
        return set(files)

    assert IngestLog(ckpt).new_files(landing, "tx", "csv", already_written) == []
    assert asked == [files] and IngestLog(ckpt).ingested() == files
    assert IngestLog(ckpt).new_files(landing, "tx", "csv", already_written) == [] and len(asked) == 1


def test_crash_before_the_write_reads_the_files_again(tmp_path):
    landing, ckpt = tmp_path / "landing", tmp_path / "ckpt"
    files = [land(landing, "2026-01-01", "a.csv"), land(landing, "2026-01-01", "b.csv")]
    IngestLog(ckpt).begin(files)  # the process died before writing anything
    log = IngestLog(ckpt)
    assert log.new_files(landing, "tx", "csv", lambda pending: {files[0]}) == [files[1]]
    assert log.ingested() == [files[0]]
    log.begin([files[1]])
    log.commit([files[1]])
    assert log.ingested() == files


def test_sigkill_after_the_write_and_before_commit(tmp_path):
    """A real kill -9 between the table write and the commit: the next run reads nothing twice."""
    landing, ckpt, target = tmp_path / "landing", tmp_path / "ckpt", tmp_path / "target.parquet"
    files = [land(landing, "2026-01-01", "a.csv", "id,amount\nx,1\ny,2\n"), land(landing, "2026-01-02", "b.csv")]
    child = textwrap.dedent("""
        import os, signal, sys
        import pyarrow.parquet as pq
        from lakehouse.local.ingest import IngestLog, read_new_files
        batch = read_new_files(IngestLog(sys.argv[1]), sys.argv[2], "tx", "csv",
                               [("id", "string"), ("amount", "double")], lambda pending: set())
        pq.write_table(batch.table, sys.argv[3])
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", child, str(ckpt), str(landing), str(target)], timeout=120)
    assert done.returncode == -9
    written = set(pq.read_table(target).column("_source_file").to_pylist())
    assert written == set(files)
    log = IngestLog(ckpt)
    assert log.new_files(landing, "tx", "csv", lambda pending: set(pending) & written) == []
    assert log.ingested() == files


def test_a_file_changed_after_ingestion_is_reported_not_reingested(tmp_path, caplog):
    landing, ckpt = tmp_path / "landing", tmp_path / "ckpt"
    path = land(landing, "2026-01-01", "a.csv")
    log = IngestLog(ckpt)
    log.begin([path])
    log.commit([path])
    Path(path).write_text("id,amount\nx,1\ny,2\n")
    with caplog.at_level(logging.WARNING, logger="lakehouse.local.ingest.files"):
        assert log.new_files(landing, "tx", "csv", nothing_written) == []
    assert f"landing file {path} changed after it was ingested" in caplog.text


def test_begin_and_commit_refuse_inconsistent_calls(tmp_path):
    path = land(tmp_path / "landing", "2026-01-01", "a.csv")
    log = IngestLog(tmp_path / "ckpt")
    with pytest.raises(ValueError, match="not pending"):
        log.commit([path])
    log.begin([path])
    with pytest.raises(ValueError, match="already pending or ingested"):
        log.begin([path])
    assert not [p for p in os.listdir(tmp_path / "ckpt") if p.endswith(".tmp")]


# -- hand-over to Spark ---------------------------------------------------------------------------
def test_to_spark_keeps_the_exact_spark_types(spark, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f"{HEADER}\na,2026-01-02 03:04:05.5+02:00,1.5,2,3,true,2026-01-02\nb,x,,,,,\n")
    batch = read_files([path], "csv", SCHEMA)
    df = to_spark(spark, batch.table, tmp_path / "staging")
    assert df.schema.simpleString() == (
        "struct<id:string,ts:timestamp,amount:double,qty:int,big:bigint,refund:boolean,day:date,"
        "_rescued_data:string,_source_file:string,_line:int>"
    )
    first, second = df.orderBy("_line").collect()
    assert first.asDict() == {"id": "a", "ts": datetime(2026, 1, 2, 1, 4, 5, 500000), "amount": 1.5, "qty": 2,
                              "big": 3, "refund": True, "day": date(2026, 1, 2), "_rescued_data": None,
                              "_source_file": str(path), "_line": 2}
    assert second["_rescued_data"] == rescued(str(path), ts="x") and second["ts"] is None
    assert to_spark(spark, read_files([], "csv", SCHEMA).table, tmp_path / "staging").count() == 0


def test_the_drop_date_is_the_landing_folders_day_per_file_locally_and_per_row_in_sql(spark):
    paths = ["/l/transactions/2026-02-14/t.csv",
             "abfss://landing@acct.dfs.core.windows.net/transactions/2026-02-14/transactions_20260214.csv",
             "dbfs:/Volumes/c/s/landing/customers/2026-01-01/c.jsonl",
             "/l/transactions/t.csv", "/l/transactions/2026-13-45/t.csv", "/l/2026-02-14/sub/t.csv"]
    expected = [date(2026, 2, 14), date(2026, 2, 14), date(2026, 1, 1), None, None, None]
    assert [drop_date(p) for p in paths] == expected
    frame = spark.createDataFrame(list(enumerate(paths)), "i int, _source_file string")
    assert [r[1] for r in frame.select("i", drop_date_column("_source_file")).orderBy("i").collect()] == expected


# -- the file log's other readers and writers (mutation testing, benchmarks/results/mutation.md) ------------------
def test_ingested_after_lists_only_files_committed_after_the_moment_never_pending_ones(tmp_path):
    """What recompute_window reads: the files a flow that last committed at `moment` has not seen. A pending file
    (its write may not have happened) is in neither list."""
    landing, log = tmp_path / "landing", IngestLog(tmp_path / "ckpt")
    early, late, pending = (land(landing, "2026-01-01", n) for n in ("a.csv", "b.csv", "c.csv"))
    log.begin([early])
    log.commit([early])
    moment = datetime.fromisoformat(json.loads(log.path.read_text())["files"][early]["ingested_at"])
    while datetime.now(timezone.utc) <= moment:  # the next commit's clock reading is strictly later
        pass
    log.begin([late])
    log.commit([late])
    log.begin([pending])
    assert log.ingested_after(moment) == [late]  # a file committed at the moment itself was seen
    assert log.ingested_after(None) == [early, late] == log.ingested()
    assert log.ingested_after(datetime.now(timezone.utc)) == []


def test_a_full_refresh_restart_offers_again_exactly_what_did_not_reach_the_target(tmp_path, caplog):
    landing, ckpt = tmp_path / "landing", tmp_path / "state" / "sources" / "tx"  # parents created on first save
    files = [land(landing, "2026-01-01", "a.csv"), land(landing, "2026-01-02", "b.csv")]
    IngestLog(ckpt).begin(files)
    IngestLog(ckpt).commit(files)
    IngestLog(ckpt).restart(files)  # ... the refresh wrote a.csv's rows, then the process died
    assert IngestLog(ckpt).ingested() == []
    with caplog.at_level(logging.WARNING, logger="lakehouse.local.ingest.files"):
        assert IngestLog(ckpt).new_files(landing, "tx", "csv", lambda pending: {files[0]}) == [files[1]]
    assert IngestLog(ckpt).ingested() == [files[0]]
    assert "left 2 file(s) pending: 1 were in the target and are now ingested, 1 were not" in caplog.text


def test_listing_through_a_day_keeps_every_earlier_day(tmp_path):
    landing = tmp_path / "landing"
    days = [land(landing, day, "t.csv") for day in ("2026-01-01", "2026-01-02", "2026-01-03")]
    log = IngestLog(tmp_path / "ckpt")
    assert log.new_files(landing, "tx", "csv", nothing_written, through=date(2026, 1, 2)) == days[:2]


def test_only_a_file_that_changed_is_reported_also_when_it_shrank(tmp_path, caplog):
    landing, log = tmp_path / "landing", IngestLog(tmp_path / "ckpt")
    kept, shrunk = land(landing, "2026-01-01", "a.csv"), land(landing, "2026-01-01", "b.csv", "id,amount\nx,1\ny,2\n")
    log.begin([kept, shrunk])
    log.commit([kept, shrunk])
    Path(shrunk).write_text("id,amount\n")
    os.utime(shrunk, ns=(0, 0))  # smaller and older than what was ingested: still a change
    with caplog.at_level(logging.WARNING, logger="lakehouse.local.ingest.files"):
        assert log.new_files(landing, "tx", "csv", nothing_written) == []
    assert f"landing file {shrunk} changed" in caplog.text and kept not in caplog.text
