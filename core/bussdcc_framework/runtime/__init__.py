"""Runtimes: ``Runtime`` (sinks, lifecycle, plugins), ``SignalRuntime``, and ``ReplayRuntime``.

``ReplayRuntime`` lives in the replay plugin and is imported on first use.
"""

from typing import Any

from ._lazy import plugin_attribute
from .runtime import Runtime, is_replaying
from .signals import SignalRuntime, run_with_signals

__all__ = ["ReplayRuntime", "Runtime", "SignalRuntime", "is_replaying", "run_with_signals"]


def __getattr__(name: str) -> Any:
    if name == "ReplayRuntime":
        return plugin_attribute("bussdcc_framework_replay", "ReplayRuntime", "replay")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
