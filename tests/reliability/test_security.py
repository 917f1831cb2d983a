"""Security: no secrets in the repository or in logs, connection strings from the environment only,
identifiers from settings that cannot inject SQL, model loading that never runs untrusted code, and
reports and UI that escape every data value."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import skops.io

from lakehouse.core.errors import ConfigError, StorageError
from lakehouse.core.job_settings import ScoringSettings
from lakehouse.core.settings import load_settings
from lakehouse.local.azurite import ACCOUNT_KEY
from lakehouse.local.jobs.history import runs
from lakehouse.platform import tracking
from ml import registry
from ml.errors import UntrustedModel
from ml.scoring import score
from ml.serialization import load_model
from quality.publish import Publisher
from quality.report_html import render_html
from quality.results import CheckResult, Result

from .conftest import CANARY, CANARY_KEY, RUN, finish, start

REPO = Path(__file__).resolve().parents[2]
SECRETS = {  # pattern -> what it is
    r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}": "Azure storage account key",
    r"\bdapi[0-9a-f]{32}\b": "Databricks personal access token",
    r"\bAKIA[0-9A-Z]{16}\b": "AWS access key id",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----": "private key",
    r"[?&]sig=[A-Za-z0-9%+/]{20,}": "SAS token signature",
    r"\bxox[baprs]-[A-Za-z0-9-]{10,}": "Slack token",
    r"\bgh[pousr]_[A-Za-z0-9]{36}\b": "GitHub token",
}
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def find_secrets(text: str) -> list[str]:
    """Secret-looking strings, except Azurite's public development key and this suite's canary pattern."""
    allowed = (ACCOUNT_KEY, CANARY_KEY)
    return [f"{what}: {m.group(0)[:24]}…" for pattern, what in SECRETS.items() for m in re.finditer(pattern, text)
            if not any(key in m.group(0) for key in allowed)]


def test_no_secrets_in_tracked_files():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    found = {}
    for name in filter(None, files):
        path = REPO / name.decode()
        if path.is_file() and path.stat().st_size < 5_000_000:
            hits = find_secrets(path.read_bytes().decode("utf-8", "replace"))
            if hits:
                found[name.decode()] = hits
    assert found == {}


def test_the_scanner_finds_what_it_looks_for():
    assert find_secrets(f"AccountKey={'b' * 86}==;") and find_secrets("token dapi" + "0" * 32)
    assert not find_secrets(f"AccountKey={ACCOUNT_KEY};")


def test_a_failing_publish_never_shows_the_connection_string(settings, tmp_path):
    """The CLI run with a real-format secret in its environment: its whole output is scanned for the key."""
    Publisher(settings).stage("data-quality/2026/01/12", {"report.json": b"{}"}, {"run_id": "r1"})
    done = finish(start(settings, "quality", "publish-pending"))
    assert done.returncode != 0 and "Kept in" in done.output, done.output[-2000:]
    assert CANARY_KEY not in done.output and find_secrets(done.output) == []


def test_connection_strings_come_from_the_environment_only(tmp_path, monkeypatch):
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", CANARY)
    settings = load_settings("local")
    assert settings.blob.connection_string.get_secret_value() == CANARY
    assert CANARY_KEY not in repr(settings) and CANARY_KEY not in settings.model_dump_json()
    (tmp_path / "local.yaml").write_text(f"blob:\n  connection_string: '{CANARY}'\n")
    with pytest.raises(ConfigError, match="holds a connection string"):
        load_settings("local", conf_dir=tmp_path)


@pytest.mark.parametrize("field", ["catalog", "schema_name", "model_name"])
def test_identifiers_from_settings_cannot_inject_sql(field):
    with pytest.raises(ConfigError, match="not a plain identifier"):
        load_settings("local", **{field: "churn`; DROP TABLE x; --"})


def test_table_names_and_filters_cannot_inject_sql(spark, store, model_lake):
    for name in ("t`; DROP TABLE x", "a.b.c.d", "x' OR '1'='1"):
        with pytest.raises(StorageError):
            store.name(name)
    with pytest.raises(ValueError, match="not a plain identifier"):
        runs(store, job="churn_daily' OR '1'='1")
    hostile = model_lake.model_copy(update={"scoring": ScoringSettings(feature_table="mrds; DROP TABLE predictions")})
    with pytest.raises(StorageError, match="not a plain identifier"):
        score(spark, hostile, RUN)


class Payload:
    """Any type outside the trusted list: loading it must fail before it is built."""

    def __setstate__(self, state):  # pragma: no cover - reaching this is the failure
        Path(state["marker"]).write_text("executed")


@pytest.fixture
def champion_copy(model_lake, tmp_path):
    """A copy of the champion's model folder, to tamper with."""
    client = tracking.configure(model_lake)
    version = registry.current_version(client, model_lake.model_name, registry.CHAMPION)
    source = Path(client.get_model_version_download_uri(model_lake.model_name, version.version).removeprefix("file://"))
    return Path(shutil.copytree(source, tmp_path / "model"))


def test_a_model_holding_an_untrusted_type_is_refused_without_running_it(champion_copy, tmp_path):
    marker = tmp_path / "marker"
    payload = Payload()
    payload.marker = str(marker)
    artifact = next(champion_copy.glob("*.skops"))
    skops.io.dump(payload, artifact)
    with pytest.raises(Exception, match="(?i)untrusted"):
        load_model(str(champion_copy))
    assert not marker.exists()


def test_a_model_that_trusts_extra_types_is_refused(champion_copy):
    mlmodel = champion_copy / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("skops_trusted_types:", "skops_trusted_types:\n    - builtins.eval", 1))
    with pytest.raises(UntrustedModel, match="builtins.eval"):
        load_model(str(champion_copy))


def test_reports_escape_every_data_value():
    check = CheckResult(HOSTILE, HOSTILE, "validity", "error", "failed", 0.5, HOSTILE, HOSTILE,
                        samples=[{HOSTILE: HOSTILE, "customer_id": HOSTILE}])
    result = Result(HOSTILE, date(2026, 1, 12), "local", datetime(2026, 1, 13, tzinfo=timezone.utc), "error",
                    [check], {HOSTILE: 1}, None)
    page = render_html(result)
    assert "<script>alert" not in page and "<img src=x" not in page and "&lt;script&gt;" in page


def test_the_ui_escapes_every_template_value():
    from lakehouse.app.ui.render import ENV

    assert ENV.autoescape is True or ENV.autoescape("page.html")
    assert ENV.from_string("{{ v }}").render(v=HOSTILE) == HOSTILE.replace("<", "&lt;").replace(">", "&gt;")
