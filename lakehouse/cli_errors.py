"""Click command classes that turn a LakehouseError into one line on stderr and exit code 2."""

from __future__ import annotations

from typing import Any

import click

from lakehouse.errors import LakehouseError


class _FriendlyErrors:
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except LakehouseError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


class FriendlyCommand(_FriendlyErrors, click.Command):
    """A command whose user errors end in one clear line, never a traceback."""


class FriendlyGroup(_FriendlyErrors, click.Group):
    """A group whose subcommands' user errors end in one clear line, never a traceback."""
