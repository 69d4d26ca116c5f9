"""A state store that says what changed: the runtime's default store.

The kernel's ``StateStore`` can only be read, so anything that shows state (the web interface)
had to sample it and read its private tree. ``NotifyingStateStore`` has the kernel's
``get``/``set``/``update`` plus two public calls:

* ``subscribe(prefix, callback)``: ``callback(path, value)`` after each change of ``prefix`` or
  anything under it (or above it: setting ``"a"`` replaces ``"a.b"``), outside the store's lock;
* ``snapshot(prefix="")``: a copy of the tree (or of the branch under ``prefix``);
* ``restore(tree)``: put a snapshot back whole (a replay rewinding to its start).

``ObservableStateProtocol`` is what a consumer needs from any store; a runtime built with
another store that implements it works the same.

Notifications keep the order of the changes, even when several threads write: a change is
queued under the store's lock, and one thread at a time delivers the queue. So a callback never
runs while the lock is held (it may read or write the store), a callback that writes the store
is notified of its own change after it returns (no recursion), and a writer never waits for
another thread's callbacks. A callback that raises is reported once on stderr and the others
still run: a bug in a display must not break the process that set the value.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from bussdcc.state import StateStoreProtocol, parse_path

from .report import describe, report

StateCallback = Callable[[str, Any], None]
"""``callback(path, value)``: ``path`` as written by the setter, ``value`` the new value."""

__all__ = [
    "NotifyingStateStore",
    "ObservableStateProtocol",
    "StateCallback",
    "Subscription",
    "SubscriptionProtocol",
]


@runtime_checkable
class SubscriptionProtocol(Protocol):
    """What ``subscribe`` returns: ``cancel()`` stops the notifications (idempotent)."""

    def cancel(self) -> None: ...


@runtime_checkable
class ObservableStateProtocol(StateStoreProtocol, Protocol):
    """A state store that notifies subscribers of changes and can be copied whole.

    ``subscribe`` first, then ``snapshot``: a change made in between is then seen twice
    (harmless) rather than never.
    """

    def subscribe(self, prefix: str, callback: StateCallback) -> SubscriptionProtocol:
        """Call ``callback(path, value)`` after each change at, under or above ``prefix``."""
        ...

    def snapshot(self, prefix: str = "") -> dict[str, Any]:
        """A copy of the tree, or of the branch at ``prefix`` keyed from the root."""
        ...


class Subscription:
    """One subscriber of a ``NotifyingStateStore``; ``cancel()`` ends it."""

    __slots__ = ("_store", "callback", "keys", "prefix", "reported")

    def __init__(self, store: NotifyingStateStore, prefix: str, callback: StateCallback) -> None:
        self._store: NotifyingStateStore | None = store
        self.prefix = prefix
        self.keys: tuple[str, ...] = parse_path(prefix) if prefix else ()
        self.callback = callback
        self.reported = False

    def matches(self, keys: tuple[str, ...]) -> bool:
        """Whether a change at ``keys`` changes the branch this subscriber watches."""
        n = min(len(keys), len(self.keys))
        return keys[:n] == self.keys[:n]

    def cancel(self) -> None:
        """Stop the notifications; calling it again does nothing."""
        store, self._store = self._store, None
        if store is not None:
            store._unsubscribe(self)

    @property
    def active(self) -> bool:
        """False once cancelled."""
        return self._store is not None

    def __repr__(self) -> str:
        return f"<Subscription prefix={self.prefix!r} active={self.active}>"


class NotifyingStateStore(StateStoreProtocol):
    """The kernel's thread-safe dot-path store, with ``subscribe`` and ``snapshot``."""

    def __init__(self) -> None:
        self._mutex = threading.RLock()
        self._tree: dict[str, Any] = {}
        self._subscriptions: tuple[Subscription, ...] = ()
        self._pending: deque[tuple[str, Any, tuple[Subscription, ...]]] = deque()
        self._delivering = threading.Lock()

    # -- the kernel's protocol -----------------------------------------------------------

    def get(self, path: str, default: Any = None) -> Any:
        """The value at ``path``, or ``default`` when nothing is there."""
        keys = parse_path(path)
        with self._mutex:
            node: Any = self._tree
            for key in keys:
                if not isinstance(node, dict) or key not in node:
                    return default
                node = node[key]
            return node

    def set(self, path: str, value: Any) -> None:
        """Store ``value`` at ``path`` (creating the branches), then notify subscribers."""
        keys = parse_path(path)
        with self._mutex:
            self._branch(keys)[keys[-1]] = value
            if self._subscriptions:
                self._queue(path, keys, value)
        if self._pending:
            self._deliver()

    def update(self, path: str, fn: Callable[[Any], Any]) -> Any:
        """Replace the value at ``path`` with ``fn(old)`` atomically; return the new value."""
        keys = parse_path(path)
        with self._mutex:
            branch = self._branch(keys)
            new = fn(branch.get(keys[-1]))
            branch[keys[-1]] = new
            if self._subscriptions:
                self._queue(path, keys, new)
        if self._pending:
            self._deliver()
        return new

    # -- observation ---------------------------------------------------------------------

    def subscribe(self, prefix: str, callback: StateCallback) -> Subscription:
        """Call ``callback(path, value)`` after each change at, under or above ``prefix``.

        ``prefix=""`` watches everything. Setting ``"a"`` notifies a subscriber of ``"a.b"``
        (its branch was replaced) with ``path="a"`` and the new value of ``"a"``.
        """
        subscription = Subscription(self, prefix, callback)
        with self._mutex:
            self._subscriptions = (*self._subscriptions, subscription)
        return subscription

    def snapshot(self, prefix: str = "") -> dict[str, Any]:
        """A copy of the tree; with ``prefix``, only that branch, keyed from the root.

        ``snapshot("greenhouse")`` is ``{"greenhouse": {...}}`` (or ``{}`` when nothing is
        there). Branches are copied; the values in them are shared, not copied.
        """
        keys = parse_path(prefix) if prefix else ()
        with self._mutex:
            node: Any = self._tree
            for key in keys:
                if not isinstance(node, dict) or key not in node:
                    return {}
                node = node[key]
            copied = _copy_tree(node)
        for key in reversed(keys):
            copied = {key: copied}
        return copied if isinstance(copied, dict) else {}

    def restore(self, tree: dict[str, Any]) -> None:
        """Replace the whole tree with a copy of ``tree`` (a ``snapshot()``), then notify.

        Every subscriber is notified once with ``path=""`` and the new tree: what was there
        before is gone. A replay uses it to put the state back as it was at its start before
        it plays the recording again (a backward seek, a loop).
        """
        copied = _copy_tree(tree)
        if not isinstance(copied, dict):
            raise TypeError(f"restore() takes a dict (a snapshot()), not {type(tree).__name__}")
        with self._mutex:
            self._tree = copied
            if self._subscriptions:
                self._pending.append(("", _copy_tree(copied), self._subscriptions))
        if self._pending:
            self._deliver()

    # -- internals -----------------------------------------------------------------------

    def _branch(self, keys: tuple[str, ...]) -> dict[str, Any]:
        node = self._tree
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise TypeError(f"Path conflict at '{key}'")
            node = child
        return node

    def _queue(self, path: str, keys: tuple[str, ...], value: Any) -> None:
        # Under the mutex: the queue's order is the order of the changes.
        matching = tuple(s for s in self._subscriptions if s.matches(keys))
        if matching:
            self._pending.append((path, value, matching))

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._mutex:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)

    def _deliver(self) -> None:
        # One thread at a time drains the queue; the others return at once (their change is
        # delivered by that thread, in order). Checking the queue again after releasing covers
        # a change queued just as the delivering thread finished.
        while self._pending:
            if not self._delivering.acquire(blocking=False):
                return
            try:
                while True:
                    try:
                        path, value, subscriptions = self._pending.popleft()
                    except IndexError:
                        break
                    for subscription in subscriptions:
                        if subscription.active:
                            self._notify(subscription, path, value)
            finally:
                self._delivering.release()

    @staticmethod
    def _notify(subscription: Subscription, path: str, value: Any) -> None:
        try:
            subscription.callback(path, value)
        except Exception as exc:
            if not subscription.reported:
                subscription.reported = True
                name = getattr(subscription.callback, "__qualname__", repr(subscription.callback))
                report(
                    f"bussdcc: state subscriber {name} (prefix {subscription.prefix!r}) failed on "
                    f"{path!r}: {describe(exc)}; later failures are not reported"
                )


def _copy_tree(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _copy_tree(value) for key, value in node.items()}
    return node
