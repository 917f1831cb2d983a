"""What every `lakehouse` command shares: one-line errors (exit 2), the settings from the context, date options."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings, load_settings


def context_settings(ctx: click.Context) -> Settings:
    """The Settings the enclosing `lakehouse` command put in the context (the defaults when run on its own)."""
    return ctx.find_object(Settings) or load_settings()


def parse_date(value: str | None, param_hint: str | None = None) -> date | None:
    """A YYYY-MM-DD option value (None stays None); anything else is a usage error naming the value."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=param_hint) from None


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
