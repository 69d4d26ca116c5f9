"""``cut`` (what the server shows) and ``jsoninput`` (what it accepts), on their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import msgspec
import pytest
from bussdcc_framework_web.cut import MAX_DEPTH, cut, depth_exceeds
from bussdcc_framework_web.jsoninput import MAX_DEPTH as INPUT_DEPTH
from bussdcc_framework_web.jsoninput import JSONInputError, decode
from hypothesis import given, settings
from hypothesis import strategies as st


def nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


def test_a_flat_event_is_returned_as_is() -> None:
    data = {"zone": "kitchen", "celsius": 21.5, "on": True, "note": None}
    assert cut(data) is data


def test_strings_items_depth_and_budget_are_bounded() -> None:
    assert cut("x" * 2500) == "x" * 2000 + "… (500 more characters)"
    assert cut(list(range(250)))[-1] == "… (50 more items)"
    assert cut({str(i): i for i in range(250)})["…"] == "(50 more keys)"
    shown = msgspec.json.encode(cut(nested(5000)))
    assert b"nested deeper than 32 levels" in shown and shown.count(b"[") == MAX_DEPTH
    wide = cut([{"k": "v" * 1500} for _ in range(200)])
    assert len(msgspec.json.encode(wide)) < 70_000
    assert "larger than the shown limit" in wide[-1]


def test_invalid_unicode_and_odd_objects_become_encodable() -> None:
    class Color(Enum):
        RED = "red"

    @dataclass
    class Point:
        x: int
        when: datetime

    value = {
        "\udcff": "a\ud800b",
        (1, 2): Color.RED,
        3: Point(1, datetime(2026, 1, 1, tzinfo=UTC)),
        "set": {1},
        "bytes": b"\x00",
    }
    shown = cut(value)
    assert shown["\\udcff"] == "a\\ud800b"
    assert shown["(1, 2)"] == "red" and shown["3"] == {"x": 1, "when": "2026-01-01T00:00:00Z"}
    assert shown["set"] == [1] and isinstance(shown["bytes"], str)
    msgspec.json.encode(shown)


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(st.characters(exclude_categories=()) | st.sampled_from(["\udcff", "\x1b"])),
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.text(st.characters(exclude_categories=())), children, max_size=5)
        ),
        max_leaves=40,
    )
)
def test_anything_cut_encodes(value: Any) -> None:
    msgspec.json.encode(cut(value))


def test_input_depth_limit_is_exact() -> None:
    at_limit = decode(b"[" * INPUT_DEPTH + b"]" * INPUT_DEPTH)  # accepted: exactly 64 levels
    assert depth_exceeds(at_limit, INPUT_DEPTH - 1) and not depth_exceeds(at_limit, INPUT_DEPTH)
    for levels in (INPUT_DEPTH + 1, 5000):
        with pytest.raises(JSONInputError) as refused:
            decode(b"[" * levels + b"]" * levels)
        assert refused.value.code == "too_deep"
    assert depth_exceeds({"a": [{"b": []}]}, 2) and not depth_exceeds({"a": [{"b": []}]}, 4)


@pytest.mark.parametrize("body", [b'"\\udcff"', b'"\\ud800x"', b'"\xff"', b"{", b"", b'{"a": 1} x', b"\x00"])
def test_input_that_is_not_strict_json_is_refused(body: bytes) -> None:
    with pytest.raises(JSONInputError) as refused:
        decode(body)
    assert refused.value.code == "bad_json" and str(refused.value).startswith("not valid JSON")


def test_a_surrogate_pair_is_fine() -> None:
    assert decode(b'"\\ud83d\\ude00"') == "\U0001f600"
