"""Recordings as a whole: the sidecar index of a JSONL file, its scanner, and runs.

Shared by the ``jsonl`` plugin (which writes an index when it closes a segment) and the
``replay`` plugin (whose readers answer ``events info``/``events runs`` and seek with it).
See docs/record-format.md#the-index for the format and its guarantees.

* ``index``: ``SegmentIndex`` and its parts, ``index_path``, ``read_index``/``load_index``
  (the index only when it still describes the data), ``write_index`` (atomic);
* ``builder``: ``IndexBuilder``, fed by the sink and by the scanner alike;
* ``scan``: ``scan_file`` (any file, plain or gzip, hostile input included) and
  ``ensure_index`` (the stored index when current, else a scan, stored for next time);
* ``runs``: ``list_runs(indexes)`` lists the boot-to-shutdown runs.

Imports are lazy (PEP 562): importing this package imports neither msgspec nor the kernel.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Checkpoint": "index",
    "DEFAULT_EVERY": "index",
    "IndexCheck": "index",
    "LifecycleMark": "index",
    "Mark": "index",
    "SegmentIndex": "index",
    "Source": "index",
    "file_identity": "index",
    "index_path": "index",
    "is_index_name": "index",
    "load_index": "index",
    "read_index": "index",
    "remove_index": "index",
    "write_index": "index",
    "IndexBuilder": "builder",
    "LIFECYCLE_TYPES": "builder",
    "DEFAULT_MAX_LINE": "scan",
    "LineScanner": "scan",
    "ensure_index": "scan",
    "record_severity": "scan",
    "registry_severity": "scan",
    "scan_file": "scan",
    "Run": "runs",
    "list_runs": "runs",
}

__all__ = [
    "DEFAULT_EVERY",
    "DEFAULT_MAX_LINE",
    "LIFECYCLE_TYPES",
    "Checkpoint",
    "IndexBuilder",
    "IndexCheck",
    "LifecycleMark",
    "LineScanner",
    "Mark",
    "Run",
    "SegmentIndex",
    "Source",
    "ensure_index",
    "file_identity",
    "index_path",
    "is_index_name",
    "list_runs",
    "load_index",
    "read_index",
    "record_severity",
    "registry_severity",
    "remove_index",
    "scan_file",
    "write_index",
]

if TYPE_CHECKING:
    from .builder import LIFECYCLE_TYPES, IndexBuilder
    from .index import (
        DEFAULT_EVERY,
        Checkpoint,
        IndexCheck,
        LifecycleMark,
        Mark,
        SegmentIndex,
        Source,
        file_identity,
        index_path,
        is_index_name,
        load_index,
        read_index,
        remove_index,
        write_index,
    )
    from .runs import Run, list_runs
    from .scan import (
        DEFAULT_MAX_LINE,
        LineScanner,
        ensure_index,
        record_severity,
        registry_severity,
        scan_file,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
