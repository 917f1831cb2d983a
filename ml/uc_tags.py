"""Unity Catalog's tag rules for registered models and model versions, enforced on both sides.

On Databricks the model registry is Unity Catalog (`databricks-uc`), where a registered model and each of
its versions are securables whose tags must follow UC's tag constraints. The local registry is MLflow's
SQLite store, which takes keys UC refuses: the promotion gate once wrote `gate.mode`, `gate.reason`, ...
and every local test passed, while on Databricks `train` would fail after the version was already
registered and aliased @challenger (audit B7). So every registered-model and model-version tag the project
writes goes through `check_all` before it is written, on both sides, and a key UC would refuse is refused
locally too, with the error the Databricks client raises for it.

The tag keys the project writes on model versions are defined here as well, so that the writer (the gate
in ml/registry.py) and the readers (the UI's model page, tests) share one spelling, and a test holds every
one of them to the rules.

Not subject to these rules: MLflow *run* tags (`lineage.*`, `gate.*`, `lakehouse.*` on the training run).
Runs live in the workspace tracking server, not in Unity Catalog, and MLflow itself writes dotted run tags
there (`mlflow.source.type`), so those keep their names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from mlflow.exceptions import RestException

# The documented constraints, https://learn.microsoft.com/azure/databricks/database-objects/tags#constraints
# ("Apply tags to Unity Catalog securable objects"; tagging "is currently supported on catalogs, schemas,
# tables, table columns, volumes, views, registered models, and model versions"):
#   "You can assign a maximum of 50 tags to a single securable object."
#   "The maximum length of a tag key is 255 characters."
#   "The maximum length of a tag value is 1000 characters."
#   "The following characters are not allowed in tag keys: . , - = / :"
#   (adding tags in Catalog Explorer) "Tag keys are required. Tag values are optional."
# Older revisions of the page said 20 tags and "Special characters cannot be used in tag names"; the
# numbers above are the current ones (same on https://docs.databricks.com/aws/en/database-objects/tags).
# Tags that Databricks itself defines (system-governed tags such as `class.name`) may contain dots; a
# key we write may not (https://github.com/Mmodarre/Lakehouse_Plumber/issues/175).
RESERVED_KEY_CHARACTERS = (".", ",", "-", "=", "/", ":")  # in the order Databricks' message lists them
MAX_TAGS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH = 50, 255, 1000
TRUNCATED = " [...]"  # ends a value shortened to MAX_VALUE_LENGTH by `fit`

# The tag keys the project writes on model versions (ml/registry.py), all valid by the rules above.
RUN_DATE = "run_date"  # the day whose data trained the version
GATE_MODE = "gate_mode"  # enabled / dry-run (lakehouse.core.job_settings.GateSettings.mode)
GATE_METRIC = "gate_metric"  # the metric the challenger had to improve
GATE_OUTCOME = "gate_outcome"  # promoted / held, or would promote / would hold in dry-run
GATE_REASON = "gate_reason"  # why, shortened by `fit` if it is ever longer than a tag value may be
GATE_CHAMPION_VERSION = "gate_champion_version"  # the version it was compared with, or "none"
# The statistical decision (ml/evaluation/paired.py): challenger - champion on the held-out rows, its interval,
# the margin its lower bound had to reach, how it was computed, and the sample it was computed on.
GATE_DIFFERENCE = "gate_difference"  # challenger - champion on all held-out rows ("none" for a first model)
GATE_LOWER = "gate_interval_lower"
GATE_UPPER = "gate_interval_upper"
GATE_CONFIDENCE = "gate_confidence"  # two-sided level of the interval, e.g. 0.95
GATE_MIN_IMPROVEMENT = "gate_min_improvement"  # what the lower bound had to reach
GATE_METHOD = "gate_method"  # e.g. "paired customer bootstrap, percentile; 2000 resamples; seed 0"
GATE_ROWS = "gate_rows"  # held-out rows both models were scored on
GATE_POSITIVES = "gate_positives"  # positive rows among them
GATE_CUSTOMERS = "gate_customers"  # distinct customers (the bootstrap's resampling unit)
GATE_POSITIVE_CUSTOMERS = "gate_positive_customers"  # distinct churners (what `min_positives` counts)
VERSION_KEYS = (RUN_DATE, GATE_MODE, GATE_METRIC, GATE_OUTCOME, GATE_REASON, GATE_CHAMPION_VERSION, GATE_DIFFERENCE,
                GATE_LOWER, GATE_UPPER, GATE_CONFIDENCE, GATE_MIN_IMPROVEMENT, GATE_METHOD, GATE_ROWS, GATE_POSITIVES,
                GATE_CUSTOMERS, GATE_POSITIVE_CUSTOMERS)  # every fixed key; `gate_metric_key` makes the others


def gate_metric_key(side: str, metric: str) -> str:
    """`gate_challenger_roc_auc`, `gate_champion_roc_auc`: a model's gate metric on the held-out rows."""
    return f"gate_{side}_{metric}"


@cache
def _refusal_type() -> type[RestException]:
    """The `TagRefused` class, made on first use: importing MLflow at module level would load it (and probe
    its optional stores) whenever a task module is imported; the project imports MLflow where it is used."""
    from mlflow.exceptions import RestException

    class TagRefused(RestException):
        """A tag Unity Catalog refuses: the exception type the Databricks client raises (`RestException`),
        with its error code and message text, so that code handling it behaves the same on both sides.

        Observed text, for a key with a reserved character (mlflow.register_model on databricks-uc,
        https://github.com/mlflow/recipes-examples/issues/58; ALTER ... SET TAGS,
        https://github.com/databricks-demos/dbdemos/issues/250): `INVALID_PARAMETER_VALUE: Tag name
        mlflow.source.type contains one or more of the reserved characters: List(., ,, -, =, /, :)`. The texts
        for the length and count limits were not observed: they carry the same error code and quote the
        documented limit."""

        def __init__(self, message: str) -> None:
            super().__init__({"error_code": "INVALID_PARAMETER_VALUE", "message": message})

    TagRefused.__module__, TagRefused.__qualname__ = __name__, "TagRefused"
    return TagRefused


def __getattr__(name: str) -> Any:
    """`uc_tags.TagRefused` (and `from ml.uc_tags import TagRefused`), created on first access (PEP 562)."""
    if name == "TagRefused":
        return _refusal_type()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _refuse(message: str) -> NoReturn:
    raise _refusal_type()(message)


def _length(text: str) -> int:
    """Length as the JVM counts it (UTF-16 code units), never less than Python's `len`: a character outside
    the Basic Multilingual Plane counts twice, so the local check is never more lenient than a server that
    counts that way. How Unity Catalog counts is not documented."""
    return len(text.encode("utf-16-le")) // 2


def check(key: str, value: str) -> None:
    """Raise `TagRefused` unless Unity Catalog accepts `key` = `value` on a registered model or version."""
    if not key:
        _refuse("Tag name must not be empty: tag keys are required")
    if any(c in key for c in RESERVED_KEY_CHARACTERS):
        listed = ", ".join(RESERVED_KEY_CHARACTERS)
        _refuse(f"Tag name {key} contains one or more of the reserved characters: List({listed})")
    if _length(key) > MAX_KEY_LENGTH:
        _refuse(f"Tag name {key} is {_length(key)} characters long: the maximum length of a tag key is "
                f"{MAX_KEY_LENGTH} characters")
    if _length(value) > MAX_VALUE_LENGTH:
        _refuse(f"Tag value of {key} is {_length(value)} characters long: the maximum length of a tag "
                f"value is {MAX_VALUE_LENGTH} characters")


def check_all(tags: Mapping[str, str], existing: Iterable[str] = ()) -> None:
    """Check every tag before any is written, so a refused set writes none of them; `existing` are the keys
    the securable already has (the limit counts all of its tags, a key set again counts once)."""
    for key, value in tags.items():
        check(key, value)
    total = len(set(existing) | set(tags))
    if total > MAX_TAGS:
        _refuse(f"The object would have {total} tags: a maximum of {MAX_TAGS} tags can be assigned to a "
                "single securable object")


def fit(value: str) -> str:
    """`value` if Unity Catalog takes it as a tag value, else its start, marked as shortened. For free text
    such as the gate's reason: a version tag that failed to be written would fail `train` after the version
    was registered, while the full text stays on the training run's `gate.reason` tag and in the log."""
    if _length(value) <= MAX_VALUE_LENGTH:
        return value
    kept = value[:MAX_VALUE_LENGTH - len(TRUNCATED)]
    while _length(kept) > MAX_VALUE_LENGTH - len(TRUNCATED):  # characters counted twice (see `_length`)
        kept = kept[:-1]
    return kept + TRUNCATED
