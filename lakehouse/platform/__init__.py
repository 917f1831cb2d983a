"""The Databricks seam: one module per integration point (pipeline sources, event log, MLflow tracking and
registry, the feature store client, secrets, volumes). Runs on Databricks and locally; where the two differ, the difference is decided here, so that the domain
packages (ml, quality) never ask where they run (docs/architecture.md).
"""
