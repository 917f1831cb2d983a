"""The local app shell: the `lakehouse` CLI, the pipeline UI, the demo, preflight and status. Wires the
other layers together; never runs on Databricks and is not in the wheel (docs/architecture.md).
"""
