"""The identity plugin's settings (``BUSSDCC_IDENTITY_*``) and the configuration built from them.

Values are checked when settings are resolved (``identity.hide`` names fields of the event), so
``IdentityConfig.from_settings`` only assembles. Cheap to import: nothing is read from the
machine until the service runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bussdcc_framework.message.system import SystemIdentityEvent
from bussdcc_framework.settings import Setting, Settings, values_of

if TYPE_CHECKING:
    from .service import SystemIdentityService

PLUGIN = "identity"

#: Fields ``identity.hide`` may name (every field of the event except ``hidden`` itself).
HIDEABLE: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(SystemIdentityEvent) if f.name != "hidden"
)


def parse_hide(names: Iterable[str]) -> tuple[str, ...]:
    """Validate ``identity.hide``: known field names only, as a one-line ``ValueError``.

    ``machine-id`` and ``machine_id`` are the same; duplicates are dropped; order is kept.
    """
    wanted: list[str] = []
    for raw in names:
        name = raw.strip().lower().replace("-", "_")
        if not name:
            continue
        if name not in HIDEABLE:
            raise ValueError(
                f"{raw.strip()!r} is not a field of SystemIdentityEvent; use any of {', '.join(HIDEABLE)}"
            )
        if name not in wanted:
            wanted.append(name)
    return tuple(wanted)


def _hide(names: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return parse_hide(names)
    except ValueError as exc:
        raise ValueError(f"a comma-separated list of fields ({exc})") from None


SETTINGS: tuple[Setting, ...] = (
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
        "/",
        "Filesystem root the identity is read from (a mounted image, a test tree).",
    ),
    Setting(
        PLUGIN,
        "hide",
        "list",
        (),
        "Fields never emitted nor recorded, e.g. serial,machine_id; any of " + ", ".join(HIDEABLE) + ".",
        validator=_hide,
    ),
    Setting(
        PLUGIN,
        "refresh",
        "duration",
        0,
        "Also re-read every so often and emit on change (0: only at start and SIGHUP).",
        min=0,
    ),
)


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """The ``identity.*`` settings of one run."""

    enabled: bool
    root: Path
    hide: tuple[str, ...]
    refresh: float

    @classmethod
    def from_settings(cls, settings: Settings | None) -> IdentityConfig:
        """The configuration the resolved settings describe (defaults for what they lack)."""
        return cls(**values_of(SETTINGS, settings))

    def service(self) -> SystemIdentityService:
        """A new ``SystemIdentityService`` with this configuration."""
        from .service import SystemIdentityService

        return SystemIdentityService(self.root, self.hide, refresh=self.refresh)
