"""The ``bussdcc`` command: run, plugins, settings, and sub-commands contributed by plugins.

This module is the console script's entry point, so it stays small: ``main()`` guards against
Ctrl-C first (``bussdcc_framework.interrupts``) and only then imports the command group
(``cli.group``: click, pluggy, the kernel, the plugins). A Ctrl-C during those imports ends the
command with status 130 instead of a traceback. ``cli`` and ``PluginGroup`` are still
importable from here.
"""

from __future__ import annotations

import sys

from ..interrupts import EXIT_INTERRUPTED, startup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .group import PluginGroup, cli

__all__ = ["PluginGroup", "cli", "main"]


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point.

    Plugin problems that are fatal by choice (``BUSSDCC_STRICT_PLUGINS=1``) and malformed
    ``BUSSDCC_*`` variables end the command with one line on stderr, not a traceback; Ctrl-C
    at any moment ends it with status 130 (0 when the command stopped gracefully on it).
    """
    guarded = startup.install()
    try:
        return _main(argv)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if guarded:
            startup.restore()


def _main(argv: list[str] | None) -> Any:
    from ..plugins import PluginHookError, PluginLoadError
    from ..report import report
    from ..settings import SettingError
    from .group import cli

    try:
        return cli.main(args=argv, prog_name="bussdcc")
    except (PluginLoadError, PluginHookError) as exc:
        report(f"{exc} (BUSSDCC_STRICT_PLUGINS is on)")
        sys.exit(1)
    except SettingError as exc:
        report(f"bussdcc: error: {exc}")
        sys.exit(2)


def __getattr__(name: str) -> Any:
    # ``cli`` and ``PluginGroup`` live in ``cli.group``, imported on first use (see above).
    if name in ("cli", "PluginGroup"):
        from . import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
