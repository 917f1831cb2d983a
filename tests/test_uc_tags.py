"""Unity Catalog's tag rules, as ml/uc_tags.py enforces them before any registered-model or model-version tag
is written: each refusal carries the error Databricks returns, and every key the project writes passes."""

from __future__ import annotations

from typing import get_args

import pytest
from mlflow.exceptions import MlflowException

from lakehouse.core.job_settings import GateSettings
from ml import uc_tags

# Verbatim from https://github.com/mlflow/recipes-examples/issues/58 (mlflow.register_model on databricks-uc).
OBSERVED = ("INVALID_PARAMETER_VALUE: Tag name mlflow.source.type contains one or more of the reserved "
            "characters: List(., ,, -, =, /, :)")
ASTRAL = "\U0001F600"  # outside the Basic Multilingual Plane: two UTF-16 code units


def refusal(key: str, value: str = "v") -> MlflowException:
    with pytest.raises(uc_tags.TagRefused) as caught:
        uc_tags.check(key, value)
    return caught.value


def test_a_dotted_key_is_refused_with_the_text_databricks_returns():
    error = refusal("mlflow.source.type")
    assert str(error) == OBSERVED
    assert isinstance(error, MlflowException) and error.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("character", [".", ",", "-", "=", "/", ":"])
def test_each_reserved_character_is_refused_anywhere_in_a_key(character):
    for key in (f"gate{character}mode", f"{character}gate", f"gate{character}"):
        assert str(refusal(key)) == OBSERVED.replace("mlflow.source.type", key)


def test_keys_without_reserved_characters_pass():
    for key in ("gate_mode", "Gate Mode", "gate_challenger_roc_auc", "a" * uc_tags.MAX_KEY_LENGTH, "x"):
        uc_tags.check(key, "")  # values are optional


def test_an_empty_key_is_refused():
    assert "tag keys are required" in str(refusal(""))


def test_a_key_longer_than_255_characters_is_refused():
    key = "k" * (uc_tags.MAX_KEY_LENGTH + 1)
    message = str(refusal(key))
    assert message.startswith("INVALID_PARAMETER_VALUE: Tag name k") and "maximum length of a tag key is 255" in message


def test_a_value_longer_than_1000_characters_is_refused():
    uc_tags.check("gate_reason", "v" * uc_tags.MAX_VALUE_LENGTH)
    message = str(refusal("gate_reason", "v" * (uc_tags.MAX_VALUE_LENGTH + 1)))
    assert message.startswith("INVALID_PARAMETER_VALUE: Tag value of gate_reason is 1001 characters long")
    assert "maximum length of a tag value is 1000" in message


def test_characters_outside_the_bmp_count_twice_so_the_check_is_never_more_lenient():
    uc_tags.check("k", ASTRAL * (uc_tags.MAX_VALUE_LENGTH // 2))
    assert "is 1002 characters long" in str(refusal("k", ASTRAL * (uc_tags.MAX_VALUE_LENGTH // 2 + 1)))


def test_at_most_50_tags_on_one_object_counting_those_it_already_has():
    fifty = {f"t{i}": "v" for i in range(uc_tags.MAX_TAGS)}
    uc_tags.check_all(fifty)
    uc_tags.check_all({"t0": "again"}, existing=fifty)  # setting an existing key again adds no tag
    with pytest.raises(uc_tags.TagRefused, match="would have 51 tags: a maximum of 50"):
        uc_tags.check_all({"one_more": "v"}, existing=fifty)
    with pytest.raises(uc_tags.TagRefused, match="would have 51 tags"):
        uc_tags.check_all({**fifty, "one_more": "v"})


def test_check_all_refuses_the_whole_set_for_one_bad_key():
    with pytest.raises(uc_tags.TagRefused, match="Tag name gate.mode contains"):
        uc_tags.check_all({"gate_metric": "roc_auc", "gate.mode": "enabled"})


def test_fit_shortens_a_long_value_to_the_limit_and_marks_it():
    short = "roc_auc 0.7000 does not beat champion 0.8000"
    assert uc_tags.fit(short) == short
    long = "fails thresholds: " + "; ".join(f"metric_{i} 0.1234 below minimum 0.9" for i in range(60))
    fitted = uc_tags.fit(long)
    assert len(fitted) == uc_tags.MAX_VALUE_LENGTH and fitted.endswith(uc_tags.TRUNCATED)
    assert long.startswith(fitted[:-len(uc_tags.TRUNCATED)])
    uc_tags.check(uc_tags.GATE_REASON, fitted)
    astral = uc_tags.fit(ASTRAL * uc_tags.MAX_VALUE_LENGTH)
    uc_tags.check(uc_tags.GATE_REASON, astral)
    assert astral.endswith(uc_tags.TRUNCATED)


def test_every_key_the_project_writes_on_a_version_passes():
    keys = list(uc_tags.VERSION_KEYS)
    assert {uc_tags.RUN_DATE, uc_tags.GATE_OUTCOME, uc_tags.GATE_LOWER, uc_tags.GATE_POSITIVES} <= set(keys)
    metrics = get_args(GateSettings.model_fields["metric"].annotation)  # every metric the gate may compare
    keys += [uc_tags.gate_metric_key(side, metric) for side in ("challenger", "champion") for metric in metrics]
    assert len(set(keys)) == len(keys)
    uc_tags.check_all({key: "v" for key in keys})
