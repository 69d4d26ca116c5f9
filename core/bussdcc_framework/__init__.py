"""bussdcc-framework: observable, replayable systems on the bussdcc kernel.

Plugins mark hook implementations with ``hookimpl``::

    from bussdcc_framework import hookimpl

    @hookimpl
    def register_sinks(settings):
        return [MySink()]
"""

import pluggy

from .version import __version__, get_version

PROJECT_NAME = "bussdcc_framework"
"""The pluggy project name and the entry-point group plugins are discovered in."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "get_version", "hookimpl", "hookspec"]
