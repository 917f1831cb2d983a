"""Errors of the training and scoring jobs: one clear line for the CLI, nothing written when raised."""

from lakehouse.core.errors import LakehouseError


class NotEnoughHistory(LakehouseError):
    """The data cannot give a training set for this run date (no matured as-of date, or an empty split)."""


class ScoringRefused(LakehouseError):
    """Batch scoring refused before writing: no champion, missing or stale features, or a schema mismatch."""


class UntrustedModel(LakehouseError):
    """A model asks to deserialize types outside the project's trusted list."""
