"""Engine start-up: a working Sail session, and one-line errors when an engine cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from lakehouse.core.engine import _check_pyspark, start_engine
from lakehouse.core.errors import EngineError


def test_sail_session_runs_sql_in_utc(spark):
    row = spark.sql("SELECT 1 + 1 AS two, current_timezone() AS tz").first()
    assert row.two == 2 and row.tz == "UTC"


def test_wrong_pyspark_version_is_refused(monkeypatch):
    import pyspark

    monkeypatch.setattr(pyspark, "__version__", "4.3.0")
    with pytest.raises(EngineError, match="pyspark 4.3.0 is installed but the engine needs 4.2.x"):
        _check_pyspark()


def _run(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_port_in_use_is_one_clear_error(base_settings):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = _run(f"""
            from lakehouse.core.engine import start_engine
            from lakehouse.core.errors import EngineError
            from lakehouse.core.settings import load_settings
            try:
                start_engine(load_settings("local", sail_port={port}))
            except EngineError as exc:
                print("ERR", exc)
            """)
    assert f"ERR the Sail engine could not start on 127.0.0.1:{port}" in out.stdout, out.stderr[-1500:]


def test_classic_engine_without_java_is_refused(base_settings):
    out = _run(
        """
        from lakehouse.core.engine import start_engine
        from lakehouse.core.errors import EngineError
        from lakehouse.core.settings import load_settings
        try:
            start_engine(load_settings("local", engine="classic"))
        except EngineError as exc:
            print("ERR", exc)
        """,
        env={"PATH": os.path.dirname(sys.executable), "JAVA_HOME": ""},
    )
    assert "ERR the classic Spark engine needs Java 17" in out.stdout, out.stderr[-1500:]


def test_databricks_engine_outside_databricks_is_refused(base_settings):
    with pytest.raises(EngineError, match="only inside a Databricks job"):
        start_engine(base_settings.model_copy(update={"engine": "databricks"}))
