"""``JsonlSink`` (jsonl plugin) and ``JsonlSource`` (replay plugin), at their original path."""

from typing import Any

from ...runtime._lazy import plugin_attribute

_PROVIDERS = {
    "JsonlSink": ("bussdcc_framework_jsonl", "jsonl"),
    "JsonlSource": ("bussdcc_framework_replay", "replay"),
}

__all__ = list(_PROVIDERS)


def __getattr__(name: str) -> Any:
    if name in _PROVIDERS:
        module, extra = _PROVIDERS[name]
        return plugin_attribute(module, name, extra)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
