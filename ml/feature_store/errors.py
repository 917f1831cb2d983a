"""Feature store errors: each names the table, feature or column at fault, and nothing was written."""

from lakehouse.core.errors import LakehouseError


class FeatureStoreError(LakehouseError):
    """A feature store call was refused before anything was written."""


class FeatureTableNotFound(FeatureStoreError):
    """The name is not a registered feature table (or the table does not exist)."""


class FeatureNotFound(FeatureStoreError):
    """A lookup names a feature its table does not have."""


class LookupKeyError(FeatureStoreError):
    """A lookup or timestamp key is missing from the frame or has a type other than the table's key."""


class DuplicateKeyError(FeatureStoreError):
    """Rows written to a feature table share a primary key (including the timeseries column)."""
