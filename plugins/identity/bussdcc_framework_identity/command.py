"""``bussdcc identity``: print what the identity service would emit, without running anything."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bussdcc_framework.message.system import SystemIdentityEvent

from .identity import HIDEABLE, discover


def _settings() -> dict[str, Any]:
    from bussdcc_framework.plugins import load_settings
    from bussdcc_framework.settings import SettingError

    try:
        return load_settings().for_plugin("identity")
    except SettingError as exc:
        raise click.UsageError(str(exc)) from None


def as_builtins(identity: SystemIdentityEvent) -> dict[str, Any]:
    """The event's data exactly as a record carries it (through the core codec)."""
    from bussdcc_framework.codec import Codec, default_registry

    return Codec(default_registry(plugins=False)).to_builtins(identity)


def render_text(identity: SystemIdentityEvent) -> str:
    """Aligned ``field  value`` lines; ``-`` for unknown, ``(hidden)`` for withheld fields."""
    rows: list[tuple[str, str]] = []
    for name in HIDEABLE:
        value = getattr(identity, name)
        if name in identity.hidden:
            rows.append((name, "(hidden)"))
        elif name == "versions":
            for dist, version in sorted(value.items()):
                rows.append((f"versions.{dist}", version))
        else:
            rows.append((name, "-" if value is None else str(value)))
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in rows)


@click.command("identity")
@click.option("--json", "as_json", is_flag=True, help="Print the event's data as JSON.")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Filesystem root to read (default: the identity.root setting, /).",
)
@click.option(
    "--hide",
    metavar="FIELDS",
    default=None,
    help="Comma-separated fields to withhold (default: the identity.hide setting).",
)
def identity_command(as_json: bool, root: Path | None, hide: str | None) -> None:
    """Print the SystemIdentityEvent the identity service would emit here.

    Reads the same sources with the same settings (BUSSDCC_IDENTITY_ROOT,
    BUSSDCC_IDENTITY_HIDE) as the service; fields it cannot read are shown as `-`.
    """
    settings = _settings()
    base = root if root is not None else Path(settings.get("root") or "/")
    hidden = hide.split(",") if hide is not None else list(settings.get("hide") or ())
    try:
        identity = discover(base, hidden)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--hide / BUSSDCC_IDENTITY_HIDE") from None
    if as_json:
        import msgspec

        sys.stdout.write(
            msgspec.json.format(msgspec.json.encode(as_builtins(identity)), indent=2).decode() + "\n"
        )
    else:
        click.echo(render_text(identity))
