"""Monthly drift detection on the ARDS with Evidently: `detect_drift` (quality.drift.job), `lakehouse drift`."""
