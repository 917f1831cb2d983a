"""The local online store: an embedded SQLite file mapping a feature table's keys to its latest row.

A publish upserts a snapshot in one transaction, so a failed publish changes nothing and publishing the
same snapshot again leaves the store as it was. Keys missing from a snapshot keep their row (the merge
rule of Databricks' publish_table). For a time series table a row replaces the stored one only when its
timeseries value is not older, so re-publishing an old snapshot cannot move a key back in time. Each
table's Arrow schema is stored with it, so reads return the offline types; a new schema replaces the
table. Dates and timestamps are stored as ISO text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_META = "_online_tables"
_CHUNK = 500  # keys per query, well under SQLite's limit on bound parameters


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(dtype: pa.DataType) -> str:
    if pa.types.is_integer(dtype) or pa.types.is_boolean(dtype):
        return "INTEGER"
    return "REAL" if pa.types.is_floating(dtype) else "TEXT"


def _to_sql(column: pa.ChunkedArray) -> list:
    stored = column if _sql_type(column.type) != "TEXT" or pa.types.is_string(column.type) else pc.cast(column, pa.string())
    return stored.to_pylist()


def _from_sql(values: list, dtype: pa.DataType) -> pa.Array:
    raw = pa.array(values, type=pa.string() if _sql_type(dtype) == "TEXT" else None)
    return raw.cast(dtype) if len(raw) else pa.array([], type=dtype)


class OnlineStore:
    """Upsert snapshots of feature tables and read rows by key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path)
        connection.execute(f"CREATE TABLE IF NOT EXISTS {_META} (name TEXT PRIMARY KEY, keys TEXT, timeseries TEXT, "
                           "schema BLOB, published_at TEXT)")
        return connection

    def publish(self, table: str, rows: pa.Table, keys: Sequence[str], timeseries: str | None = None) -> int:
        """Upsert `rows` (one per key) into the online table of `table`; returns the number of rows sent."""
        names = rows.column_names
        schema = rows.schema.serialize().to_pybytes()
        with closing(self._connect()) as connection, connection:
            connection.execute("BEGIN IMMEDIATE")  # DDL included: the whole publish is one transaction
            stored = connection.execute(f"SELECT schema FROM {_META} WHERE name = ?", (table,)).fetchone()
            if stored is None or stored[0] != schema:
                columns = ", ".join(f"{_ident(c)} {_sql_type(rows.schema.field(c).type)}" for c in names)
                connection.execute(f"DROP TABLE IF EXISTS {_ident(table)}")
                connection.execute(f"CREATE TABLE {_ident(table)} ({columns}, PRIMARY KEY ({', '.join(map(_ident, keys))}))")
            updates = ", ".join(f"{_ident(c)} = excluded.{_ident(c)}" for c in names if c not in keys)
            guard = f" WHERE excluded.{_ident(timeseries)} >= {_ident(table)}.{_ident(timeseries)}" if timeseries else ""
            connection.executemany(
                f"INSERT INTO {_ident(table)} ({', '.join(map(_ident, names))}) VALUES ({', '.join('?' * len(names))}) "
                f"ON CONFLICT ({', '.join(map(_ident, keys))}) DO UPDATE SET {updates}{guard}",
                zip(*(_to_sql(rows.column(c)) for c in names)),
            )
            connection.execute(
                f"INSERT OR REPLACE INTO {_META} VALUES (?, ?, ?, ?, datetime('now'))", (table, ",".join(keys), timeseries, schema)
            )
        return rows.num_rows

    def read(self, table: str, keys: pd.DataFrame) -> pd.DataFrame:
        """The stored rows for `keys` (one column per key), in their order; unknown keys get nulls."""
        with closing(self._connect()) as connection:
            meta = connection.execute(f"SELECT keys, schema FROM {_META} WHERE name = ?", (table,)).fetchone()
            if meta is None:
                raise KeyError(table)
            key_names = meta[0].split(",")
            schema = pa.ipc.read_schema(pa.py_buffer(meta[1]))
            rows: list[tuple] = []
            wanted = list(keys[key_names].itertuples(index=False, name=None))
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                tuples = ", ".join("(" + ", ".join("?" * len(key_names)) + ")" for _ in chunk)
                rows += connection.execute(
                    f"SELECT * FROM {_ident(table)} WHERE ({', '.join(map(_ident, key_names))}) IN (VALUES {tuples})",
                    [v for key in chunk for v in key],
                ).fetchall()
        found = pa.table([_from_sql(list(values), field.type) for values, field in
                          zip(zip(*rows) if rows else [[] for _ in schema], schema)], schema=schema).to_pandas()
        return keys[key_names].merge(found, on=key_names, how="left")

    def tables(self) -> list[str]:
        with closing(self._connect()) as connection:
            return [r[0] for r in connection.execute(f"SELECT name FROM {_META} ORDER BY name")]
