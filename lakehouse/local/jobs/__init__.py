"""The local job runner: runs the bundle's jobs as Databricks Jobs would (spec, schedules, conditions,
history, backfill, the offline bundle check and deploy). Never runs on Databricks.
"""
