"""Bad units and bad numbers are refused by every typed setting, wherever the value comes from.

``test_settings_constraints.py`` covers the parsers and the duration and size settings; here
every type a setting can have meets the same bad text (``10min``, ``5x``, ``1e3s``, ``1e3``,
``nan``, negative numbers under a minimum, an empty ``--set``), from the environment and from
``--set``, and the one-line error names the source as the user wrote it and what is expected.
Text types keep any text as it is: nothing there is half-parsed into a number.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from bussdcc_framework.settings import Setting, SettingError, Settings

#: type -> (what the error says is expected, a valid default)
TYPED: dict[str, tuple[str, Any]] = {
    "int": ("an integer", 0),
    "float": ("a number", 0.0),
    "bool": ("a boolean", False),
    "size": ("a size in bytes", 0),
    "duration": ("a duration", 0.0),
}

BAD = ["10min", "5x", "1e3s", "1e3", "nan", "inf", "1,5", "0x10", "٣", "10 s s", " "]


def shown(raw: str) -> str:
    """How the error shows the value: shell-quoted, as the user would type it again."""
    return re.escape(shlex.quote(raw))


@pytest.mark.parametrize("kind", sorted(TYPED))
@pytest.mark.parametrize("raw", BAD)
def test_every_typed_setting_refuses_bad_text_from_the_environment_and_set(kind: Any, raw: str) -> None:
    what, default = TYPED[kind]
    setting = Setting("p", "x", kind, default)
    with pytest.raises(SettingError, match=rf"^BUSSDCC_P_X={shown(raw)} is not valid: expected {what}\b"):
        Settings.from_declarations([setting], environ={"BUSSDCC_P_X": raw})
    with pytest.raises(SettingError, match=rf"^--set p\.x={shown(raw)} is not valid: expected {what}\b"):
        Settings.from_declarations([setting], {"p.x": raw}, environ={})


@pytest.mark.parametrize("kind", sorted(TYPED))
def test_an_empty_set_is_an_error_for_every_typed_setting(kind: Any) -> None:
    what, default = TYPED[kind]
    with pytest.raises(SettingError, match=rf"^--set p\.x='' is not valid: expected {what}\b"):
        Settings.from_declarations([Setting("p", "x", kind, default)], {"p.x": ""}, environ={})


@pytest.mark.parametrize("kind", ["int", "float", "size", "duration"])
def test_negative_numbers_are_refused_under_a_minimum(kind: Any) -> None:
    what, _ = TYPED[kind]
    setting = Setting("p", "x", kind, 1, min=0)
    with pytest.raises(SettingError, match=rf"^BUSSDCC_P_X=-5 is not valid: expected {what} of at least 0"):
        Settings.from_declarations([setting], environ={"BUSSDCC_P_X": "-5"})
    with pytest.raises(SettingError, match=r"^--set p\.x=-1 is not valid"):
        Settings.from_declarations([setting], {"p.x": "-1"}, environ={})


@pytest.mark.parametrize("kind", ["size", "duration"])
def test_sizes_and_durations_are_never_negative(kind: Any) -> None:
    what, default = TYPED[kind]
    with pytest.raises(SettingError, match=rf"^BUSSDCC_P_X=-5 is not valid: expected {what}\b"):
        Settings.from_declarations([Setting("p", "x", kind, default)], environ={"BUSSDCC_P_X": "-5"})


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("str", "10min", "10min"),
        ("str", "1e3", "1e3"),
        ("path", "10min", Path("10min")),
        ("path", "5x/1e3s", Path("5x/1e3s")),
        ("list", "10min, 5x,,1e3s", ("10min", "5x", "1e3s")),
    ],
)
def test_text_settings_keep_the_text_as_written(kind: Any, raw: str, value: Any) -> None:
    setting = Setting("p", "x", kind)
    assert Settings.from_declarations([setting], environ={"BUSSDCC_P_X": raw})["p.x"] == value
    assert Settings.from_declarations([setting], {"p.x": raw}, environ={})["p.x"] == value


def test_good_values_of_every_typed_setting_still_parse() -> None:
    """The control: the same settings accept what they document."""
    good = {"int": ("-3", -3), "float": ("-.5", -0.5), "bool": ("ON", True), "size": ("64k", 65536)}
    good["duration"] = ("1h30m", 5400.0)
    for kind, (raw, value) in good.items():
        setting = Setting("p", "x", kind, TYPED[kind][1])
        assert Settings.from_declarations([setting], environ={"BUSSDCC_P_X": raw})["p.x"] == value, kind
