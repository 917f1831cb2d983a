"""Spark session factory: Sail (local default), classic JVM Spark (fidelity reference) or Databricks.

Pipeline and job code only ever sees a `SparkSession`; which engine is behind it is decided here.
One engine per process: once a Spark Connect session exists, pyspark stays in Connect mode.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from lakehouse.core.catalogs import FolderCatalog
from lakehouse.core.errors import EngineError
from lakehouse.core.settings import Settings

log = logging.getLogger(__name__)
SUPPORTED_PYSPARK = "4.2."


@dataclass
class Engine:
    """A running session and whatever must be stopped with it."""

    spark: Any
    kind: str
    _server: Any = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the session, then the embedded server; safe to call twice."""
        try:
            if self.kind != "databricks":
                self.spark.stop()
        finally:
            if self._server is not None:
                self._server.stop()
                self._server = None


def _check_pyspark() -> None:
    import pyspark

    if not pyspark.__version__.startswith(SUPPORTED_PYSPARK):
        raise EngineError(
            f"pyspark {pyspark.__version__} is installed but the engine needs {SUPPORTED_PYSPARK}x: "
            "reinstall with `make setup`"
        )


def _start_sail(settings: Settings) -> Engine:
    _check_pyspark()
    os.environ.setdefault("RUST_LOG", "warn,sail_common::actor=error")
    from pysail.spark import SparkConnectServer
    from pyspark.sql import SparkSession

    server = SparkConnectServer(ip="127.0.0.1", port=settings.sail_port)
    try:
        server.start(background=True)
    except Exception as exc:  # noqa: BLE001 - any start failure becomes one clear line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EngineError(f"the Sail engine could not start on 127.0.0.1:{settings.sail_port}: {reason}") from None
    host, port = server.listening_address
    try:
        spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    except Exception as exc:
        server.stop()
        raise EngineError(f"could not open a Spark Connect session to Sail at {host}:{port}: {exc}") from None
    return Engine(spark=spark, kind="sail", _server=server)


def _start_classic(settings: Settings) -> Engine:
    _check_pyspark()
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise EngineError("the classic Spark engine needs Java 17: install it or set JAVA_HOME")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    try:
        spark = (
            SparkSession.builder.master(f"local[{os.cpu_count() or 2}]")
            .appName("lakehouse")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
            .config("spark.default.parallelism", str(settings.shuffle_partitions))
            .config("spark.ui.enabled", "false")
            .config("spark.sql.warehouse.dir", str(settings.storage_root / "_classic_warehouse"))
            .config("spark.driver.extraJavaOptions", "-Dlog4j.rootLogger=ERROR,console")
            .getOrCreate()
        )
    except Exception as exc:
        raise EngineError(f"the classic Spark engine could not start: {str(exc).splitlines()[0]}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return Engine(spark=spark, kind="classic")


def _attach_databricks(settings: Settings) -> Engine:
    if not os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        raise EngineError("engine 'databricks' runs only inside a Databricks job or notebook")
    from pyspark.sql import SparkSession

    return Engine(spark=SparkSession.builder.getOrCreate(), kind="databricks")


STARTERS = {"sail": _start_sail, "classic": _start_classic, "databricks": _attach_databricks}


def start_engine(settings: Settings) -> Engine:
    """Start (or attach to) the engine named in the settings; raises EngineError with one clear line."""
    log.info("starting engine %s", settings.engine)
    engine = STARTERS[settings.engine](settings)
    if engine.kind == "sail":
        # Sail's catalog lives in memory: register the tables already under the storage root.
        try:
            FolderCatalog(engine.spark, settings.storage_root).register_all()
        except BaseException:
            engine.stop()
            raise
    return engine


@contextmanager
def spark_session(settings: Settings) -> Iterator[Any]:
    """A session for the duration of a block; the engine is always stopped on the way out."""
    engine = start_engine(settings)
    try:
        yield engine.spark
    finally:
        engine.stop()
