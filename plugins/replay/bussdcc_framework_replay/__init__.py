"""bussdcc-framework plugin: deterministic replay of recorded event streams.

``JsonlSource`` reads JSONL logs (directories, files, ``.jsonl.gz``) as events in time order,
skipping and counting damaged lines; ``ReplayRuntime`` replays them through a full framework
runtime on a replay clock. The plugin adds ``bussdcc replay`` and ``bussdcc events info|cat``.
Names are imported on first use (PEP 562), so plugin discovery does not import the codec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bussdcc_framework.lazy import lazy_exports

if TYPE_CHECKING:
    from .clock import ReplayClock
    from .filters import TypeFilter
    from .lifecycle import LIFECYCLE_TYPES
    from .reader import ReplayDataError
    from .runtime import ReplayRuntime, ReplayStats
    from .source import JsonlSource
    from .stats import FileStats, SourceStats

__all__ = [
    "LIFECYCLE_TYPES",
    "FileStats",
    "JsonlSource",
    "ReplayClock",
    "ReplayDataError",
    "ReplayRuntime",
    "ReplayStats",
    "SourceStats",
    "TypeFilter",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "LIFECYCLE_TYPES": ".lifecycle",
        "FileStats": ".stats",
        "JsonlSource": ".source",
        "ReplayClock": ".clock",
        "ReplayDataError": ".reader",
        "ReplayRuntime": ".runtime",
        "ReplayStats": ".runtime",
        "SourceStats": ".stats",
        "TypeFilter": ".filters",
    },
)
