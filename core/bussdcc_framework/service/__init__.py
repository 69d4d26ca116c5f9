"""``SystemIdentityService`` (identity plugin), at its original path."""

from typing import Any

from ..runtime._lazy import plugin_attribute

__all__ = ["SystemIdentityService"]


def __getattr__(name: str) -> Any:
    if name == "SystemIdentityService":
        return plugin_attribute("bussdcc_framework_identity", name, "identity")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
