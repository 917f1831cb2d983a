"""The local emulation of the platform: DLT runtime, file ingestion, job runner, bundle reading, Azurite, the
data generator, engine parity. Never runs on Databricks and is not in the wheel (docs/architecture.md).
"""
