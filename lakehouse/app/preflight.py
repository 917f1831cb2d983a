"""`lakehouse bundle preflight`: does the workspace hold what a first deploy of a target needs?

The bundle deploys jobs and pipelines, but not the things they run *against*: the Unity Catalog
catalog, schema and volumes, the Unity Catalog privileges of the principal the target runs as, the
secret scope with the Blob connection string (and READ on it for that principal), and the online
store the online features are published to (audit findings M3, M6, B8). Each is one `Check` with
`check()` (None when satisfied, else what is missing) and `fix()` (create or grant what is missing).
A fix only ever adds: nothing that exists is changed, reduced or deleted. Authentication is the
Databricks SDK's default chain (profile, DATABRICKS_* variables, azure-cli): nothing is stored here.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, NotFound, PermissionDenied
from databricks.sdk.service.catalog import PermissionsChange, Privilege, VolumeType
from databricks.sdk.service.ml import OnlineStore
from databricks.sdk.service.workspace import AclPermission

from lakehouse.core.errors import ConfigError, LakehouseError
from lakehouse.local.bundle import load_bundle
from lakehouse.platform.volumes import REPORTS_VOLUME  # reports waiting for upload live there (M2)

PLACEHOLDER_PRINCIPAL = "00000000-0000-0000-0000-000000000000"  # bundle/databricks.yml's unfilled default
ONLINE_STORE_CAPACITY = "CU_1"  # the smallest capacity the online-store API accepts ("CU_1".."CU_8")
CONNECTION_STRING_VARIABLE = "AZURE_STORAGE_CONNECTION_STRING"

# Why each privilege: Unity Catalog privileges
# https://learn.microsoft.com/azure/databricks/data-governance/unity-catalog/manage-privileges/privileges
# and the pipelines' requirements https://learn.microsoft.com/azure/databricks/ldp/unity-catalog#requirements
CATALOG_PRIVILEGES = (Privilege.USE_CATALOG,)  # needed to reach anything inside the catalog
SCHEMA_PRIVILEGES = (
    Privilege.USE_SCHEMA,  # needed to reach anything inside the schema
    Privilege.CREATE_TABLE,  # pipelines' streaming tables (bronze, silver), the jobs' Delta tables, `<mrds>_online`
    Privilege.CREATE_MATERIALIZED_VIEW,  # the pipelines' materialized views (gold `ards`, `mrds`)
    Privilege.CREATE_MODEL,  # `train` registers churn_model in Unity Catalog (MLflow registry `databricks-uc`)
)
# Not needed: CREATE_FUNCTION (the feature store needs it only for feature functions / on-demand features, which
# this project does not use), CREATE_VOLUME (preflight creates the volumes), SELECT/MODIFY (the run-as principal
# owns the tables it creates: jobs and pipelines share the target's run_as).
LANDING_PRIVILEGES = (Privilege.READ_VOLUME,)  # Auto Loader reads the source drops
REPORTS_PRIVILEGES = (Privilege.READ_VOLUME, Privilege.WRITE_VOLUME)  # stage pending reports, read them back


class Status(str, Enum):
    OK = "OK"
    MISSING = "MISSING"
    FIXED = "FIXED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Line:
    """One check's outcome: what was checked, its status, and the detail (what is missing, how to fix it)."""

    status: Status
    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status.value:<8}{self.what}" + (f": {self.detail}" if self.detail else "")


class CannotFix(Exception):
    """The fix needs something only the user can give (the connection string); the message says what to run."""


# --- who and where --------------------------------------------------------------------------------------------

_UUID = re.compile(r"^(urn:uuid:|\{)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$", re.I)


def is_service_principal_name(user_name: str) -> bool:
    """The Databricks CLI's heuristic: a user name that parses as a UUID is a service principal's application id
    (databricks/cli libs/iamutil/service_principal.go, IsServicePrincipalName: `uuid.Parse(userName)`)."""
    return bool(_UUID.match(user_name))


def short_user_name(user_name: str, display_name: str | None = None) -> str:
    """`${workspace.current_user.short_name}` exactly as the Databricks CLI derives it.

    databricks/cli @ 7bbe285 libs/iamutil/user.go GetShortUserName: the user name (a service principal's display
    name when it has one) up to the first "@", then libs/textutil/textutil.go NormalizeString: lower-cased, every
    rune that is not a Unicode letter or digit replaced by "_", runs of "_" collapsed, "_" trimmed at both ends.
    """
    name = display_name if is_service_principal_name(user_name) and display_name else user_name
    local = name.split("@", 1)[0].lower()
    # Go's unicode.IsLetter is category L* (Python isalpha); unicode.IsDigit is category Nd (Python isdecimal).
    mapped = "".join(ch if ch.isalpha() or unicodedata.category(ch) == "Nd" else "_" for ch in local)
    return re.sub(r"_+", "_", mapped).strip("_")


@dataclass(frozen=True)
class Target:
    """What the preflight checks for one bundle target, resolved against the workspace's current user."""

    name: str
    catalog: str
    schema: str
    landing_volume: str  # catalog.schema.volume
    reports_volume: str
    principal: str  # user name, or a service principal's application id
    principal_is_caller: bool  # the target runs as whoever runs the preflight (dev)
    identities: frozenset[str]  # the principal and the groups whose grants count for it
    secret_scope: str
    secret_key: str
    online_store: str

    @property
    def schema_full_name(self) -> str:
        return f"{self.catalog}.{self.schema}"


def _volume_name(path: str) -> tuple[str, str, str]:
    parts = path.rstrip("/").split("/")
    if len(parts) < 5 or parts[:2] != ["", "Volumes"]:
        raise ConfigError(f"landing_path {path!r} is not a volume path /Volumes/<catalog>/<schema>/<volume>")
    return parts[2], parts[3], parts[4]


def resolve_target(w: WorkspaceClient, target: str, env: Mapping[str, str] | None = None) -> Target:
    """The target's catalog, schema, volumes, principal and secret from the bundle and the settings.

    `load_bundle` substitutes `${var.*}`; `${workspace.current_user.*}` (dev's per-user schema) needs the
    workspace, so it is resolved here from `current_user.me()` as the Databricks CLI does.
    """
    from lakehouse.core.settings import load_settings
    from ml.feature_store.databricks import ONLINE_STORE

    env = os.environ if env is None else env
    if target == "local":
        raise ConfigError("target 'local' is not deployable: it only describes local runs (use dev, staging or prod)")
    # BUNDLE_VAR_<name> overrides a variable, as it does for the Databricks CLI (e.g. the service principal in CI)
    overrides = {k.removeprefix("BUNDLE_VAR_"): v for k, v in env.items() if k.startswith("BUNDLE_VAR_")}
    bundle = load_bundle(target, overrides)
    chosen = (bundle.get("targets") or {}).get(target) or {}
    values = {k: str(spec.get("default", "")) for k, spec in (bundle.get("variables") or {}).items()}
    values.update({k: str(v) for k, v in (chosen.get("variables") or {}).items()})
    values.update(overrides)
    me = w.current_user.me()
    user_name = me.user_name or ""
    workspace = {"${workspace.current_user.short_name}": short_user_name(user_name, me.display_name),
                 "${workspace.current_user.userName}": user_name}

    def resolved(value: str) -> str:
        for ref, text in workspace.items():
            value = value.replace(ref, text)
        if "${" in value:
            raise ConfigError(f"bundle value {value!r} has a reference the preflight cannot resolve")
        return value

    catalog, schema = resolved(values["catalog"]), resolved(values["schema"])
    landing = ".".join(_volume_name(resolved(values["landing_path"])))
    run_as = (chosen.get("run_as") or bundle.get("run_as") or {}).get("service_principal_name")
    principal = resolved(str(run_as)) if run_as else user_name
    if principal == PLACEHOLDER_PRINCIPAL:
        raise ConfigError(f"target {target!r} runs as the placeholder service principal {principal}: "
                          "set variable service_principal (its application id) in bundle/databricks.yml "
                          "or BUNDLE_VAR_service_principal")
    # Grants to a group count for its members. The caller's groups are known from me(); another principal's are
    # not readable without admin rights, so for it only its own grants (and `account users`, everyone's) count.
    is_caller = principal == user_name
    groups = {g.display for g in (me.groups or []) if g.display} if is_caller else set()
    blob = load_settings(target).blob
    return Target(
        name=target, catalog=catalog, schema=schema, landing_volume=landing,
        reports_volume=f"{catalog}.{schema}.{REPORTS_VOLUME}", principal=principal,
        principal_is_caller=is_caller, identities=frozenset({principal, "account users", *groups}),
        secret_scope=blob.secret_scope, secret_key=blob.secret_key, online_store=ONLINE_STORE,
    )


# --- the checks ------------------------------------------------------------------------------------------------

class Check:
    """One line of the preflight. `check` returns None when satisfied, else what is missing; `fix` adds it."""

    what: str = ""
    hint: str = "run with --fix"

    def check(self, w: WorkspaceClient) -> str | None:
        raise NotImplementedError

    def fix(self, w: WorkspaceClient) -> str:
        raise NotImplementedError


def _exists(get: Callable[[], object]) -> bool:
    try:
        get()
        return True
    except NotFound:
        return False


@dataclass
class CatalogExists(Check):
    catalog: str

    def __post_init__(self) -> None:
        self.what = f"catalog {self.catalog}"

    def check(self, w: WorkspaceClient) -> str | None:
        return None if _exists(lambda: w.catalogs.get(self.catalog)) else "does not exist"

    def fix(self, w: WorkspaceClient) -> str:
        w.catalogs.create(name=self.catalog)
        return "created"


@dataclass
class SchemaExists(Check):
    full_name: str

    def __post_init__(self) -> None:
        self.what = f"schema {self.full_name}"

    def check(self, w: WorkspaceClient) -> str | None:
        return None if _exists(lambda: w.schemas.get(self.full_name)) else "does not exist"

    def fix(self, w: WorkspaceClient) -> str:
        catalog, name = self.full_name.split(".")
        w.schemas.create(name=name, catalog_name=catalog)
        return "created"


@dataclass
class VolumeExists(Check):
    full_name: str
    purpose: str

    def __post_init__(self) -> None:
        self.what = f"volume {self.full_name} ({self.purpose})"

    def check(self, w: WorkspaceClient) -> str | None:
        return None if _exists(lambda: w.volumes.read(self.full_name)) else "does not exist"

    def fix(self, w: WorkspaceClient) -> str:
        catalog, schema, name = self.full_name.split(".")
        w.volumes.create(catalog_name=catalog, schema_name=schema, name=name, volume_type=VolumeType.MANAGED)
        return "created (managed)"


@dataclass
class Grants(Check):
    """The principal holds `needed` on a securable: effective permissions, so grants inherited from the catalog or
    schema, grants to the caller's groups, ALL_PRIVILEGES and ownership all count."""

    securable_type: str  # catalog | schema | volume
    full_name: str
    principal: str
    identities: frozenset[str]
    needed: Sequence[Privilege]

    def __post_init__(self) -> None:
        names = ", ".join(p.value for p in self.needed)
        self.what = f"grants {names} on {self.securable_type} {self.full_name} to {self.principal}"
        self.missing: list[Privilege] = list(self.needed)

    def _owner(self, w: WorkspaceClient) -> str | None:
        get = {"catalog": w.catalogs.get, "schema": w.schemas.get, "volume": w.volumes.read}[self.securable_type]
        return get(self.full_name).owner

    def _held(self, w: WorkspaceClient) -> set[str]:
        held: set[str] = set()
        token: str | None = None
        while True:
            page = w.grants.get_effective(self.securable_type, self.full_name, max_results=0, page_token=token)
            for assignment in page.privilege_assignments or []:
                if assignment.principal in self.identities:
                    held.update(p.privilege.value for p in assignment.privileges or [] if p.privilege)
            token = page.next_page_token
            if not token:
                return held

    def check(self, w: WorkspaceClient) -> str | None:
        try:
            if self._owner(w) in self.identities:
                return None  # an owner holds every privilege on what it owns
            held = self._held(w)
        except NotFound:
            self.missing = list(self.needed)
            return f"{self.securable_type} does not exist yet"
        if Privilege.ALL_PRIVILEGES.value in held:
            return None
        self.missing = [p for p in self.needed if p.value not in held]
        return f"missing {', '.join(p.value for p in self.missing)}" if self.missing else None

    def fix(self, w: WorkspaceClient) -> str:
        w.grants.update(self.securable_type, self.full_name,
                        changes=[PermissionsChange(principal=self.principal, add=self.missing)])
        return f"granted {', '.join(p.value for p in self.missing)}"


@dataclass
class SecretScopeExists(Check):
    scope: str

    def __post_init__(self) -> None:
        self.what = f"secret scope {self.scope}"

    def check(self, w: WorkspaceClient) -> str | None:
        return None if any(s.name == self.scope for s in w.secrets.list_scopes()) else "does not exist"

    def fix(self, w: WorkspaceClient) -> str:
        w.secrets.create_scope(scope=self.scope)  # the creator gets MANAGE on it
        return "created (Databricks-backed)"


@dataclass
class SecretKeyExists(Check):
    """The Blob connection string is stored. Only its key is listed; the value is never read back or printed."""

    scope: str
    key: str
    env: Mapping[str, str]

    def __post_init__(self) -> None:
        self.what = f"secret {self.scope}/{self.key}"
        self.hint = (f"run `databricks secrets put-secret {self.scope} {self.key}` (it prompts for the value), "
                     f"or set {CONNECTION_STRING_VARIABLE} and run with --fix")

    def check(self, w: WorkspaceClient) -> str | None:
        try:
            keys = {s.key for s in w.secrets.list_secrets(self.scope)}
        except NotFound:
            return "its scope does not exist yet"
        return None if self.key in keys else "not stored"

    def fix(self, w: WorkspaceClient) -> str:
        value = self.env.get(CONNECTION_STRING_VARIABLE)
        if not value:
            raise CannotFix(self.hint)
        w.secrets.put_secret(self.scope, self.key, string_value=value)
        return f"stored from {CONNECTION_STRING_VARIABLE}"


@dataclass
class SecretRead(Check):
    """The principal can read the scope: secret ACLs are READ < WRITE < MANAGE, each implying the ones below
    (https://learn.microsoft.com/azure/databricks/security/auth/access-control/#secret-acls). For the caller,
    listing the scope's keys (which needs READ) is the proof, and it also covers workspace admins, who hold MANAGE
    on every scope without an ACL entry. A service principal needs an ACL entry of its own (M3)."""

    scope: str
    principal: str
    principal_is_caller: bool

    def __post_init__(self) -> None:
        self.what = f"READ on secret scope {self.scope} for {self.principal}"

    def check(self, w: WorkspaceClient) -> str | None:
        if self.principal_is_caller:
            try:
                w.secrets.list_secrets(self.scope)
                return None
            except NotFound:
                return "its scope does not exist yet"
            except PermissionDenied:
                return "no READ"
        if not any(s.name == self.scope for s in w.secrets.list_scopes()):
            return "its scope does not exist yet"
        try:
            w.secrets.get_acl(self.scope, self.principal)  # any entry is at least READ
            return None
        except NotFound:
            return "no ACL entry"

    def fix(self, w: WorkspaceClient) -> str:
        w.secrets.put_acl(self.scope, self.principal, AclPermission.READ)  # only when it has none: never reduces
        return "granted READ"


@dataclass
class OnlineStoreExists(Check):
    """The online store `publish_features` publishes to (B8): GET/POST /api/2.0/feature-store/online-stores[/{name}]
    (databricks-sdk FeatureStoreAPI.get_online_store / create_online_store)."""

    name: str

    def __post_init__(self) -> None:
        self.what = f"online store {self.name}"

    def check(self, w: WorkspaceClient) -> str | None:
        return None if _exists(lambda: w.feature_store.get_online_store(self.name)) else "does not exist"

    def fix(self, w: WorkspaceClient) -> str:
        w.feature_store.create_online_store(OnlineStore(name=self.name, capacity=ONLINE_STORE_CAPACITY))
        return f"created (capacity {ONLINE_STORE_CAPACITY})"


def checks_for(t: Target, env: Mapping[str, str] | None = None) -> list[Check]:
    """Everything a first deploy of `t` needs, in dependency order (a fix creates what later checks look at)."""
    env = os.environ if env is None else env
    schema, ids = t.schema_full_name, t.identities
    landing_catalog, landing_schema = t.landing_volume.rsplit(".", 1)[0].split(".")
    # dev's tables go to a per-user schema while the landing volume stays shared (churn_dev.churn.landing):
    # reading a volume needs USE CATALOG and USE SCHEMA on its parents too.
    shared = f"{landing_catalog}.{landing_schema}"
    apart = [SchemaExists(shared)] if shared != schema else []
    apart_grants: list[Check] = [Grants("schema", shared, t.principal, ids, (Privilege.USE_SCHEMA,))] if apart else []
    if landing_catalog != t.catalog:
        apart = [CatalogExists(landing_catalog), *apart]
        apart_grants = [Grants("catalog", landing_catalog, t.principal, ids, CATALOG_PRIVILEGES), *apart_grants]
    return [
        CatalogExists(t.catalog),
        SchemaExists(schema),
        *apart,
        VolumeExists(t.landing_volume, "landing"),
        VolumeExists(t.reports_volume, "reports"),
        Grants("catalog", t.catalog, t.principal, ids, CATALOG_PRIVILEGES),
        Grants("schema", schema, t.principal, ids, SCHEMA_PRIVILEGES),
        *apart_grants,
        Grants("volume", t.landing_volume, t.principal, ids, LANDING_PRIVILEGES),
        Grants("volume", t.reports_volume, t.principal, ids, REPORTS_PRIVILEGES),
        SecretScopeExists(t.secret_scope),
        SecretKeyExists(t.secret_scope, t.secret_key, env),
        SecretRead(t.secret_scope, t.principal, t.principal_is_caller),
        OnlineStoreExists(t.online_store),
    ]


def _message(exc: Exception) -> str:
    """The API's message, first line, without the configuration dump the SDK appends to 401/403 errors."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.split(". Config: ")[0]


def run_checks(w: WorkspaceClient, checks: Iterable[Check], fix: bool = False,
               secrets: Sequence[str] = ()) -> list[Line]:
    """Each check in turn; with `fix`, fix what is missing. A failure is reported on its line and the rest still
    run. Any text in `secrets` is masked in every line (an API message could echo a request)."""
    lines = []
    for check in checks:
        try:
            missing = check.check(w)
        except DatabricksError as exc:
            line = Line(Status.FAILED, check.what, f"cannot check: {_message(exc)}")
        else:
            if missing is None:
                line = Line(Status.OK, check.what)
            elif not fix:
                line = Line(Status.MISSING, check.what, f"{missing}; {check.hint}")
            else:
                try:
                    line = Line(Status.FIXED, check.what, check.fix(w))
                except CannotFix as exc:
                    line = Line(Status.MISSING, check.what, f"{missing}; {exc}")
                except DatabricksError as exc:
                    line = Line(Status.FAILED, check.what, f"{missing}; the fix was refused: {_message(exc)}")
        for secret in secrets:
            if secret:
                line = Line(line.status, line.what.replace(secret, "***"), line.detail.replace(secret, "***"))
        lines.append(line)
    return lines


def workspace_client(profile: str | None = None) -> WorkspaceClient:
    """A client from the SDK's default authentication chain; a configuration problem is one clear line."""
    try:
        return WorkspaceClient(profile=profile)
    except ValueError as exc:
        raise LakehouseError(f"cannot authenticate to a Databricks workspace ({_message(exc)}): run "
                             "`databricks auth login --host <workspace-url>` or set DATABRICKS_HOST") from None


def preflight(w: WorkspaceClient, target: str, fix: bool = False,
              env: Mapping[str, str] | None = None) -> tuple[Target, list[Line]]:
    """Resolve `target` and run all its checks (fixing what is missing with `fix`)."""
    env = os.environ if env is None else env
    try:
        t = resolve_target(w, target, env)
    except DatabricksError as exc:
        raise LakehouseError(f"cannot read the current user from the workspace: {_message(exc)}") from None
    return t, run_checks(w, checks_for(t, env), fix, secrets=[env.get(CONNECTION_STRING_VARIABLE, "")])


def passed(lines: Iterable[Line]) -> bool:
    """True when every line is OK or FIXED: the workspace is ready for `bundle deploy`."""
    return all(line.status in (Status.OK, Status.FIXED) for line in lines)
