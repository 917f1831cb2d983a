"""Secrets: the Blob Storage connection string reports are published with, from the environment on either side,
else on Databricks from a secret scope (there is no secret scope locally: Azurite's connection string, or a folder,
is set in the environment).

A secret is read only when needed (when there is something to upload), and a failed read names the scope, the key
and the cause, never the value. The domain (quality/publish.py) asks `blob_connection_string` and never asks where
it runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.settings import Settings

SecretReader = Callable[[str, str], str]


class SecretUnavailable(LakehouseError):
    """No usable connection string; `destination` and `reason` say which and why (the value is never in them)."""

    def __init__(self, destination: str, reason: str) -> None:
        super().__init__(f"{destination}: {reason}")
        self.destination = destination
        self.reason = reason


def databricks_secret(scope: str, key: str) -> str:
    """The secret `key` of Databricks secret scope `scope`; raises whatever the read raises, never returns a default.

    Read with dbutils.secrets.get (https://docs.databricks.com/aws/en/dev-tools/databricks-utils#secrets-utility-dbutilssecrets),
    which fails when the scope or key does not exist or the caller (the job's run_as principal) lacks READ on the
    scope ("they must have at least READ permission", https://docs.databricks.com/api/secrets/v1/put-acl).
    Callers report that failure with the scope and key; the value itself is never put in a message.
    """
    if "DATABRICKS_RUNTIME_VERSION" not in os.environ:  # off a cluster, dbutils would try to authenticate
        raise RuntimeError("not running on Databricks (DATABRICKS_RUNTIME_VERSION is not set): "
                           "set AZURE_STORAGE_CONNECTION_STRING instead")
    from databricks.sdk.runtime import dbutils

    return str(dbutils.secrets.get(scope=scope, key=key))


def blob_connection_string(settings: Settings, read_secret: SecretReader = databricks_secret) -> str:
    """AZURE_STORAGE_CONNECTION_STRING when set; else on Databricks the secret `blob.secret_key` of scope
    `blob.secret_scope` (read with `read_secret`, a parameter so a failing read can be exercised off Databricks);
    raises SecretUnavailable."""
    blob = settings.blob
    if blob.connection_string is not None:
        return blob.connection_string.get_secret_value()
    if settings.local:
        raise SecretUnavailable("no report destination",
                                "set AZURE_STORAGE_CONNECTION_STRING (Blob or Azurite) or blob.local_dir")
    where = f"secret scope {blob.secret_scope!r} key {blob.secret_key!r}"
    try:
        value = read_secret(blob.secret_scope, blob.secret_key)
    except Exception as exc:  # noqa: BLE001 - no scope, no key, no READ for the run_as principal, ...: all reported
        raise SecretUnavailable(
            "Blob storage", f"the connection string could not be read from {where} ({type(exc).__name__}: "
            f"{first_line(exc)}); the job's run_as principal needs READ on that scope, or set "
            "AZURE_STORAGE_CONNECTION_STRING") from None
    if not value.strip():
        raise SecretUnavailable("Blob storage", f"{where} holds an empty connection string")
    return value
