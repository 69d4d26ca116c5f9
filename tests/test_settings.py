"""Plugin settings: declared by plugins, read from ``BUSSDCC_<PLUGIN>_<SETTING>`` and ``--set``."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from bussdcc_framework.settings import (
    Setting,
    SettingDeclarationError,
    SettingError,
    Settings,
    env_bool,
    parse_assignment,
    parse_bool,
)

DECLARING = """
from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting

@hookimpl
def register_settings():
    return [
        Setting("my-sensor", "port", "int", 5000, "TCP port of the sensor"),
        Setting("my-sensor", "label", "str", "lab", "Name shown in logs"),
        Setting("my-sensor", "fast", "bool", False, "Poll quickly"),
    ]
"""


@pytest.fixture
def sensor(site: Any) -> Any:
    return site.add("bussdcc-test-sensor", DECLARING, entry_point="my-sensor")


def settings_json(result: Any) -> dict[str, dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    return {s["key"]: s for s in json.loads(result.stdout)}


# -- through the CLI, with real environment variables ----------------------------------------


def test_settings_show_value_and_source(sensor: Any, run_cli: Any) -> None:
    result = run_cli(
        "settings",
        "--json",
        "--set",
        "my-sensor.label=bench",
        env={"BUSSDCC_PLUGINS": "my-sensor", "BUSSDCC_MY_SENSOR_PORT": "6001"},
    )
    settings = settings_json(result)
    assert settings["my-sensor.port"] == {
        "key": "my-sensor.port",
        "value": 6001,
        "source": "environment",
        "env": "BUSSDCC_MY_SENSOR_PORT",
        "type": "int",
        "help": "TCP port of the sensor",
    }
    assert (settings["my-sensor.label"]["value"], settings["my-sensor.label"]["source"]) == (
        "bench",
        "override",
    )
    assert (settings["my-sensor.fast"]["value"], settings["my-sensor.fast"]["source"]) == (False, "default")


def test_settings_table(sensor: Any, run_cli: Any) -> None:
    result = run_cli("settings", env={"BUSSDCC_PLUGINS": "my-sensor", "BUSSDCC_MY_SENSOR_FAST": "yes"})
    assert result.returncode == 0, result.stderr
    header, rule, *rows = result.stdout.splitlines()
    assert header.split() == ["setting", "value", "source", "variable", "help"]
    assert set(rule) <= {"-", " "}
    assert rows[0].split()[:4] == ["my-sensor.port", "5000", "default", "BUSSDCC_MY_SENSOR_PORT"]
    assert rows[2].split()[:4] == ["my-sensor.fast", "True", "environment", "BUSSDCC_MY_SENSOR_FAST"]


def test_override_beats_environment_beats_default(sensor: Any, run_cli: Any) -> None:
    env = {"BUSSDCC_PLUGINS": "my-sensor", "BUSSDCC_MY_SENSOR_PORT": "6001"}
    assert (
        settings_json(run_cli("settings", "--json", "--set", "my-sensor.port=7002", env=env))[
            "my-sensor.port"
        ]["value"]
        == 7002
    )
    empty = {**env, "BUSSDCC_MY_SENSOR_PORT": ""}  # empty means unset
    assert settings_json(run_cli("settings", "--json", env=empty))["my-sensor.port"] == {
        "key": "my-sensor.port",
        "value": 5000,
        "source": "default",
        "env": "BUSSDCC_MY_SENSOR_PORT",
        "type": "int",
        "help": "TCP port of the sensor",
    }


def test_invalid_environment_value_names_the_variable_and_type(sensor: Any, run_cli: Any) -> None:
    for command in (["settings"], ["run"]):
        result = run_cli(*command, env={"BUSSDCC_PLUGINS": "my-sensor", "BUSSDCC_MY_SENSOR_PORT": "fifty"})
        assert result.returncode == 2
        assert result.stderr.strip() == (
            "bussdcc: error: BUSSDCC_MY_SENSOR_PORT=fifty is not valid: expected an integer, e.g. 5000"
        )


def test_invalid_boolean_setting_lists_accepted_values(sensor: Any, run_cli: Any) -> None:
    result = run_cli("settings", env={"BUSSDCC_PLUGINS": "my-sensor", "BUSSDCC_MY_SENSOR_FAST": "sometimes"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bussdcc: error: BUSSDCC_MY_SENSOR_FAST=sometimes is not valid: "
        "expected a boolean (1/true/yes/on or 0/false/no/off)"
    )


def test_invalid_set_value_names_the_option(sensor: Any, run_cli: Any) -> None:
    result = run_cli("run", "--set", "my-sensor.port=x1", env={"BUSSDCC_PLUGINS": "my-sensor"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bussdcc: error: --set my-sensor.port=x1 is not valid: expected an integer, e.g. 5000"
    )


def test_unknown_set_key_suggests_or_lists_known_settings(sensor: Any, run_cli: Any) -> None:
    result = run_cli("settings", "--set", "my-sensor.prot=1", env={"BUSSDCC_PLUGINS": "my-sensor"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bussdcc: error: --set my-sensor.prot=1: unknown setting my-sensor.prot; did you mean "
        "my-sensor.port? (bussdcc settings lists every setting)"
    )
    far = run_cli("settings", "--set", "my-sensor.colour=red", env={"BUSSDCC_PLUGINS": "my-sensor"})
    assert far.returncode == 2
    assert far.stderr.strip() == (
        "bussdcc: error: --set my-sensor.colour=red: unknown setting my-sensor.colour; the settings "
        "of my-sensor are my-sensor.fast, my-sensor.label, my-sensor.port"
    )
    malformed = run_cli("settings", "--set", "port", env={"BUSSDCC_PLUGINS": "my-sensor"})
    assert malformed.returncode == 2
    assert "expected PLUGIN.SETTING=VALUE" in malformed.stderr


def test_no_settings_declared(run_cli: Any) -> None:
    result = run_cli("settings", env={"BUSSDCC_PLUGINS": ""})
    assert result.returncode == 0
    assert result.stdout.strip() == "no settings declared by the loaded plugins"


# -- the settings model ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("int", "42", 42),
        ("float", "1.5", 1.5),
        ("bool", "Yes", True),
        ("bool", "off", False),
        ("path", "/data/events", Path("/data/events")),
        ("list", " a, b ,,c ", ("a", "b", "c")),
        ("size", "64k", 65536),
        ("size", "1.5G", int(1.5 * 1024**3)),
        ("duration", "10m", 600.0),
        ("duration", "7d", 604800.0),
    ],
)
def test_setting_types_parse(kind: Any, raw: str, value: Any) -> None:
    setting = Setting("p", "x", kind)
    assert setting.parse(raw) == value


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("int", "1.5", "an integer"),
        ("bool", "2", "a boolean"),
        ("size", "10 parsecs", "a size in bytes"),
        ("duration", "soon", "a duration, e.g. 600, 30s"),
    ],
)
def test_setting_errors_name_variable_and_expected_type(kind: Any, raw: str, expected: str) -> None:
    setting = Setting("web-ui", "x", kind)
    with pytest.raises(SettingError) as info:
        Settings.from_declarations([setting], environ={"BUSSDCC_WEB_UI_X": raw})
    shown = shlex.quote(raw)
    assert str(info.value).startswith(f"BUSSDCC_WEB_UI_X={shown} is not valid: expected {expected}")


def test_choices_are_enforced() -> None:
    setting = Setting("console", "format", "str", "text", choices=("text", "json"))
    assert Settings.from_declarations([setting], {"console.format": "json"})["console.format"] == "json"
    with pytest.raises(
        SettingError,
        match=r"--set console.format=xml is not valid: "
        r"expected one of text, json",
    ):
        Settings.from_declarations([setting], {"console.format": "xml"})


def test_unknown_setting_type_is_rejected_when_declared() -> None:
    with pytest.raises(SettingDeclarationError, match=re.escape("setting p.x: unknown type 'complex'")):
        Setting("p", "x", "complex")  # type: ignore[arg-type]


def test_settings_access() -> None:
    settings = Settings.from_declarations(
        [Setting("jsonl", "dir", "path", Path("events")), Setting("jsonl", "fsync", "bool", False)],
        environ={"BUSSDCC_JSONL_FSYNC": "1"},
    )
    assert settings.for_plugin("jsonl") == {"dir": Path("events"), "fsync": True}
    assert "jsonl.dir" in settings and "web.port" not in settings
    assert settings.get("web.port", 5000) == 5000
    with pytest.raises(KeyError, match=re.escape("no plugin declares the setting 'web.port'")):
        settings["web.port"]
    assert [(r.setting.key, r.source) for r in settings.resolved()] == [
        ("jsonl.dir", "default"),
        ("jsonl.fsync", "environment"),
    ]


def test_booleans_are_parsed_strictly() -> None:
    assert parse_bool(" TRUE ") is True and parse_bool("no") is False
    with pytest.raises(SettingError, match=re.escape("BUSSDCC_X='0.0' is not a boolean")):
        env_bool("BUSSDCC_X", environ={"BUSSDCC_X": "0.0"})
    assert env_bool("BUSSDCC_X", default=True, environ={}) is True
    assert env_bool("BUSSDCC_X", default=True, environ={"BUSSDCC_X": " "}) is True


def test_env_bool_reads_the_process_environment_by_default_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUSSDCC_X", " Yes ")
    assert env_bool("BUSSDCC_X") is True
    monkeypatch.setenv("BUSSDCC_X", "off")
    assert env_bool("BUSSDCC_X", default=True) is False
    monkeypatch.setenv("BUSSDCC_X", "")
    assert env_bool("BUSSDCC_X", default=True) is True and env_bool("BUSSDCC_X") is False
    monkeypatch.delenv("BUSSDCC_X")
    assert env_bool("BUSSDCC_X") is False
    with pytest.raises(SettingError) as info:
        env_bool("BUSSDCC_X", environ={"BUSSDCC_X": "maybe"})
    assert str(info.value) == (
        "BUSSDCC_X='maybe' is not a boolean; use one of 1/true/yes/on or 0/false/no/off"
    )


def test_parse_assignment() -> None:
    assert parse_assignment("jsonl.dir=/a=b") == ("jsonl.dir", "/a=b")
    with pytest.raises(SettingError, match=re.escape("expected PLUGIN.SETTING=VALUE")):
        parse_assignment("dir=/a")


def test_a_bad_assignment_is_shown_as_typed_after_set() -> None:
    for text, shown in [("jsonl.dir", "--set jsonl.dir"), ("dir=/a b", "--set 'dir=/a b'")]:
        with pytest.raises(SettingError) as info:
            parse_assignment(text)
        assert str(info.value) == (
            f"{shown} is not valid: expected PLUGIN.SETTING=VALUE, e.g. jsonl.dir=./events"
        )


def test_the_same_setting_declared_twice_alike_is_not_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bussdcc_framework.settings import Setting, Settings

    # two equal declarations (e.g. a shared module imported by two plugins): nothing to say
    settings = Settings.from_declarations(
        [Setting("demo", "port", "int", 1), Setting("demo", "port", "int", 1)], environ={}
    )
    assert settings.get("demo.port") == 1
    assert capsys.readouterr().err == ""


def test_a_setting_declared_twice_keeps_the_first_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bussdcc_framework.settings import Setting, Settings

    first = Setting("demo", "port", "int", 1, "the first")
    clash = Setting("demo", "port", "str", "x", "the second")
    settings = Settings.from_declarations([first, clash, first], environ={})
    assert settings.get("demo.port") == 1
    err = capsys.readouterr().err
    assert err.count("declared twice") == 1
    assert "demo.port" in err and "BUSSDCC_DEMO_PORT" in err
