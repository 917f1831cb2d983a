"""`lakehouse bundle preflight`: contract tests of OUR check and fix logic against the documented API shapes.

The Databricks SDK is pointed at a local HTTP stub (tests/databricks_stub.py) that answers the documented REST
endpoints with the documented JSON and error shapes. These tests show that the preflight reads those answers
right, fixes only what is missing, never reduces what exists and never prints a secret. They do not show how a
real workspace behaves: that is for the first `preflight` against one.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from databricks.sdk.errors import PermissionDenied

from lakehouse.app.jobs_cli import bundle
from lakehouse.app.preflight import (
    Check,
    Status,
    checks_for,
    is_service_principal_name,
    passed,
    preflight,
    run_checks,
    short_user_name,
)
from tests.databricks_stub import Stub, Workspace

SP = "6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b"
CONNECTION = "DefaultEndpointsProtocol=https;AccountName=churn;AccountKey=c3R1Yi1rZXk9PQ==;EndpointSuffix=core"
WITH_SECRET = {"AZURE_STORAGE_CONNECTION_STRING": CONNECTION}


@pytest.fixture
def stub():
    with Stub() as s:
        yield s


def _status(lines) -> dict[str, Status]:
    return {line.what: line.status for line in lines}


@pytest.mark.parametrize("user_name, display_name, expected", [
    # the Databricks CLI's own cases (libs/iamutil/user_test.go)
    ("test.user.1234@example.com", None, "test_user_1234"),
    ("tést.üser@example.com", None, "tést_üser"),
    ("test$.user@example.com", None, "test_user"),
    ("first+tag@email.com", None, "first_tag"),
    ('"_quoted"@domain.com', None, "quoted"),
    ("name-o'mally@website.org", None, "name_o_mally"),
    ("Alice.Smith@Example.com", None, "alice_smith"),
    # a service principal (application id as user name): its display name, else the id itself
    ("1706906c-c0a2-4c25-9f57-3a7aa3cb8123", "my-service-principal", "my_service_principal"),
    ("1706906c-c0a2-4c25-9f57-3a7aa3cb8123", None, "1706906c_c0a2_4c25_9f57_3a7aa3cb8123"),
    # a user's display name is not used
    ("bob@example.com", "Robert Jones", "bob"),
])
def test_contract_short_user_name_follows_the_databricks_cli(user_name, display_name, expected):
    assert short_user_name(user_name, display_name) == expected


def test_contract_service_principal_is_an_application_id():
    assert is_service_principal_name(SP)
    assert not is_service_principal_name("alice@example.com")
    assert not is_service_principal_name(SP[:-1])


def test_contract_empty_workspace_reports_every_item_missing_and_changes_nothing(stub):
    target, lines = preflight(stub.client(), "dev", env={})
    assert lines and all(line.status is Status.MISSING for line in lines), [str(line) for line in lines]
    assert not passed(lines)
    assert stub.ws.writes == []
    assert len(lines) == len(checks_for(target, {}))
    assert len(lines) >= 12  # catalog, schema, 2 volumes, 4 grants, scope, key, READ, online store
    missing_key = next(line for line in lines if line.what == "secret churn/azure-storage-connection-string")
    assert "databricks secrets put-secret churn azure-storage-connection-string" in missing_key.detail


def test_contract_fix_creates_everything_and_a_second_fix_writes_nothing(stub):
    target, lines = preflight(stub.client(), "dev", fix=True, env=WITH_SECRET)
    assert passed(lines), [str(line) for line in lines]
    ws = stub.ws
    landing_schema = target.landing_volume.rsplit(".", 1)[0]
    assert set(ws.catalogs) == {"churn_dev"}
    assert set(ws.schemas) == {"churn_dev.alice_smith", landing_schema}  # dev's landing may be a shared schema
    assert set(ws.volumes) == {target.landing_volume, "churn_dev.alice_smith.reports"}
    assert all(v["volume_type"] == "MANAGED" for v in ws.volumes.values())
    assert ws.scopes["churn"]["secrets"] == {"azure-storage-connection-string": CONNECTION}
    assert ws.online_stores["churn-online-store"]["capacity"] == "CU_1"

    writes = len(ws.writes)
    _, again = preflight(stub.client(), "dev", fix=True, env=WITH_SECRET)
    assert all(line.status is Status.OK for line in again), [str(line) for line in again]
    assert len(ws.writes) == writes  # idempotent: the second --fix sends no write request at all


def _ready_for(ws: Workspace, principal: str, schema: str = "churn") -> None:
    """A workspace with every object of the staging target, created by an admin, no grants to `principal`."""
    ws.add_catalog("churn_staging")
    ws.add_schema(f"churn_staging.{schema}")
    for volume in ("landing", "reports"):
        ws.add_volume(f"churn_staging.{schema}.{volume}")
    ws.scopes["churn"] = {"acls": {ws.user_name: "MANAGE"}, "secrets": {"azure-storage-connection-string": "x"}}
    ws.online_stores["churn-online-store"] = {"name": "churn-online-store", "capacity": "CU_2", "state": "AVAILABLE"}


def test_contract_staging_grants_go_to_the_service_principal_and_existing_grants_are_never_reduced(stub):
    ws = stub.ws
    _ready_for(ws, SP)
    ws.grant("catalog", "churn_staging", SP, "USE_CATALOG", "BROWSE")
    ws.grant("schema", "churn_staging.churn", SP, "USE_SCHEMA", "CREATE_TABLE", "SELECT", "MODIFY")
    ws.scopes["churn"]["acls"][SP] = "MANAGE"
    env = {"BUNDLE_VAR_service_principal": SP}

    target, lines = preflight(stub.client(), "staging", fix=True, env=env)
    assert target.principal == SP and not target.principal_is_caller
    assert target.schema == "churn" and target.landing_volume == "churn_staging.churn.landing"
    assert passed(lines), [str(line) for line in lines]
    status = _status(lines)
    assert status[f"grants USE_CATALOG on catalog churn_staging to {SP}"] is Status.OK
    assert status[f"READ on secret scope churn for {SP}"] is Status.OK
    assert ws.grants[("schema", "churn_staging.churn")][SP] == {
        "USE_SCHEMA", "CREATE_TABLE", "SELECT", "MODIFY", "CREATE_MATERIALIZED_VIEW", "CREATE_MODEL"}
    assert ws.grants[("catalog", "churn_staging")][SP] == {"USE_CATALOG", "BROWSE"}
    assert ws.scopes["churn"]["acls"][SP] == "MANAGE"  # not overwritten with READ
    patches = [body for method, path, body in ws.writes if method == "PATCH"]
    assert patches and all(not change.get("remove") for body in patches for change in body["changes"])
    assert {change["principal"] for body in patches for change in body["changes"]} == {SP}
    assert patches[0]["changes"][0]["add"] == ["CREATE_MATERIALIZED_VIEW", "CREATE_MODEL"]  # only what was missing
    assert ws.online_stores["churn-online-store"]["capacity"] == "CU_2"  # the existing store is left alone


def test_contract_inherited_all_privileges_and_group_grants_count(stub):
    ws = stub.ws
    _ready_for(ws, SP)
    ws.grant("catalog", "churn_staging", SP, "ALL_PRIVILEGES")  # inherited by the schema and the volumes
    ws.grant("schema", "churn_staging.churn", "account users", "USE_SCHEMA")
    ws.scopes["churn"]["acls"][SP] = "READ"
    _, lines = preflight(stub.client(), "staging", env={"BUNDLE_VAR_service_principal": SP})
    assert all(line.status is Status.OK for line in lines), [str(line) for line in lines]
    assert ws.writes == []


def test_contract_the_service_principal_without_an_acl_gets_read(stub):
    ws = stub.ws
    _ready_for(ws, SP)
    env = {"BUNDLE_VAR_service_principal": SP}
    _, lines = preflight(stub.client(), "staging", env=env)
    assert _status(lines)[f"READ on secret scope churn for {SP}"] is Status.MISSING
    preflight(stub.client(), "staging", fix=True, env=env)
    assert ws.scopes["churn"]["acls"][SP] == "READ"


def test_contract_a_refused_fix_is_failed_with_the_api_message_and_the_rest_still_run(stub):
    ws = stub.ws
    ws.denied |= {"PATCH /api/2.1/unity-catalog/permissions/schema", "POST /api/2.0/feature-store/online-stores"}
    ws.add_catalog("churn_dev")  # an admin's, not the caller's: grants on them need a PATCH
    ws.add_schema("churn_dev.alice_smith")
    result = CliRunner().invoke(bundle, ["preflight", "-t", "dev", "--fix"], env=_cli_env(stub))
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2, result.output
    assert all("does not have permission" in line and "Config:" not in line for line in failed)
    assert any("on schema churn_dev.alice_smith" in line for line in failed)
    assert any("online store churn-online-store" in line for line in failed)
    assert ("FIXED   grants USE_CATALOG on catalog churn_dev to alice.smith@example.com: granted USE_CATALOG"
            in result.output)
    assert "FIXED   secret scope churn" in result.output  # later checks still ran
    assert ws.grants[("catalog", "churn_dev")]["alice.smith@example.com"] == {"USE_CATALOG"}


def _cli_env(stub: Stub, **extra: str) -> dict[str, str]:
    return {"DATABRICKS_HOST": stub.url, "DATABRICKS_TOKEN": "stub-token-not-a-secret",
            "DATABRICKS_CONFIG_FILE": "/nonexistent/databrickscfg", "DATABRICKS_CONFIG_PROFILE": None,
            "AZURE_STORAGE_CONNECTION_STRING": None, **extra}


def test_contract_cli_empty_then_fix_then_ready_and_the_connection_string_is_never_printed(stub):
    runner = CliRunner()
    first = runner.invoke(bundle, ["preflight", "-t", "dev"], env=_cli_env(stub))
    assert first.exit_code == 1
    assert "runs as alice.smith@example.com" in first.output
    items = first.output.count("\nMISSING ")
    assert items >= 12 and items == len(first.output.splitlines()) - 2  # every item line, header and verdict aside
    fixed = runner.invoke(bundle, ["preflight", "-t", "dev", "--fix"],
                          env=_cli_env(stub, AZURE_STORAGE_CONNECTION_STRING=CONNECTION))
    assert fixed.exit_code == 0, fixed.output
    assert "ready to deploy" in fixed.output
    assert stub.ws.scopes["churn"]["secrets"]["azure-storage-connection-string"] == CONNECTION
    again = runner.invoke(bundle, ["preflight", "-t", "dev"], env=_cli_env(stub))
    assert again.exit_code == 0 and again.output.count("\nOK ") == items
    for output in (first.output, fixed.output, again.output):
        assert CONNECTION not in output and "c3R1Yi1rZXk9PQ" not in output


def test_contract_fix_without_the_connection_string_names_the_put_secret_command(stub):
    result = CliRunner().invoke(bundle, ["preflight", "-t", "dev", "--fix"], env=_cli_env(stub))
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if "secret churn/azure-storage-connection-string" in x)
    assert line.startswith("MISSING") and "databricks secrets put-secret churn azure-storage-connection-string" in line
    assert stub.ws.scopes["churn"]["secrets"] == {}


def test_contract_an_api_message_echoing_the_secret_is_masked():
    class Echo(Check):
        what = "secret churn/key"

        def check(self, w):
            return "not stored"

        def fix(self, w):
            raise PermissionDenied(f"refused value {CONNECTION}")

    lines = run_checks(None, [Echo()], fix=True, secrets=[CONNECTION])  # type: ignore[arg-type]
    assert lines[0].status is Status.FAILED and CONNECTION not in str(lines[0]) and "***" in str(lines[0])


def test_contract_dev_resolves_the_per_user_schema_from_the_user_name(stub):
    stub.ws.user_name = "Jane.O'Neil+dev@example.com"
    target, _ = preflight(stub.client(), "dev", fix=True, env={})
    assert target.schema == "jane_o_neil_dev"
    assert "churn_dev.jane_o_neil_dev" in stub.ws.schemas
    assert target.reports_volume == "churn_dev.jane_o_neil_dev.reports" in stub.ws.volumes
    assert target.principal == "Jane.O'Neil+dev@example.com" and target.principal_is_caller


def test_contract_placeholder_service_principal_and_local_target_are_refused(stub):
    runner = CliRunner()
    staging = runner.invoke(bundle, ["preflight", "-t", "staging"], env=_cli_env(stub))
    assert staging.exit_code == 2 and "BUNDLE_VAR_service_principal" in staging.output
    local = runner.invoke(bundle, ["preflight", "-t", "local"], env=_cli_env(stub))
    assert local.exit_code == 2 and "not deployable" in local.output
    assert stub.ws.writes == []


def test_contract_the_service_principal_running_its_own_preflight_is_the_caller(stub):
    """In CI the preflight runs as the staging service principal itself: its groups from me() then count."""
    ws = stub.ws
    ws.user_name, ws.display_name, ws.groups = SP, "churn-staging", ["users", "churn-deployers"]
    _ready_for(ws, SP)
    ws.grant("catalog", "churn_staging", "churn-deployers", "USE_CATALOG", "USE_SCHEMA", "CREATE_TABLE",
             "CREATE_MATERIALIZED_VIEW", "CREATE_MODEL", "READ_VOLUME", "WRITE_VOLUME")
    target, lines = preflight(stub.client(), "staging", env={"BUNDLE_VAR_service_principal": SP})
    assert target.principal_is_caller and "churn-deployers" in target.identities
    assert all(line.status is Status.OK for line in lines), [str(line) for line in lines]


def test_contract_a_rejected_token_is_one_clear_line(stub):
    result = CliRunner().invoke(bundle, ["preflight", "-t", "dev"], env=_cli_env(stub, DATABRICKS_TOKEN="wrong"))
    assert result.exit_code == 2
    assert result.output == "error: cannot read the current user from the workspace: invalid token\n"
    assert "wrong" not in result.output
