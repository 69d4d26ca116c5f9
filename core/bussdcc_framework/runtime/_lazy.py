"""Import a name from a plugin distribution, or say which extra installs it."""

from importlib import import_module
from typing import Any


class MissingPluginError(ImportError):
    """A compatibility import needs a plugin distribution that is not installed."""


def plugin_attribute(module: str, name: str, extra: str) -> Any:
    """Return ``module.name``; if the plugin is missing, say how to install it."""
    try:
        loaded = import_module(module)
    except ModuleNotFoundError as exc:
        # Only the plugin itself missing means "not installed"; a module the plugin imports
        # that is missing is a broken installation and must surface as it is.
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            raise MissingPluginError(
                f"{name} is provided by the {extra} plugin, which is not installed; "
                f"install it with: pip install 'bussdcc-framework[{extra}]'"
            ) from exc
        raise
    return getattr(loaded, name)
