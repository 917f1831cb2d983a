"""A flow's checkpoint (lakehouse/local/dlt_runtime/checkpoints.py): stored and read back exactly, and when it was last
committed, which the recompute window (lakehouse.platform.sources.recompute_window) compares ingestion times with."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from lakehouse.local.dlt_runtime.checkpoints import Checkpoint, CheckpointStore, Position


def test_a_checkpoint_reads_back_as_saved_and_a_flow_never_committed_has_none(tmp_path):
    store = CheckpointStore(tmp_path / "_pipelines" / "offline_features" / "checkpoints")  # parents made on save
    assert store.load("Silver/Tx") == Checkpoint(inputs={}) and store.committed_at("Silver/Tx") is None
    saved = Checkpoint(inputs={"bronze_tx": Position(3, "t-1"), "a": Position(0, "t-2")}, once_done=True)
    store.save("Silver/Tx", saved)
    assert store.load("silver/tx") == saved  # flow names are case-insensitive, as dataset names
    assert not list(store.directory.glob("*.tmp"))


def test_committed_at_is_the_moment_the_checkpoint_was_last_saved_in_utc(tmp_path):
    store = CheckpointStore(tmp_path)
    store.save("gold", Checkpoint(inputs={}))
    moment = datetime(2026, 3, 2, 10, 30, 15, 250000, tzinfo=timezone.utc)
    os.utime(next(tmp_path.glob("*.json")), ns=(0, int(moment.timestamp()) * 10**9 + 250_000_000))
    assert store.committed_at("gold") == moment
