"""Two updates of the same pipeline for the same date at once, as two processes: the lock lets one run and
the other refuses with a message naming the holder, or (if the first finished before the second started)
the second finds nothing new. Either way the tables are those of a single update."""

from __future__ import annotations

from datetime import date

from lakehouse.core.storage import TableStore
from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.pipelines import run_pipeline

from .conftest import assert_each_file_once, finish, snapshot, start

DAY = date(2026, 1, 2)


def test_two_updates_at_once_one_refuses_or_both_agree(spark, module_settings):
    shared, reference = module_settings("shared"), module_settings("single")
    generate_range(GeneratorConfig(customers=30, seed=9, transactions_per_customer_day=2), shared.landing,
                   date(2026, 1, 1), DAY)
    runs = [start(shared, "pipeline", "run", "offline_features", "--date", str(DAY)) for _ in range(2)]
    done = [finish(r) for r in runs]
    assert run_pipeline(spark, reference, "offline_features", DAY).ok
    codes = sorted(d.returncode for d in done)
    refused = [d.output for d in done if d.returncode == 2]
    assert codes in ([0, 0], [0, 2]), [d.output[-1500:] for d in done]
    assert all("pipeline 'offline_features' is already being updated" in text and "pid" in text for text in refused)
    store = TableStore(spark, shared)
    assert_each_file_once(store, shared, "offline_features", DAY)
    assert snapshot(store) == snapshot(TableStore(spark, reference))
