"""The plugin system's public module: discovery and the typed plugin manager.

* ``discovery``: entry points, selection (``BUSSDCC_PLUGINS``...), ``load_plugins()``,
  ``PluginRecord``, ``register_plugin`` for plugins defined in an application;
* ``manager``: ``FrameworkPluginManager``, one typed method per hook (``pm.sinks(settings)``,
  ``pm.commands(settings)``, ...), with failures kept as ``HookFailure`` records.

Import from here; the two modules are how the code is organised, not two APIs.
"""

from __future__ import annotations

from .discovery import (
    ENTRY_POINT_GROUP,
    PluginLoadError,
    PluginRecord,
    Status,
    add_plugin,
    create_plugin_manager,
    hook_names,
    load_plugins,
    load_settings,
    normalize_name,
    register_plugin,
    reset_plugins,
    unmarked_hooks,
    unregister_plugin,
    validate_plugin,
)
from .manager import (
    EventObserverError,
    FrameworkPluginManager,
    HookFailure,
    HookResultError,
    PluginHookError,
    plugin_location,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "EventObserverError",
    "FrameworkPluginManager",
    "HookFailure",
    "HookResultError",
    "PluginHookError",
    "PluginLoadError",
    "PluginRecord",
    "Status",
    "add_plugin",
    "create_plugin_manager",
    "hook_names",
    "load_plugins",
    "load_settings",
    "normalize_name",
    "plugin_location",
    "register_plugin",
    "reset_plugins",
    "unmarked_hooks",
    "unregister_plugin",
    "validate_plugin",
]
