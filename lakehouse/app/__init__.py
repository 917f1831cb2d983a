"""The local app shell: the `lakehouse` CLI, the pipeline UI, the demo, preflight and status. Wires the
other layers together; never runs on Databricks and is not in the wheel (docs/architecture.md).
"""

# The shell wires the local emulation into the Databricks seam (docs/architecture.md, "Choosing an implementation"):
# importing lakehouse.local registers the local feature store, so every command, page and the demo get it.
import lakehouse.local  # noqa: E402, F401
