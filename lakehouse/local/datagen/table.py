"""Column tables: a dict of equal-length numpy arrays, the in-memory form of events.

Why not pandas: at a million rows a day, building DataFrames (block consolidation) cost more
than generating the data; the generator only needs masks, takes and concatenation. Categorical
columns hold codes into schema.DOMAINS, days are date ordinals, times are epoch seconds (UTC).
"""

from __future__ import annotations

from datetime import date

import numpy as np

Table = dict[str, np.ndarray]
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def n_rows(table: Table) -> int:
    """Number of rows (tables always have at least one column)."""
    return len(next(iter(table.values())))


def take(table: Table, rows: np.ndarray | slice) -> Table:
    """The rows selected by an index array, a boolean mask or a slice."""
    return {name: values[rows] for name, values in table.items()}
