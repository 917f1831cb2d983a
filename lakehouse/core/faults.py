"""Fault injection for the reliability tests: die with SIGKILL at a named point.

Why: crash safety is only proven by really dying at the worst moments (after a write, before the
bookkeeping that records it), with no `finally`, no flush and no lock release, as a killed cluster
node or an OOM kill would. `LAKEHOUSE_FAULT=<point>` makes `maybe_crash(point)` kill the process
when that point is reached; unset (always, outside tests) the call is one environment lookup.

Points (README, 'Reliability and security', says what each proves):
  ingest.pending         landing files recorded as pending, nothing written yet (lakehouse/local/dlt_runtime/auto_loader.py)
  ingest.read            landing files read and staged, the bronze write not committed (lakehouse/local/dlt_runtime/auto_loader.py)
  ingest.written         bronze rows committed, the ingested-files log not yet (lakehouse/local/dlt_runtime/auto_loader.py)
  flow.written:<flow>    a flow's table written, its checkpoint not yet saved (dlt_runtime/execution.py)
  train.logged           model logged to the MLflow run, not registered yet (ml/training/train.py)
  train.registered       version registered as @challenger, gate not run yet (ml/training/train.py)
  score.predicting       inside the predictions write, before it commits (ml/scoring.py)
"""

from __future__ import annotations

import os
import signal

FAULT_VARIABLE = "LAKEHOUSE_FAULT"


def maybe_crash(point: str) -> None:
    """Kill this process (SIGKILL: no cleanup of any kind) when LAKEHOUSE_FAULT names `point`."""
    if os.environ.get(FAULT_VARIABLE) == point:
        os.kill(os.getpid(), signal.SIGKILL)
