"""The runtime's state tree for the pages: flattened snapshots and the changes between them.

The kernel's ``StateStore`` has no change notification, so the web interface samples it
(once a second by default) and sends only the paths that changed. Values that are not plain
JSON (dataclasses such as ``SystemIdentityEvent``, datetimes, enums) are converted; anything
else is shown by its ``repr``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import msgspec
from bussdcc.state import StateStore

from bussdcc_framework._kernel import state_store_tree
from bussdcc_framework.state import ObservableStateProtocol

#: More leaves than this are not sent (the state page says the tree was cut).
MAX_LEAVES = 5000


def _fallback(obj: Any) -> Any:
    return repr(obj)


def raw_state(store: Any) -> dict[str, Any]:
    """A JSON-ready deep copy of the whole store (empty for stores that cannot be listed)."""
    if isinstance(store, ObservableStateProtocol):
        return _builtins(store.snapshot())
    if isinstance(store, StateStore):
        return _builtins(state_store_tree(store))
    return {}


def _builtins(tree: dict[str, Any]) -> dict[str, Any]:
    try:
        value = msgspec.to_builtins(tree, enc_hook=_fallback, str_keys=True)
    except Exception:
        value = {str(k): repr(v) for k, v in tree.items()}
    return value if isinstance(value, dict) else {}


def flatten(tree: dict[str, Any], limit: int = MAX_LEAVES) -> tuple[dict[str, Any], bool]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; returns (leaves, truncated)."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [("", tree)]
    truncated = False
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, dict) and node:
            for key in sorted(node, reverse=True):
                stack.append((f"{prefix}.{key}" if prefix else str(key), node[key]))
            continue
        if prefix:
            if len(out) >= limit:
                truncated = True
                break
            out[prefix] = node
    return out, truncated


class StateWatcher:
    """Samples the store every ``interval`` seconds and reports changed and removed paths."""

    def __init__(
        self,
        store: Any,
        on_change: Callable[[dict[str, Any], list[str]], None],
        interval: float = 1.0,
    ) -> None:
        self._store = store
        self._on_change = on_change
        self._interval = interval
        self._last: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.truncated = False

    def snapshot(self) -> dict[str, Any]:
        """The current flattened state (also the baseline for the next diff)."""
        with self._lock:
            leaves, self.truncated = flatten(raw_state(self._store))
            return dict(leaves)

    def poll(self) -> None:
        with self._lock:
            leaves, self.truncated = flatten(raw_state(self._store))
            previous, self._last = self._last, leaves
        changes = {p: v for p, v in leaves.items() if p not in previous or previous[p] != v}
        removed = [p for p in previous if p not in leaves]
        if changes or removed:
            self._on_change(changes, removed)

    def start(self) -> None:
        self._last = self.snapshot()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bussdcc-web-state", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except Exception:  # a strange value must not stop live state for everyone
                continue
