# Databricks notebook source
# MAGIC %md
# MAGIC # lakehouse task, as a notebook
# MAGIC Runs one job task of the `lakehouse` package (`data_quality`, `drift`, ...) and publishes what it returns as
# MAGIC task values, which condition tasks read as `{{tasks.<task_key>.values.<key>}}`. Only a Python notebook can
# MAGIC set task values (https://docs.databricks.com/jobs/task-values.html), which is why this notebook exists; all
# MAGIC logic stays in the package (`lakehouse.tasks.run_notebook_task`).
# MAGIC
# MAGIC The package comes from the job's environment (`environment_key: lakehouse`: the bundle's wheel), which
# MAGIC overrides the notebook environment on serverless (https://docs.databricks.com/api/workspace/jobs/create,
# MAGIC `environments`). The parameters are the task's `base_parameters`, one widget per argument of the
# MAGIC `lakehouse-task` console script (`task`, `env`, `date`, `catalog`, `schema`, `since`). `lakehouse job run` runs this
# MAGIC same file locally.

# COMMAND ----------

from lakehouse.tasks import NOTEBOOK_WIDGETS, run_notebook_task

for name in NOTEBOOK_WIDGETS:
    dbutils.widgets.text(name, "")

# COMMAND ----------

values = run_notebook_task(spark, dbutils.widgets.get)

for key, value in values.items():
    dbutils.jobs.taskValues.set(key=key, value=value)
print(", ".join(f"{key}={value}" for key, value in values.items()))
