"""Core: settings, errors, storage, engine start, the source contract, the rule engine of DLT expectations and
the quality job, declared schemas, locks, fault injection. Runs on Databricks and locally; imports nothing else of
the project (import-linter contracts in pyproject.toml, docs/architecture.md).
"""
