"""``ConsoleSink`` (console plugin), at its original path."""

from typing import Any

from ...runtime._lazy import plugin_attribute

__all__ = ["ConsoleSink"]


def __getattr__(name: str) -> Any:
    if name == "ConsoleSink":
        return plugin_attribute("bussdcc_framework_console", name, "console")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
