"""Entry point of the identity plugin: the hook implementations bussdcc-framework calls.

Imported for every ``bussdcc`` command, so it stays cheap: settings live in ``config.py``; the
service and the ``identity`` command are imported when they are used.
"""

from __future__ import annotations

from collections.abc import Iterable

import click
from bussdcc.service import ServiceProtocol

from bussdcc_framework import hookimpl
from bussdcc_framework.cli.lazy import LazyCommand
from bussdcc_framework.settings import Setting, Settings

from .config import SETTINGS, IdentityConfig


@hookimpl
def register_settings() -> Iterable[Setting]:
    return SETTINGS


@hookimpl
def register_services(settings: Settings) -> Iterable[ServiceProtocol]:
    config = IdentityConfig.from_settings(settings)
    return [config.service()] if config.enabled else []


@hookimpl
def register_commands() -> Iterable[click.Command]:
    return [
        LazyCommand(
            "identity",
            "bussdcc_framework_identity.command:identity_command",
            short_help="Print the SystemIdentityEvent the identity service would emit here.",
        )
    ]
