"""What is in the lakehouse: per table its rows, Delta version and latest date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from lakehouse.storage import TableStore


@dataclass(frozen=True)
class TableStatus:
    table: str
    rows: int
    version: int | None
    latest_date: date | None
    date_column: str | None


def table_status(store: TableStore) -> list[TableStatus]:
    """One status per table of the configured schema; dates from the first date-typed column."""
    result = []
    for table in store.list_tables():
        df = store.read(table)
        date_col = next((f.name for f in df.schema.fields if f.dataType.typeName() == "date"), None)
        exprs = ["count(*) AS n"] + ([f"max(`{date_col}`) AS d"] if date_col else [])
        row = df.selectExpr(*exprs).first()
        result.append(
            TableStatus(
                table=store.name(table),
                rows=int(row["n"]),
                version=store.version(table),
                latest_date=row["d"] if date_col else None,
                date_column=date_col,
            )
        )
    return result
