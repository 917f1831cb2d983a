"""A local HTTP stub of the few Databricks REST endpoints `lakehouse bundle preflight` calls.

It holds an in-memory workspace and answers with the request and response shapes documented in the
databricks-sdk service modules (0.162: service/catalog.py, workspace.py, ml.py, iam.py), including the
documented error body `{"error_code": ..., "message": ...}` with HTTP 404 for what does not exist and 403 for
what the caller may not do. It is a model of the documented API for testing OUR logic, not of Databricks:
it implements only what the preflight uses, and Unity Catalog inheritance only as catalog > schema > volume.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

UC = "/api/2.1/unity-catalog"
_PARENT_TYPE = {"schema": "catalog", "volume": "schema"}
_SECRET_RANK = {"READ": 1, "WRITE": 2, "MANAGE": 3}


class _Answer(Exception):
    def __init__(self, body: Any) -> None:
        self.body = body


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Workspace:
    """The stub's state. `grants` maps (securable type, full name) to {principal: {privilege}} (direct grants);
    `denied` holds "METHOD /path-prefix" strings answered with 403 PERMISSION_DENIED."""

    user_name: str = "alice.smith@example.com"
    display_name: str = "Alice Smith"
    groups: list[str] = field(default_factory=lambda: ["users"])
    catalogs: dict[str, dict[str, Any]] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    grants: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)
    scopes: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"acls": {p: perm}, "secrets": {k: v}}
    online_stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # method, path, JSON body

    @property
    def writes(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [r for r in self.requests if r[0] != "GET"]

    # helpers for tests to build a workspace
    def add_catalog(self, name: str, owner: str = "admin@example.com") -> None:
        self.catalogs[name] = {"name": name, "full_name": name, "owner": owner}

    def add_schema(self, full_name: str, owner: str = "admin@example.com") -> None:
        catalog, name = full_name.split(".")
        self.schemas[full_name] = {"name": name, "catalog_name": catalog, "full_name": full_name, "owner": owner}

    def add_volume(self, full_name: str, owner: str = "admin@example.com") -> None:
        catalog, schema, name = full_name.split(".")
        self.volumes[full_name] = {"name": name, "catalog_name": catalog, "schema_name": schema,
                                   "full_name": full_name, "volume_type": "MANAGED", "owner": owner,
                                   "storage_location": f"abfss://uc@stub/{catalog}/{schema}/{name}"}

    def grant(self, securable_type: str, full_name: str, principal: str, *privileges: str) -> None:
        self.grants.setdefault((securable_type, full_name), {}).setdefault(principal, set()).update(privileges)

    def effective(self, securable_type: str, full_name: str) -> dict[str, list[dict[str, str]]]:
        """Direct grants plus those inherited from the parents (catalog > schema > volume)."""
        out: dict[str, list[dict[str, str]]] = {}
        kind, name = securable_type, full_name
        while True:
            for principal, privileges in self.grants.get((kind, name), {}).items():
                for privilege in sorted(privileges):
                    entry = {"privilege": privilege}
                    if (kind, name) != (securable_type, full_name):
                        entry |= {"inherited_from_type": kind.upper(), "inherited_from_name": name}
                    out.setdefault(principal, []).append(entry)
            if kind not in _PARENT_TYPE:
                return out
            kind, name = _PARENT_TYPE[kind], name.rsplit(".", 1)[0]


def _not_found(what: str) -> ApiError:
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"{what} does not exist.")


class _Handler(BaseHTTPRequestHandler):
    ws: Workspace
    lock: threading.Lock

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _serve(self, method: str) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = unquote(url.path)
        with self.lock:
            self.ws.requests.append((method, path, body))
            try:
                if path == "/.well-known/databricks-config":  # unauthenticated host metadata (oauth.py)
                    raise _Answer({"oidc_endpoint": f"http://{self.headers['Host']}/oidc", "workspace_id": "1234"})
                if self.headers.get("Authorization") != "Bearer stub-token-not-a-secret":
                    raise ApiError(401, "UNAUTHENTICATED", "invalid token")
                if any(f"{method} {path}".startswith(d) for d in self.ws.denied):
                    raise ApiError(403, "PERMISSION_DENIED", f"User does not have permission for {method} {path}.")
                status, result = 200, _route(self.ws, method, path, query, body)
            except _Answer as answer:
                status, result = 200, answer.body
            except ApiError as exc:
                status, result = exc.status, {"error_code": exc.code, "message": exc.message}
        data = json.dumps(result).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")


def _route(ws: Workspace, method: str, path: str, q: dict[str, str], body: dict[str, Any]) -> Any:
    caller = ws.user_name
    if method == "GET" and path == "/api/2.0/preview/scim/v2/Me":
        return {"id": "1001", "userName": ws.user_name, "displayName": ws.display_name, "active": True,
                "groups": [{"display": g, "value": str(i)} for i, g in enumerate(ws.groups)]}
    # Unity Catalog: catalogs, schemas, volumes
    for kind, table, collection in (("catalog", ws.catalogs, "catalogs"), ("schema", ws.schemas, "schemas"),
                                    ("volume", ws.volumes, "volumes")):
        prefix = f"{UC}/{collection}"
        if method == "GET" and path.startswith(prefix + "/"):
            name = path[len(prefix) + 1:]
            if name not in table:
                raise _not_found(f"{kind.capitalize()} '{name}'")
            return table[name]
        if method == "POST" and path == prefix:
            return _create(ws, kind, body, caller)
    m = re.fullmatch(rf"{UC}/(effective-permissions|permissions)/([a-z_]+)/(.+)", path, re.I)
    if m:
        kind, name = m.group(2).lower(), m.group(3)
        if name not in {"catalog": ws.catalogs, "schema": ws.schemas, "volume": ws.volumes}[kind]:
            raise _not_found(f"{kind.capitalize()} '{name}'")
        if method == "GET" and m.group(1) == "effective-permissions":
            eff = ws.effective(kind, name)
            if "principal" in q:
                eff = {p: v for p, v in eff.items() if p == q["principal"]}
            return {"privilege_assignments": [{"principal": p, "privileges": v} for p, v in eff.items()]}
        if method == "PATCH" and m.group(1) == "permissions":
            for change in body.get("changes", []):
                ws.grant(kind, name, change["principal"], *change.get("add", []))
                for privilege in change.get("remove", []):
                    ws.grants[(kind, name)][change["principal"]].discard(privilege)
            direct = ws.grants.get((kind, name), {})
            return {"privilege_assignments": [{"principal": p, "privileges": sorted(v)} for p, v in direct.items()]}
    # Secrets
    if path.startswith("/api/2.0/secrets/"):
        return _secrets(ws, method, path, q, body, caller)
    # Online stores
    if path.startswith("/api/2.0/feature-store/online-stores"):
        name = path.removeprefix("/api/2.0/feature-store/online-stores").strip("/")
        if method == "GET" and name:
            if name not in ws.online_stores:
                raise _not_found(f"Online store '{name}'")
            return ws.online_stores[name]
        if method == "POST" and not name:
            if body["name"] in ws.online_stores:
                raise ApiError(409, "RESOURCE_ALREADY_EXISTS", f"Online store '{body['name']}' already exists.")
            ws.online_stores[body["name"]] = {**body, "state": "STARTING", "creator": caller}
            return ws.online_stores[body["name"]]
    raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")


def _create(ws: Workspace, kind: str, body: dict[str, Any], caller: str) -> dict[str, Any]:
    if kind == "catalog":
        if body["name"] in ws.catalogs:
            raise ApiError(409, "CATALOG_ALREADY_EXISTS", f"Catalog '{body['name']}' already exists")
        ws.add_catalog(body["name"], owner=caller)
        return ws.catalogs[body["name"]]
    if kind == "schema":
        full = f"{body['catalog_name']}.{body['name']}"
        if body["catalog_name"] not in ws.catalogs:
            raise _not_found(f"Catalog '{body['catalog_name']}'")
        if full in ws.schemas:
            raise ApiError(409, "SCHEMA_ALREADY_EXISTS", f"Schema '{full}' already exists")
        ws.add_schema(full, owner=caller)
        return ws.schemas[full]
    full = f"{body['catalog_name']}.{body['schema_name']}.{body['name']}"
    if f"{body['catalog_name']}.{body['schema_name']}" not in ws.schemas:
        raise _not_found(f"Schema '{body['catalog_name']}.{body['schema_name']}'")
    if body.get("volume_type") != "MANAGED":
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "an external volume needs a storage_location")
    if full in ws.volumes:
        raise ApiError(409, "RESOURCE_ALREADY_EXISTS", f"Volume '{full}' already exists")
    ws.add_volume(full, owner=caller)
    return ws.volumes[full]


def _secrets(ws: Workspace, method: str, path: str, q: dict[str, str], body: dict[str, Any], caller: str) -> Any:
    action = path.removeprefix("/api/2.0/secrets/")
    if action == "scopes/list":
        return {"scopes": [{"name": n, "backend_type": "DATABRICKS"} for n in ws.scopes]}
    if action == "scopes/create":
        if body["scope"] in ws.scopes:
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Scope {body['scope']} already exists!")
        # documented: without initial_manage_principal, the request issuer gets MANAGE
        ws.scopes[body["scope"]] = {"acls": {caller: "MANAGE"}, "secrets": {}}
        return {}
    name = q.get("scope") or body.get("scope")
    if name not in ws.scopes:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Scope {name} does not exist!")
    scope = ws.scopes[name]
    own = max((_SECRET_RANK[p] for who, p in scope["acls"].items() if who in {caller, *ws.groups}), default=0)
    admin = "admins" in ws.groups
    needed = {"list": 1, "put": 2, "acls/put": 3, "acls/get": 3, "acls/list": 3}.get(action, 0)
    if own < needed and not admin:  # documented: list needs READ, put WRITE, the ACL calls MANAGE
        level = {1: "READ", 2: "WRITE", 3: "MANAGE"}[needed]
        raise ApiError(403, "PERMISSION_DENIED", f"User {caller} does not have {level} permission on scope {name}")
    if action == "list":
        return {"secrets": [{"key": k, "last_updated_timestamp": 1764892800000} for k in scope["secrets"]]}
    if action == "put":
        scope["secrets"][body["key"]] = body.get("string_value", "")
        return {}
    if action == "acls/get":
        if q["principal"] not in scope["acls"]:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Failed to get secret acl for principal {q['principal']}")
        return {"principal": q["principal"], "permission": scope["acls"][q["principal"]]}
    if action == "acls/list":
        return {"items": [{"principal": p, "permission": v} for p, v in scope["acls"].items()]}
    if action == "acls/put":
        scope["acls"][body["principal"]] = body["permission"]
        return {}
    raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")


class Stub:
    """The server on 127.0.0.1 (a free port) in a daemon thread; `url` is the host to give the SDK."""

    def __init__(self, workspace: Workspace | None = None) -> None:
        self.ws = workspace or Workspace()
        handler = type("Handler", (_Handler,), {"ws": self.ws, "lock": threading.Lock()})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Stub":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def client(self):  # -> WorkspaceClient
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient(host=self.url, token="stub-token-not-a-secret", auth_type="pat")
