"""The runtime's state for the pages: flattened to dotted paths, cut, and pushed as it changes.

The store tells what changed (``ObservableStateProtocol``: ``subscribe`` and ``snapshot``, which
the runtime's default ``NotifyingStateStore`` implements), so nothing is sampled and no private
attribute is read. The store's callback only records the path and its new value; one thread
(``bussdcc-web-state``) applies what accumulated every ``interval`` seconds, so a burst of
thousands of writes becomes one push carrying the last value of each path.

The mirror holds each leaf already cut (``cut.py``) and encoded to JSON once (``msgspec.Raw``),
shared by the snapshot of every new page, every client's queue and the API. It holds at most
``MAX_LEAVES`` leaves; branches deeper than ``MAX_DEPTH`` levels become one leaf (shown cut).

A store without the protocol (an application's own ``StateStoreProtocol``) cannot be listed
or watched: the mirror stays empty, ``unavailable`` says why, and the State page shows it.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from bussdcc_framework.state import ObservableStateProtocol, SubscriptionProtocol

from .cut import MAX_DEPTH, cut, safe_repr, text
from .fastjson import raw

#: More leaves than this are not kept (the state page says the tree was cut).
MAX_LEAVES = 5000
#: The largest encoded size of one leaf's value.
LEAF_BYTES = 16 * 1024
#: Path segments (keys) longer than this are cut.
MAX_KEY = 200

StateChanges = Callable[[dict[str, msgspec.Raw], list[str]], None]


class StateMirror:
    """Leaves of the runtime's state (``{"a.b": Raw(json)}``), kept current from notifications."""

    def __init__(self, store: Any, on_change: StateChanges, interval: float = 0.05) -> None:
        self._store = store
        self._on_change = on_change
        self._interval = interval
        self._leaves: dict[str, msgspec.Raw] = {}
        self._paths: list[str] = []  # sorted: the leaves under "a.b" are a contiguous run
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}
        self._pending_lock = threading.Lock()
        self._apply_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: SubscriptionProtocol | None = None
        self.truncated = False
        self.unavailable: str | None = None
        if not isinstance(store, ObservableStateProtocol):
            self.unavailable = (
                f"this runtime's state store ({type(store).__qualname__}) cannot be shown: it does "
                "not implement bussdcc_framework.state.ObservableStateProtocol (subscribe and snapshot)"
            )

    # -- lifecycle -----------------------------------------------------------------------

    def attach(self) -> None:
        """Subscribe, then load the whole tree (a change in between is applied twice: harmless).

        Without ``start`` nothing is pushed, but ``poll`` (which every snapshot calls) still
        brings the mirror up to date: enough for a Socket.IO test client.
        """
        if self.unavailable is not None or self._subscription is not None:
            return
        store: ObservableStateProtocol = self._store
        self._subscription = store.subscribe("", self._changed)
        try:
            tree = store.snapshot()
        except Exception as exc:  # a hostile tree (too deep to copy) must not stop the start
            self.unavailable = f"the state could not be read: {safe_repr(exc)}"
            self._subscription.cancel()
            self._subscription = None
            return
        with self._apply_lock:
            self._apply_all({"": tree})

    def start(self) -> None:
        """``attach``, then push changes from the ``bussdcc-web-state`` thread."""
        self.attach()
        if self._subscription is None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bussdcc-web-state", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- reading -------------------------------------------------------------------------

    def leaves(self, budget: int | None = None, prefix: str = "") -> tuple[dict[str, msgspec.Raw], bool]:
        """The leaves (sorted by path; at or under ``prefix``), at most ``budget`` bytes of them.

        Returns the leaves and whether any were left out (by the budget or ``MAX_LEAVES``).
        """
        out: dict[str, msgspec.Raw] = {}
        size = 0
        with self._lock:
            if prefix:
                start = bisect.bisect_left(self._paths, prefix)
                end = bisect.bisect_left(self._paths, prefix + "/")  # "/" sorts right after "."
                paths = [p for p in self._paths[start:end] if p == prefix or p.startswith(prefix + ".")]
            else:
                paths = self._paths
            for path in paths:
                value = self._leaves[path]
                size += len(path) + len(value) + 4
                if budget is not None and size > budget:
                    return out, True
                out[path] = value
            return out, self.truncated

    def poll(self) -> None:
        """Apply (and push) the changes notified so far, now; the thread does it every ``interval``.

        One caller at a time, from taking the changes to pushing them: otherwise an older batch
        applied after a newer one would leave stale values on the pages.
        """
        with self._apply_lock:
            with self._pending_lock:
                pending, self._pending = self._pending, {}
            if pending:
                self._apply_all(pending)

    # -- notifications -------------------------------------------------------------------

    def _changed(self, path: str, value: Any) -> None:
        """The store's callback, on the writer's thread: remember, wake, return at once."""
        with self._pending_lock:
            # Re-inserted at the end: changes apply in the order of each path's last write.
            self._pending.pop(path, None)
            self._pending[path] = value
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.wait(self._interval):  # let a burst accumulate
                break
            self._wake.clear()
            try:
                self.poll()
            except Exception as exc:  # a bug here must not end live state for everyone
                self.unavailable = f"live state stopped: {safe_repr(exc)}"
                break

    def _apply_all(self, pending: dict[str, Any]) -> None:
        changes: dict[str, msgspec.Raw] = {}
        removed: set[str] = set()
        for path, value in pending.items():
            self._apply(path, value, changes, removed)
        if changes or removed:
            self._on_change(changes, sorted(removed))

    def _apply(self, path: str, value: Any, changes: dict[str, msgspec.Raw], removed: set[str]) -> None:
        depth = path.count(".") + 1 if path else 0
        fresh = dict(_flatten(path, value, depth))
        with self._lock:
            if len(fresh) >= MAX_LEAVES:
                self.truncated = True
            old = self._drop(path)
            for leaf, encoded in fresh.items():
                if leaf not in old and len(self._leaves) >= MAX_LEAVES:
                    self.truncated = True
                    continue
                self._leaves[leaf] = encoded
                bisect.insort(self._paths, leaf)
                if old.get(leaf) != encoded or leaf in changes:
                    changes[leaf] = encoded
                removed.discard(leaf)
            for leaf in old:
                if leaf not in self._leaves:
                    removed.add(leaf)
                    changes.pop(leaf, None)

    def _drop(self, path: str) -> dict[str, msgspec.Raw]:
        """Remove the leaves that a write at ``path`` replaces; return them. Under the lock."""
        if not path:
            everything = self._leaves
            self._leaves = {}
            self._paths = []
            return everything
        old: dict[str, msgspec.Raw] = {}
        keys = path.split(".")
        for i in range(1, len(keys)):  # an ancestor that was a leaf ({} or 5) is a branch now
            ancestor = ".".join(keys[:i])
            if ancestor in self._leaves:
                old[ancestor] = self._leaves.pop(ancestor)
                del self._paths[bisect.bisect_left(self._paths, ancestor)]
        if path in self._leaves:
            old[path] = self._leaves.pop(path)
            del self._paths[bisect.bisect_left(self._paths, path)]
        start = bisect.bisect_left(self._paths, path + ".")
        end = bisect.bisect_left(self._paths, path + "/")
        for leaf in self._paths[start:end]:
            old[leaf] = self._leaves.pop(leaf)
        del self._paths[start:end]
        return old


def _flatten(path: str, value: Any, depth: int) -> Iterator[tuple[str, msgspec.Raw]]:
    """``("a", {"b": 1, "c": {}})`` -> ``("a.b", 1), ("a.c", {})``, each value cut and encoded.

    Iterative and bounded: at most ``MAX_LEAVES`` leaves, branches below ``MAX_DEPTH`` levels
    become one leaf, and dict keys are made text (``cut.text``) before they join a path.
    """
    stack: list[tuple[str, Any, int]] = [(path, value, depth)]
    produced = 0
    while stack and produced < MAX_LEAVES:
        prefix, node, level = stack.pop()
        if isinstance(node, dict) and node and level < MAX_DEPTH:
            children = []
            for count, (key, child) in enumerate(node.items()):
                if count >= MAX_LEAVES:
                    break
                name = text(key if isinstance(key, str) else safe_repr(key), MAX_KEY)
                children.append((f"{prefix}.{name}" if prefix else name, child, level + 1))
            stack.extend(reversed(children))
            continue
        if prefix:
            produced += 1
            yield prefix, raw(cut(node, max_bytes=LEAF_BYTES))
