"""``WebInterface``, ``emit`` and ``current_ctx`` (web plugin), at their original path.

Importing this module imports Flask (through the web plugin); ``bussdcc_framework.interface``
alone does not.
"""

from typing import Any

from ...runtime._lazy import plugin_attribute

__all__ = ["WebInterface", "current_ctx", "emit"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return plugin_attribute("bussdcc_framework_web", name, "web")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
