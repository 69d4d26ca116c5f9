"""What an application or plugin author calls on the runtime: message types and replay awareness."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from bussdcc.message import Message

from bussdcc_framework.runtime import Runtime, is_replaying


@dataclass(slots=True, frozen=True)
class Opened(Message):
    vent: int


@dataclass(slots=True, frozen=True)
class Closed(Message):
    vent: int


def test_add_message_types_declares_types_in_order_once() -> None:
    runtime = Runtime()
    assert runtime.message_types == []
    runtime.add_message_types(Opened, Closed)
    runtime.add_message_types(Opened)
    assert runtime.message_types == [Opened, Closed]
    runtime.message_types.clear()  # a copy
    assert runtime.message_types == [Opened, Closed]


@pytest.mark.parametrize("wrong", [Opened(1), int, Message, "Opened"])
def test_add_message_types_rejects_what_is_not_a_message_class(wrong: object) -> None:
    runtime = Runtime()
    with pytest.raises(TypeError, match="add_message_types"):
        runtime.add_message_types(Closed, wrong)  # type: ignore[arg-type]
    assert runtime.message_types == []  # all or nothing


def test_a_live_runtime_is_not_replaying() -> None:
    runtime = Runtime()
    assert runtime.replaying is False
    assert is_replaying(runtime.ctx) is False


def test_replay_runtime_is_replaying() -> None:
    replay = pytest.importorskip("bussdcc_framework_replay")
    runtime = replay.ReplayRuntime()
    assert runtime.replaying is True
    assert is_replaying(runtime.ctx) is True
