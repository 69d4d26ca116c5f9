"""Live state: pushed from the store's notifications, coalesced, for any observable store.

The web interface no longer samples the store nor reads its private tree: it subscribes
(``ObservableStateProtocol``). These tests use a store written here from scratch, with none of
the kernel's attributes, and a kernel store without the protocol.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
import socketio
from bussdcc.message.process import ProcessError
from bussdcc.state import StateStore
from bussdcc_framework_web.statewatch import MAX_LEAVES, StateMirror

from bussdcc_framework.runtime import Runtime
from bussdcc_framework.state import NotifyingStateStore, ObservableStateProtocol


class _Cancel:
    def __init__(self, action: Callable[[], None]) -> None:
        self._action = action

    def cancel(self) -> None:
        self._action()


class PlainObservableStore:
    """A store that implements the protocol and nothing else: no ``_state``, no ``_lock``."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.guard = threading.Lock()
        self.watchers: list[tuple[str, Callable[[str, Any], None]]] = []

    def get(self, path: str, default: Any = None) -> Any:
        node: Any = self.tree
        with self.guard:
            for key in path.split("."):
                if not isinstance(node, dict) or key not in node:
                    return default
                node = node[key]
        return node

    def set(self, path: str, value: Any) -> None:
        keys = path.split(".")
        with self.guard:
            node = self.tree
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = value
            watchers = list(self.watchers)
        for prefix, callback in watchers:
            if not prefix or path.startswith(prefix):
                callback(path, value)

    def update(self, path: str, fn: Callable[[Any], Any]) -> Any:
        value = fn(self.get(path))
        self.set(path, value)
        return value

    def subscribe(self, prefix: str, callback: Callable[[str, Any], None]) -> _Cancel:
        entry = (prefix, callback)
        self.watchers.append(entry)
        return _Cancel(lambda: self.watchers.remove(entry) if entry in self.watchers else None)

    def snapshot(self, prefix: str = "") -> dict[str, Any]:
        with self.guard:
            return msgspec.json.decode(msgspec.json.encode(self.tree))  # type: ignore[no-any-return]


def listen(url: str) -> tuple[socketio.Client, list[dict[str, Any]], list[dict[str, Any]]]:
    """A client keeping its snapshot and the state part of every batch."""
    snapshots: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    sio = socketio.Client(reconnection=False)

    @sio.on("snapshot")
    def on_snapshot(snap: dict[str, Any]) -> bool:
        snapshots.append(snap)
        return True

    @sio.on("batch")
    def on_batch(batch: dict[str, Any]) -> bool:
        if "state" in batch:
            changes.append(batch["state"])
        return True

    sio.connect(url, auth={"types": ["-*"]}, transports=["websocket"], wait_timeout=10)
    return sio, snapshots, changes


def close(sio: socketio.Client) -> None:
    threading.Thread(target=sio.disconnect, daemon=True).start()


def start(store: Any) -> Any:
    """A booted runtime built on ``store``, with a web interface on a free port."""
    from bussdcc_framework_web import WebInterface

    from bussdcc_framework.testing import MemorySink

    runtime = Runtime(state=store)
    sink = MemorySink()
    runtime.add_sink(sink)
    web = WebInterface(port=0)
    runtime.add_process(web)
    runtime.boot()
    return runtime, web, sink


@pytest.fixture
def runtimes() -> Any:
    started: list[Runtime] = []
    yield started
    for runtime in started:
        runtime.shutdown()


def test_any_observable_store_is_shown_and_pushed_without_private_reads(
    runtimes: list[Runtime], wait_until: Any
) -> None:
    store = PlainObservableStore()
    assert isinstance(store, ObservableStateProtocol)
    store.set("zone.kitchen.target", 20)
    runtime, web, _ = start(store)
    runtimes.append(runtime)
    sio, snapshots, changes = listen(web.url)
    try:
        wait_until(lambda: snapshots)
        assert snapshots[0]["state"] == {"zone.kitchen.target": 20}
        assert snapshots[0]["state_unavailable"] is None
        runtime.state.set("zone.kitchen.target", 23)
        runtime.state.set("zone.bath", {"target": 25, "open": False})
        wait_until(lambda: any(c["changes"].get("zone.bath.open") is False for c in changes))
        merged: dict[str, Any] = {}
        for change in changes:
            merged.update(change["changes"])
        assert merged["zone.kitchen.target"] == 23 and merged["zone.bath.target"] == 25
    finally:
        close(sio)


def test_a_burst_of_writes_is_coalesced_into_few_pushes(runtimes: list[Runtime], wait_until: Any) -> None:
    runtime, web, _ = start(NotifyingStateStore())
    runtimes.append(runtime)
    sio, snapshots, changes = listen(web.url)
    try:
        wait_until(lambda: snapshots)
        writes = 0
        for i in range(5000):
            runtime.state.set("counter", i)
            runtime.state.set(f"sensors.s{i % 50}", i)
            writes += 2
        wait_until(lambda: any(c["changes"].get("counter") == 4999 for c in changes), timeout=30)
        wait_until(lambda: any(c["changes"].get("sensors.s49") == 4999 for c in changes), timeout=30)
        # Each push carries the last value of every path written since the one before.
        assert len(changes) < writes / 20, len(changes)
        values = [c["changes"]["counter"] for c in changes if "counter" in c["changes"]]
        assert values == sorted(values)  # never an older value after a newer one
    finally:
        close(sio)


def test_a_store_without_the_protocol_is_said_so_and_nothing_breaks(
    runtimes: list[Runtime], wait_until: Any
) -> None:
    store = StateStore()  # the kernel's: get/set/update only
    runtime, web, sink = start(store)
    runtimes.append(runtime)
    runtime.state.set("a.b", 1)
    sio, snapshots, _ = listen(web.url)
    try:
        wait_until(lambda: snapshots)
        reason = snapshots[0]["state_unavailable"]
        assert "ObservableStateProtocol" in reason and "StateStore" in reason
        assert snapshots[0]["state"] == {}
        with urllib.request.urlopen(web.url + "state", timeout=30) as page:
            html = page.read().decode()
        assert "does not implement" in html and "ObservableStateProtocol" in html
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(web.url + "api/state", timeout=30)
        assert refused.value.code == 501
        # A single path can still be read through the kernel's own get().
        with urllib.request.urlopen(web.url + "api/state?path=a.b", timeout=30) as answer:
            assert answer.read() == b'{"path":"a.b","value":1}'
        runtime.state.set("a.b", 2)
        assert not sink.of_type(ProcessError)
    finally:
        close(sio)


def _mirror(store: NotifyingStateStore) -> tuple[StateMirror, list[tuple[dict[str, Any], list[str]]]]:
    pushed: list[tuple[dict[str, Any], list[str]]] = []

    def on_change(changes: dict[str, msgspec.Raw], removed: list[str]) -> None:
        pushed.append(({p: msgspec.json.decode(v) for p, v in changes.items()}, removed))

    mirror = StateMirror(store, on_change)
    mirror.attach()
    return mirror, pushed


def leaves(mirror: StateMirror, prefix: str = "") -> dict[str, Any]:
    found, _ = mirror.leaves(prefix=prefix)
    return {p: msgspec.json.decode(v) for p, v in found.items()}


def test_the_mirror_follows_replaced_branches_and_reports_removals() -> None:
    store = NotifyingStateStore()
    store.set("a.b.c", 1)
    store.set("a.b.d", 2)
    store.set("x", {})
    mirror, pushed = _mirror(store)
    assert leaves(mirror) == {"a.b.c": 1, "a.b.d": 2, "x": {}}
    store.set("a.b", {"c": 1, "e": 3})  # a branch replaced: d removed, e added, c unchanged
    mirror.poll()
    assert pushed[-1] == ({"a.b.e": 3}, ["a.b.d"])
    store.set("x.y", 5)  # an empty-dict leaf becomes a branch
    mirror.poll()
    assert pushed[-1] == ({"x.y": 5}, ["x"])
    store.set("a", 7)  # a branch becomes a leaf
    mirror.poll()
    assert pushed[-1] == ({"a": 7}, ["a.b.c", "a.b.e"])
    assert leaves(mirror) == {"a": 7, "x.y": 5}
    store.set("x.y", 5)  # the same value again: nothing to push
    mirror.poll()
    assert pushed[-1] == ({"a": 7}, ["a.b.c", "a.b.e"])
    assert leaves(mirror, "x") == {"x.y": 5} and leaves(mirror, "x.y") == {"x.y": 5}
    assert leaves(mirror, "a.b") == {}
    mirror.stop()


def test_the_mirror_keeps_at_most_max_leaves() -> None:
    store = NotifyingStateStore()
    store.set("many", {str(i): i for i in range(MAX_LEAVES + 500)})
    mirror, _ = _mirror(store)
    found, truncated = mirror.leaves()
    assert len(found) == MAX_LEAVES and truncated
    small, cut = mirror.leaves(budget=1000)
    assert 0 < len(small) < 200 and cut
    mirror.stop()
