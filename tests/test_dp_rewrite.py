"""The project's own pipeline files rewritten to `from pyspark import pipelines as dp` give the same tables.

The bundle's files keep `import dlt`, the API the design names; Databricks documents both APIs with the same
semantics (https://docs.databricks.com/aws/en/ldp/concepts/where-is-dlt). A mechanical rewrite of them to `dp`
(`dlt.view` -> `dp.temporary_view`, `dlt.apply_changes` -> `dp.create_auto_cdc_flow`, `dlt.read(x)` ->
`spark.read.table(x)`) runs on the same landing files and must write the same rows to every table.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
from datetime import date
from pathlib import Path

from rich.console import Console

from lakehouse.core.storage import TableStore
from lakehouse.local.datagen import GeneratorConfig, generate_range
from lakehouse.local.dlt_runtime import run_update
from lakehouse.local.pipelines import local_pipeline, run_pipeline
from tests.reliability.conftest import snapshot

REPO = Path(__file__).resolve().parent.parent
FIRST, LAST = date(2026, 1, 1), date(2026, 1, 3)
RENAMES = [
    (r"^import dlt$", "from pyspark import pipelines as dp"),
    (r"\bdlt\.view\b", "dp.temporary_view"),
    (r"\bdlt\.apply_changes\b", "dp.create_auto_cdc_flow"),
    (r"\bdlt\.read\(", "spark.read.table("),
    (r"\bdlt\.read_stream\(", "spark.readStream.table("),
    (r"\bdlt\.", "dp."),
]


def rewritten(folder: Path, target: Path) -> Path:
    """A copy of the pipeline folder's .py files with every `dlt` name replaced by its `pyspark.pipelines` one."""
    target.mkdir(parents=True)
    for path in sorted(folder.glob("*.py")):
        text = path.read_text()
        for pattern, replacement in RENAMES:
            text = re.sub(pattern, replacement, text, flags=re.M)
        assert "dlt" not in re.sub(r"#.*|\"\"\".*?\"\"\"", "", text, flags=re.S), path
        (target / path.name).write_text(text)
    return target


def test_the_pipeline_rewritten_to_dp_writes_the_same_tables(spark, settings, tmp_path):
    generate_range(GeneratorConfig(customers=30, seed=5, transactions_per_customer_day=2, defect_rate=0.1),
                   settings.landing, FIRST, LAST)
    with_dlt = settings.model_copy(update={"storage_root": tmp_path / "dlt"})
    with_dp = settings.model_copy(update={"storage_root": tmp_path / "dp", "schema_name": f"{settings.schema_name}_dp"})
    assert run_pipeline(spark, with_dlt, "offline_features", LAST).ok
    bundle = local_pipeline(with_dp, "offline_features", LAST)
    copy = rewritten(Path(bundle.sources[0]), tmp_path / "dp_sources")
    result = run_update(spark, with_dp, dataclasses.replace(bundle, sources=(copy,)),
                        console=Console(file=io.StringIO()))
    assert result.ok, result.error
    expected, actual = snapshot(TableStore(spark, with_dlt)), snapshot(TableStore(spark, with_dp))
    assert set(expected) == set(actual) and len(expected) >= 12
    assert all(expected[t] for t in ("bronze_transactions", "silver_transactions", "ards"))
    assert actual == expected
    assert redelivered_copies_kept(TableStore(spark, with_dp)) == {"2026-01-01"}  # the first delivery's copy
    shutil.rmtree(tmp_path / "dlt", ignore_errors=True)


def redelivered_copies_kept(store: TableStore) -> set[str]:
    """The drop dates silver kept for transactions bronze holds twice with the same key and event time: the
    copies tie on the sequence, so this is where auto CDC's tie order (cdc.py `tie_order`) decides the table."""
    bronze = store.read("bronze_transactions").groupBy("transaction_id", "event_time").count().where("count > 1")
    kept = store.read("silver_transactions").join(bronze, ["transaction_id", "event_time"])
    return {str(row["_drop_date"]) for row in kept.select("_drop_date").collect()}
