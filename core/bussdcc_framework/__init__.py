"""bussdcc-framework: observable, replayable systems on the bussdcc kernel.

Plugins mark hook implementations with ``hookimpl``::

    from bussdcc_framework import hookimpl

    @hookimpl
    def register_sinks(settings):
        return [MySink()]

Importing the package imports nothing else: ``hookimpl``, ``hookspec`` (pluggy) and the
version (package metadata) are made on first use. The ``bussdcc`` command relies on it to
guard against Ctrl-C before its start-up imports (``bussdcc_framework.interrupts``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs more than the rest of this module
if TYPE_CHECKING:
    from typing import Any

    import pluggy

    from .version import get_version

    __version__: str
    hookimpl: pluggy.HookimplMarker
    hookspec: pluggy.HookspecMarker

PROJECT_NAME = "bussdcc_framework"
"""The pluggy project name and the entry-point group plugins are discovered in."""

__all__ = ["PROJECT_NAME", "__version__", "get_version", "hookimpl", "hookspec"]


def __getattr__(name: str) -> Any:
    if name in ("hookimpl", "hookspec"):
        import pluggy

        value: Any = (
            pluggy.HookimplMarker(PROJECT_NAME) if name == "hookimpl" else pluggy.HookspecMarker(PROJECT_NAME)
        )
    elif name in ("__version__", "get_version"):
        from . import version

        value = getattr(version, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # made once: every plugin gets the same marker
    return value
