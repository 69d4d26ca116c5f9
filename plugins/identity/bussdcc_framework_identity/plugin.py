"""Entry point of the identity plugin: its settings, its service and the ``identity`` command."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bussdcc.service import ServiceProtocol

from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, SettingError, Settings

from .identity import HIDEABLE
from .service import SystemIdentityService

if TYPE_CHECKING:
    import click

PLUGIN = "identity"


@hookimpl
def register_settings() -> Iterable[Setting]:
    return [
        Setting(
            PLUGIN,
            "enabled",
            "bool",
            True,
            "Run the system identity service (emits SystemIdentityEvent at start and reload).",
        ),
        Setting(
            PLUGIN,
            "root",
            "path",
            Path("/"),
            "Filesystem root the identity is read from (a mounted image, a test tree).",
        ),
        Setting(
            PLUGIN,
            "hide",
            "list",
            (),
            "Fields never emitted nor recorded, e.g. serial,machine_id; any of " + ", ".join(HIDEABLE) + ".",
        ),
        Setting(
            PLUGIN,
            "refresh",
            "duration",
            0.0,
            "Also re-read every so often and emit on change (0: only at start and SIGHUP).",
        ),
    ]


def service_from_settings(settings: Settings) -> SystemIdentityService:
    """The service the ``identity.*`` settings describe; a bad value is a ``SettingError``."""
    values = settings.for_plugin(PLUGIN)
    try:
        return SystemIdentityService(
            values.get("root") or "/",
            values.get("hide") or (),
            refresh=float(values.get("refresh") or 0.0),
        )
    except ValueError as exc:
        raise SettingError(f"BUSSDCC_IDENTITY_HIDE / identity.hide: {exc}") from None


@hookimpl
def register_services(settings: Settings) -> Iterable[ServiceProtocol]:
    if not settings.get("identity.enabled", True):
        return []
    return [service_from_settings(settings)]


@hookimpl
def register_commands() -> Iterable[click.Command]:
    from .command import identity_command

    return [identity_command]
