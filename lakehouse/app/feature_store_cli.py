"""`lakehouse features ...`: register, describe and publish feature tables.

Mounted under the main CLI (which passes the Settings as the click context object); a LakehouseError
becomes one line on stderr and exit code 2, as everywhere in the CLI.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from lakehouse.app.progress import console
from lakehouse.core.cli_support import FriendlyGroup
from lakehouse.core.settings import Settings


def describe_table(store: Any, name: str) -> Table:
    """A feature table's metadata and columns as a rich table."""
    table = store.get_table(name=name)
    view = Table(title=table.name, caption=table.description, caption_justify="left")
    for column in ("column", "type", "key", "description"):
        view.add_column(column)
    for field in store.read_table(name=name).schema.fields:
        role = "timeseries" if field.name == table.timeseries_column else "primary" if field.name in table.primary_keys else ""
        view.add_row(field.name, field.dataType.simpleString(), role, table.features.get(field.name, ""))
    return view


@click.group("features", cls=FriendlyGroup)
def features() -> None:
    """Feature tables: keys, descriptions, online publishing."""


@features.command()
@click.pass_obj
def register(settings: Settings) -> None:
    """Check the ARDS and MRDS declare their keys (in their pipeline definitions; run after the pipelines)."""
    from lakehouse.core.engine import spark_session
    from ml.feature_store import feature_store, register_project_tables

    with spark_session(settings) as spark:
        tables = register_project_tables(feature_store(spark, settings), settings)
    console.print(f"registered {', '.join(t.name for t in tables) or 'nothing: run the pipelines first'}")


@features.command()
@click.argument("names", nargs=-1)
@click.pass_obj
def describe(settings: Settings, names: tuple[str, ...]) -> None:
    """Show keys, timeseries column, description and per-feature descriptions (default: ARDS and MRDS)."""
    from lakehouse.core.engine import spark_session
    from ml.feature_store import feature_store, project_tables

    with spark_session(settings) as spark:
        store = feature_store(spark, settings)
        for name in names or [t.name for t in project_tables(settings)]:
            console.print(describe_table(store, name))


@features.command()
@click.argument("name", default="mrds")
@click.pass_obj
def publish(settings: Settings, name: str) -> None:
    """Publish feature table NAME (default: mrds) to the online store: latest row per key, upserted."""
    from lakehouse.core.engine import spark_session
    from ml.feature_store import feature_store

    with spark_session(settings) as spark:
        store = feature_store(spark, settings)
        published = store.published_values(store.publish_table(name=name))
    console.print(f"published {name}: " + ", ".join(f"{key}={value}" for key, value in published.items()))
