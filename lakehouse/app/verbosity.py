"""What reaches the user's output: the project's own lines, and third-party logging only when asked (`-v`).

Libraries log about their own internals at INFO and WARNING: MLflow on every model it logs ("uv is not
installed", pip requirement inference), py4j, urllib3, Azure's HTTP pipeline, alembic migrations, and the Sail
engine's Rust side (RUST_LOG: "Hint operation is not yet supported"). Quiet, those pass only ERROR and above,
so a real failure still shows. `-v` (`lakehouse -v ...`) lets them through
at INFO, with a root handler that prints INFO lines of every logger, the project's included.

MLflow sets its own logger's level when it is imported, from MLFLOW_LOGGING_LEVEL; that variable is set here
(an explicit one is kept when quiet), as is VERBOSE_VARIABLE, so processes this one starts (the UI's serving
process) are as verbose as it is.
"""

from __future__ import annotations

import logging
import os

VERBOSE_VARIABLE = "LAKEHOUSE_VERBOSE"
# Logger and its level with -v; quiet, each passes ERROR and above. SQLAlchemy's INFO is every ORM mapping step.
THIRD_PARTY = {name: logging.INFO for name in ("mlflow", "alembic", "py4j", "pyspark", "pysail", "sail", "urllib3",
                                               "azure", "databricks", "evidently", "matplotlib", "git", "skops",
                                               "numexpr", "werkzeug")} | {"sqlalchemy": logging.WARNING}


def configure_logging(verbose: bool = False) -> None:
    """Quiet third-party loggers (ERROR and above) unless `verbose` or VERBOSE_VARIABLE=1 asks for INFO."""
    verbose = verbose or os.environ.get(VERBOSE_VARIABLE) == "1"
    if verbose:
        os.environ[VERBOSE_VARIABLE] = "1"
        os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO"
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("RUST_LOG", "error")  # the Sail engine's own log (lakehouse.core.engine: warn otherwise)
    for name, level in THIRD_PARTY.items():
        logging.getLogger(name).setLevel(level if verbose else logging.ERROR)
