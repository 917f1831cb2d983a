"""Point-in-time (as-of) join of a spine of (keys, as-of) rows to a time series feature table.

Boundary rule, the same as Databricks' and Feast's: for each spine row the feature row with equal keys
and the LATEST timeseries value t <= as-of is taken (t == as-of matches), and only when
as-of - t <= lookback_window if one is set (so a zero window keeps exact matches only); no such row, or
a null key or as-of, gives nulls. A later row is never used. Spine rows are kept one for one, in number
and columns.

Dates: the ARDS row for feature_date D holds features as of the END of day D, and a spine date A means
"as of the end of day A", so a date spine compares D <= A and the row for D is usable for A >= D. The
as-of column must have the timeseries column's type (as Databricks requires): a timestamp instant T
inside day D compared to the date D would be read as D 00:00 (Databricks casts dates to midnight) and
get features computed over all of day D, up to 24 hours of leakage. Convert instants with
`as_of_date(T)`: the last complete day, date(T) - 1 (UTC), so the row for D becomes available at
D+1 00:00, inclusive.

Plan (measured on Sail): probes = the distinct non-null (keys, as-of) of the spine. Probes with a table
row at exactly their as-of (most of them on a daily table) are settled by an equi-join; only the rest go
through the union-and-last-value as-of join that Tempo also uses (those probes unioned with their keys'
table (keys, t), ordered by time per key with table rows before probes on ties, each probe taking the
last t seen). The matched (keys, t) pairs then fetch the feature columns by an equi-join. On 1M probes
against 100k keys x 365 days (2 features), a range join over a 7-day lookback took 107 s, the union
alone 51 s, this split 16 s. The table is read only within [min as-of - lookback, max as-of], which
takes one eager pass over the spine; the spine is read several times: materialize an expensive one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

_PROBE, _MATCH = "__pit_probe", "__pit_match"


def as_of_date(instant: Column | str) -> Column:
    """The as-of date for a timestamp instant: the last day whose features are complete then (UTC)."""
    column = F.col(instant) if isinstance(instant, str) else instant
    return F.date_sub(F.to_date(column), 1)


def _seconds(column: Column) -> Column:
    return column.cast("timestamp").cast("long")


def point_in_time_join(
    spine: DataFrame,
    table: DataFrame,
    *,
    keys: Sequence[str],
    as_of: str,
    table_keys: Sequence[str],
    timeseries_column: str,
    features: Mapping[str, str],
    lookback: timedelta | None = None,
) -> DataFrame:
    """`spine` with the output columns of `features` (table column -> output name) as of each row.

    `keys` (spine) pair with `table_keys` (table) in order.
    """
    probes = spine.select(*keys, as_of).where(reduce(Column.__and__, [F.col(c).isNotNull() for c in (*keys, as_of)]))
    probes = probes.distinct()
    renamed = table.select(*[F.col(t).alias(k) for t, k in zip(table_keys, keys)], F.col(timeseries_column).alias(as_of),
                           *[F.col(c).alias(out) for c, out in features.items()])
    (bounds,) = probes.agg(F.min(as_of).alias("lo"), F.max(as_of).alias("hi")).collect()  # a global aggregate: one row
    if bounds["hi"] is not None:
        renamed = renamed.where(F.col(as_of) <= F.lit(bounds["hi"]))
        if lookback is not None:  # a day looser than needed, as a plain comparison that prunes partitions
            renamed = renamed.where(F.col(as_of) >= F.lit(bounds["lo"] - lookback - timedelta(days=1)))
    stamps = renamed.select(*keys, as_of)
    exact = probes.join(stamps, [*keys, as_of], "left_semi").withColumn(_MATCH, F.col(as_of))
    rest = probes.join(stamps, [*keys, as_of], "left_anti")
    history = rest.select(*keys).distinct().join(stamps, list(keys))  # the small side first: it is hashed
    events = history.select("*", F.lit(0).alias(_PROBE)).unionByName(rest.select("*", F.lit(1).alias(_PROBE)))
    ordered = Window.partitionBy(*keys).orderBy(as_of, _PROBE).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    last_seen = F.last(F.when(F.col(_PROBE) == 0, F.col(as_of)), ignorenulls=True).over(ordered)
    earlier = events.select(*keys, as_of, last_seen.alias(_MATCH)).where(F.col(_PROBE) == 1)
    if lookback is not None:
        within = _seconds(F.col(as_of)) - _seconds(F.col(_MATCH)) <= int(lookback.total_seconds())
        earlier = earlier.withColumn(_MATCH, F.when(within, F.col(_MATCH)))
    values = renamed.withColumnRenamed(as_of, _MATCH)
    found = exact.unionByName(earlier).join(values, [*keys, _MATCH], "inner").drop(_MATCH)
    joined = spine.join(found, [*keys, as_of], "left")
    return joined.select(*spine.columns, *features.values())
