"""Seeded, deterministic row sampling in Spark, so a month of ARDS (3M rows at 100k customers) fits in memory.

Strategy: every row gets h = xxhash64(key columns..., seed); the sample is the `rows` rows with the smallest
h (ties broken by the keys). That is a uniform sample without replacement that depends only on the data and
the seed: not on partitioning, file layout or engine (unlike `F.rand(seed)`, which also repeats every 8,192
rows on Sail). Sorting all rows is avoided by first keeping only the hash buckets that hold about
`OVERSAMPLE` x the wanted share of rows, then taking the top `rows` of those: one pass plus a small sort.
Windows with at most `rows` rows are taken whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

BUCKETS = 1 << 30
OVERSAMPLE = 1.2  # prefilter margin: P(fewer than `rows` rows survive) is negligible from a few hundred rows on
STRATEGY = "xxhash64(keys, seed): the rows with the smallest hash (uniform, without replacement)"


@dataclass(frozen=True)
class Sample:
    frame: pd.DataFrame
    total: int  # rows in the window

    @property
    def rows(self) -> int:
        return len(self.frame)

    def describe(self) -> dict[str, object]:
        return {"rows": self.total, "sampled": self.rows, "fraction": round(self.rows / self.total, 6) if self.total else 0.0}


def sample_rows(frame: DataFrame, columns: list[str], keys: list[str], rows: int, seed: int, total: int) -> Sample:
    """`columns` of at most `rows` rows of `frame` (which holds `total` rows), chosen by the seeded key hash."""
    h = F.xxhash64(*[F.col(k) for k in keys], F.lit(seed))
    ordered = frame.select(*columns, *[k for k in keys if k not in columns], h.alias("_h"))
    if total > rows:
        keep = min(BUCKETS, int(BUCKETS * OVERSAMPLE * rows / total) + 1)
        ordered = ordered.where(F.pmod(F.col("_h"), F.lit(BUCKETS)) < F.lit(keep))
    picked = ordered.orderBy("_h", *keys).limit(rows).select(*columns).toPandas()
    return Sample(picked, total)
