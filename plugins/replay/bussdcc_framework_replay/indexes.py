"""Indexes for readers: an index is used only when it still describes its file, never trusted.

``bussdcc_framework.recordings`` defines the sidecar index (``DIR/.STEM.idx``) and checks it
against the data (name, size, mtime, fingerprint). Readers use it to start reading at the
right offset, to leave out files entirely outside a time window, and ``events info``/``events
runs`` to answer without reading the data; whatever is wrong with an index (``missing``,
``stale``, ``damaged``) means reading the data instead, never a failure.
"""

from __future__ import annotations

from pathlib import Path

from bussdcc_framework.recordings import IndexCheck, read_index


def check_index(path: Path) -> IndexCheck:
    """``read_index(path)``, with any unexpected failure taken as a damaged index."""
    try:
        return read_index(path)
    except Exception as exc:  # a cache must never be a reason to fail
        return IndexCheck("damaged", detail=f"{type(exc).__name__}: {exc}")
