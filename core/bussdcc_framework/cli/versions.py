"""``bussdcc --version``: the framework, the kernel and every loaded plugin."""

from __future__ import annotations

import click
from bussdcc.version import get_version as kernel_version

from ..plugins import load_plugins
from ..version import get_version


def print_versions(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"bussdcc-framework {get_version()}")
    click.echo(f"bussdcc (kernel) {kernel_version()}")
    for record in load_plugins().loaded():
        click.echo(f"plugin {record.name}: {record.dist or '-'} {record.version or ''}".rstrip())
    ctx.exit()
