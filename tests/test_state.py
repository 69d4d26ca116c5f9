"""NotifyingStateStore: the kernel's store contract, plus subscribe and snapshot."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from bussdcc.state import StateStore

from bussdcc_framework.runtime import Runtime
from bussdcc_framework.state import NotifyingStateStore, ObservableStateProtocol


def recorder() -> tuple[list[tuple[str, Any]], Any]:
    """A callback that keeps a copy of what it was told (values are shared with the store)."""
    seen: list[tuple[str, Any]] = []
    return seen, lambda path, value: seen.append((path, copy.deepcopy(value)))


def test_get_set_update_behave_like_the_kernel_store() -> None:
    for store in (NotifyingStateStore(), StateStore()):
        store.set("a.b.c", 1)
        assert store.get("a.b.c") == 1
        assert store.get("a.b.missing", "dflt") == "dflt"
        assert store.get("a.b.c.d") is None
        assert store.update("a.n", lambda old: (old or 0) + 5) == 5
        assert store.get("a.n") == 5
        with pytest.raises(TypeError, match="Path conflict at 'c'"):
            store.set("a.b.c.d", 2)
        with pytest.raises(ValueError, match=r"^path cannot be empty$"):
            store.get("")


def test_subscribers_see_changes_at_under_and_above_their_prefix_only() -> None:
    store = NotifyingStateStore()
    seen, callback = recorder()
    store.subscribe("greenhouse.temp", callback)
    store.set("greenhouse.temp", {"now": 21.5})  # at
    store.set("greenhouse.temp.max", 30)  # under
    store.set("greenhouse", {"temp": 19})  # above: the branch was replaced
    store.set("greenhouse.temperature", 1)  # a sibling that shares the text prefix
    store.set("garden.temp", 3)
    store.update("greenhouse.temp", lambda old: 22)
    assert seen == [
        ("greenhouse.temp", {"now": 21.5}),
        ("greenhouse.temp.max", 30),
        ("greenhouse", {"temp": 19}),
        ("greenhouse.temp", 22),
    ]


def test_the_empty_prefix_sees_everything_and_cancel_stops() -> None:
    store = NotifyingStateStore()
    seen, callback = recorder()
    subscription = store.subscribe("", callback)
    store.set("x", 1)
    store.set("y.z", 2)
    subscription.cancel()
    subscription.cancel()  # idempotent
    store.set("x", 3)
    assert seen == [("x", 1), ("y.z", 2)]
    assert not subscription.active


def test_callbacks_run_outside_the_lock() -> None:
    store = NotifyingStateStore()
    read_from_other_thread: list[Any] = []

    def callback(path: str, value: Any) -> None:
        # Another thread can use the store while a callback runs: the lock is not held.
        reader = threading.Thread(target=lambda: read_from_other_thread.append(store.get(path)))
        reader.start()
        reader.join(timeout=10)
        assert not reader.is_alive(), "the store's lock is held while a callback runs"

    store.subscribe("a", callback)
    store.set("a", 1)
    assert read_from_other_thread == [1]


def test_a_callback_that_writes_is_notified_after_it_returns_in_order() -> None:
    store = NotifyingStateStore()
    events: list[str] = []

    def callback(path: str, value: Any) -> None:
        events.append(f"start {path}={value}")
        if path == "count" and value < 3:
            store.set("count", value + 1)  # no recursion: delivered after this returns
        events.append(f"end {path}={value}")

    store.subscribe("count", callback)
    store.set("count", 1)
    assert events == [
        "start count=1",
        "end count=1",
        "start count=2",
        "end count=2",
        "start count=3",
        "end count=3",
    ]


def test_notifications_keep_the_order_of_changes_across_threads() -> None:
    store = NotifyingStateStore()
    seen: list[int] = []
    store.subscribe("counter", lambda path, value: seen.append(value))
    threads = [
        threading.Thread(target=lambda: [store.update("counter", lambda v: (v or 0) + 1) for _ in range(500)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == list(range(1, 2001))


def test_a_failing_subscriber_is_reported_once_and_isolated(capsys: pytest.CaptureFixture[str]) -> None:
    store = NotifyingStateStore()
    seen, callback = recorder()

    def broken(path: str, value: Any) -> None:
        raise RuntimeError("display bug")

    store.subscribe("", broken)
    store.subscribe("", callback)
    store.set("a", 1)
    store.set("a", 2)
    assert seen == [("a", 1), ("a", 2)]
    assert store.get("a") == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "state subscriber" in lines[0] and "broken" in lines[0] and "RuntimeError: display bug" in lines[0]


def test_snapshot_copies_the_tree_or_a_branch() -> None:
    store = NotifyingStateStore()
    store.set("greenhouse.temp", 21.5)
    store.set("greenhouse.fan.on", True)
    store.set("app.version", "1.0")
    whole = store.snapshot()
    assert whole == {"greenhouse": {"temp": 21.5, "fan": {"on": True}}, "app": {"version": "1.0"}}
    whole["greenhouse"]["fan"]["on"] = False  # a copy: the store is unchanged
    assert store.get("greenhouse.fan.on") is True
    assert store.snapshot("greenhouse.fan") == {"greenhouse": {"fan": {"on": True}}}
    assert store.snapshot("app.version") == {"app": {"version": "1.0"}}
    assert store.snapshot("nothing.here") == {}
    assert store.snapshot("app.version.deeper") == {}


def test_the_runtime_uses_a_notifying_store_by_default() -> None:
    runtime = Runtime()
    assert isinstance(runtime.state, NotifyingStateStore)
    assert isinstance(runtime.state, ObservableStateProtocol)
    assert runtime.ctx.state is runtime.state
    seen, callback = recorder()
    runtime.state.subscribe("app", callback)
    runtime.ctx.state.set("app.mode", "auto")
    assert seen == [("app.mode", "auto")]
    own = StateStore()
    assert Runtime(state=own).state is own
    assert not isinstance(own, ObservableStateProtocol)


def test_restore_puts_a_snapshot_back_whole_and_notifies_once() -> None:
    store = NotifyingStateStore()
    store.set("a.b", 1)
    store.set("keep.list", [1, 2])
    saved = store.snapshot()
    store.set("a.b", 2)
    store.set("a.new", 3)
    store.set("added", {"x": 1})
    seen, callback = recorder()
    store.subscribe("a.b", callback)
    store.restore(saved)
    assert store.snapshot() == {"a": {"b": 1}, "keep": {"list": [1, 2]}}
    assert store.get("added") is None and store.get("a.new") is None
    assert seen == [("", {"a": {"b": 1}, "keep": {"list": [1, 2]}})]
    # the store holds its own branches: changing the snapshot later changes nothing
    saved["a"]["b"] = 99
    assert store.get("a.b") == 1
    with pytest.raises(TypeError):
        store.restore(["not", "a", "tree"])  # type: ignore[arg-type]
