"""The declared schemas of the ARDS and MRDS, generated from the feature definitions.

The pipelines pass these to `@dlt.table(schema=...)`: every column with its type and comment, the keys NOT
NULL and the primary key as a table constraint, `PRIMARY KEY (customer_id, feature_date TIMESERIES)` for the
ARDS. That is where Databricks takes a pipeline dataset's keys and comments from: a materialized view
accepts a column list with NOT NULL, COMMENT and table constraints
(https://docs.databricks.com/aws/en/dlt-ref/dlt-sql-ref-create-materialized-view), a primary key with a
TIMESERIES column makes it a time series feature table
(https://docs.databricks.com/sql/language-manual/sql-ref-syntax-ddl-create-table-constraint.html,
https://docs.databricks.com/aws/en/machine-learning/feature-store/time-series), and no ALTER is needed, which
a pipeline's update would revert (https://docs.databricks.com/gcp/en/ldp/using-alter-sql). Generated rather
than written out, so a feature added to ml/features/definitions.py is declared with its type and description,
and so is the `window_complete_<days>d` column of each window length (ml/features/definitions.py, COMPLETENESS).
"""

from __future__ import annotations

from collections.abc import Sequence

from lakehouse.core.declared_schema import Column, DeclaredSchema, PrimaryKey
from ml.feature_store.mrds import AS_OF, COLUMNS
from ml.features.definitions import COMPLETENESS, ENTITY_KEY, FEATURES, TIMESERIES_KEY

ENTITY_COMMENT = COLUMNS[ENTITY_KEY]
ARDS_TIMESERIES_COMMENT = "the date the features are computed for: as of the end of this day (timeseries key)"


def _declared(keys: Sequence[Column], others: Sequence[Column], key: PrimaryKey, completeness_nullable: bool) -> str:
    """Keys, other columns, the features, then one completeness column per window length (after the features,
    so the model's columns keep their order)."""
    features = tuple(Column(f.name, f.dtype, True, f.description) for f in FEATURES)
    completeness = tuple(Column(c.name, "boolean", completeness_nullable, c.description) for c in COMPLETENESS)
    return DeclaredSchema((*keys, *others, *features, *completeness), key).ddl()


# Completeness is computed for every ARDS row (NOT NULL); an MRDS row whose customer has no ARDS row has none.
ARDS_SCHEMA = _declared(
    keys=(Column(ENTITY_KEY, "string", False, ENTITY_COMMENT), Column(TIMESERIES_KEY, "date", False, ARDS_TIMESERIES_COMMENT)),
    others=(),
    key=PrimaryKey("ards_pk", (ENTITY_KEY, TIMESERIES_KEY), TIMESERIES_KEY),
    completeness_nullable=False,
)

MRDS_SCHEMA = _declared(
    keys=(Column(ENTITY_KEY, "string", False, ENTITY_COMMENT),),
    others=(Column(AS_OF, "date", True, COLUMNS[AS_OF]), Column(TIMESERIES_KEY, "date", True, COLUMNS[TIMESERIES_KEY])),
    key=PrimaryKey("mrds_pk", (ENTITY_KEY,)),
    completeness_nullable=True,
)
