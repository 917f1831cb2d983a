"""What is in the lakehouse: per table its rows, Delta version and latest date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.table import Table

from lakehouse.core.storage import TableStore


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


def status_table(title: str, rows: list[TableStatus]) -> Table:
    """The statuses as a table for the terminal."""
    view = Table(title=title)
    for column in ("table", "rows", "version", "latest date"):
        view.add_column(column, justify="right" if column in ("rows", "version") else "left")
    for r in rows:
        view.add_row(r.table, f"{r.rows:,}", str(r.version), str(r.latest_date or ""))
    return view
