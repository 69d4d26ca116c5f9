"""Settings fail fast: declared constraints, strict parsers, one-line errors, did-you-mean.

The subprocess tests run the real ``bussdcc`` with the workspace plugins: every value a user
can get wrong (environment variable, ``--set`` key, option) stops ``run``, ``replay`` and
``settings`` with exit status 2 and exactly one line that repeats it as typed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bussdcc_framework import settings as settings_module
from bussdcc_framework.settings import (
    Override,
    ResolvedSetting,
    Setting,
    SettingDeclarationError,
    SettingError,
    Settings,
    format_duration,
    format_size,
    known_variables,
    parse_bool,
    parse_duration,
    parse_float,
    parse_int,
    parse_size,
    unknown_key_message,
    unknown_variables,
    values_of,
)

# -- strict parsers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("600", 600.0),
        ("0.5", 0.5),
        (".5", 0.5),
        ("30s", 30.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("7d", 604800.0),
        (" 12H ", 43200.0),
        ("0", 0.0),
    ],
)
def test_durations_parse(raw: str, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize(
    "raw", ["10min", "5x", "1e3s", "", " ", "-5", "-5s", "+5s", "nan", "inf", "10 m s", "m"]
)
def test_bad_durations_are_errors(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(raw)


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("500", 500),
        ("64k", 65536),
        ("10MB", 10 * 1024**2),
        ("1.5G", int(1.5 * 1024**3)),
        ("2GiB", 2 * 1024**3),
    ],
)
def test_sizes_parse(raw: str, size: int) -> None:
    assert parse_size(raw) == size


@pytest.mark.parametrize("raw", ["5x", "-1", "", "1e3", "10 parsecs", "k", "nan"])
def test_bad_sizes_are_errors(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_size(raw)


def test_numbers_are_strict() -> None:
    assert parse_int(" 42 ") == 42 and parse_int("-3") == -3
    for raw in ("1_000", "1e3", "1.0", "", "0x10", "٣"):
        with pytest.raises(ValueError):
            parse_int(raw)
    assert parse_float("1.5") == 1.5 and parse_float("-.5") == -0.5
    for raw in ("nan", "inf", "-inf", "1e3", ""):
        with pytest.raises(ValueError):
            parse_float(raw)


def test_a_boolean_parsed_alone_names_the_value_in_its_error() -> None:
    with pytest.raises(SettingError) as info:
        parse_bool("maybe")
    assert str(info.value) == "value='maybe' is not a boolean; use one of 1/true/yes/on or 0/false/no/off"


def test_each_parser_error_carries_the_text_as_typed() -> None:
    # The setting's message is built elsewhere; the ValueError keeps the raw text for callers
    # that use the parsers alone.
    for parser, raw in [
        (parse_int, " 1.5 "),
        (parse_float, " nan "),
        (parse_size, "5x"),
        (parse_duration, "10min"),
    ]:
        with pytest.raises(ValueError) as info:
            parser(raw)
        assert info.value.args == (raw,), parser


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (2 * 1024**4, "2T"),
        (3 * 1024**3, "3G"),
        (5 * 1024**2, "5M"),
        (1536 * 1024**2, "1536M"),
        (64 * 1024, "64k"),
        (1024, "1k"),
        (1024**2, "1M"),
        (1000, "1000"),
        (1.5, "1.5"),
        ((2**53 + 1) * 1024**4, f"{2**53 + 1}T"),  # exact for any integer, not through a float
    ],
)
def test_sizes_are_shown_in_the_largest_exact_binary_unit(size: float, shown: str) -> None:
    assert format_size(size) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (2 * 86400, "2d"),
        (86400, "1d"),
        (3 * 3600, "3h"),
        (3600, "1h"),
        (60, "1m"),
        (600, "10m"),
        (5400, "90m"),
        (90, "90s"),
        (0.5, "0.5s"),
        ((2**53 + 1) * 86400, f"{2**53 + 1}d"),  # exact for any integer, not through a float
    ],
)
def test_durations_are_shown_in_the_largest_exact_unit(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_number_bounds_in_messages_are_shown_as_written() -> None:
    assert Setting("p", "ratio", "float", 0.75, min=0.5, max=1.0).expected == "a number from 0.5 to 1"
    assert Setting("p", "ratio", "float", 0.75, min=0.0).expected == "a number of at least 0"
    assert Setting("p", "count", "int", 5, max=10).expected == "an integer of at most 10"


def test_a_number_setting_refuses_a_boolean_from_python() -> None:
    # True is an int in Python; as a ratio or a port it is a mistake, not 1.
    ratio = Setting("p", "ratio", "float", 0.5)
    with pytest.raises(SettingError, match=r"^p\.ratio=True is not valid: expected a number, e.g\. 1\.5$"):
        ratio.check(True)
    with pytest.raises(SettingError, match=r"^p\.port=True is not valid: expected an integer"):
        Setting("p", "port", "int", 1).check(True)
    assert ratio.check(1) == 1.0 and isinstance(ratio.check(1), float)


def test_bounds_in_messages_are_shown_with_units() -> None:
    size = Setting("jsonl", "max_bytes", "size", 1024**2, min=64 * 1024, max=2 * 1024**4)
    assert size.expected == "a size in bytes from 64k to 2T, e.g. 500, 64k, 10MB"
    duration = Setting("jsonl", "keep", "duration", 3600, min=90, max=7 * 86400)
    assert duration.expected == "a duration from 90s to 7d, e.g. 600, 30s, 10m, 7d"


@pytest.mark.parametrize("kind", ["duration", "size"])
@pytest.mark.parametrize("raw", ["10min", "5x", "1e3s", "-5"])
def test_every_duration_and_size_setting_refuses_bad_text(kind: Any, raw: str) -> None:
    setting = Setting("p", "x", kind, 0)
    with pytest.raises(SettingError, match=f"^BUSSDCC_P_X={raw} is not valid: expected a "):
        Settings.from_declarations([setting], environ={"BUSSDCC_P_X": raw})
    with pytest.raises(SettingError, match=rf"^--set p\.x={raw} is not valid"):
        Settings.from_declarations([setting], {"p.x": raw}, environ={})
    with pytest.raises(SettingError, match=r"^--set p\.x='' is not valid"):
        Settings.from_declarations([setting], {"p.x": ""}, environ={})


# -- constraints ------------------------------------------------------------------------------


def test_min_and_max_bound_numbers_and_say_so() -> None:
    port = Setting("web", "port", "int", 5000, min=0, max=65535)
    assert port.expected == "an integer from 0 to 65535"
    assert port.parse("0") == 0 and port.parse("65535") == 65535
    for raw in ("70000", "99999", "-1", "abc"):
        with pytest.raises(SettingError) as info:
            port.parse(raw)
        assert str(info.value) == f"BUSSDCC_WEB_PORT={raw} is not valid: expected an integer from 0 to 65535"
    assert Setting("q", "n", "int", 5, min=1).expected == "an integer of at least 1"
    assert Setting("q", "n", "float", 0.5, max=1).expected == "a number of at most 1"
    size = Setting("q", "s", "size", "1M", min=1024, max=1024**3)
    assert size.expected == "a size in bytes from 1k to 1G, e.g. 500, 64k, 10MB"
    with pytest.raises(SettingError, match="expected a size in bytes from 1k to 1G"):
        size.parse("2G")
    age = Setting("q", "age", "duration", 0, min=0)
    assert age.expected == "a duration of at least 0s, e.g. 600, 30s, 10m, 7d"


def test_choices_accept_any_case_and_keep_the_declared_spelling() -> None:
    fmt = Setting("console", "format", "str", "json", choices=("json", "human"))
    assert fmt.parse("HUMAN") == "human"
    with pytest.raises(
        SettingError, match=r"^BUSSDCC_CONSOLE_FORMAT=xml is not valid: expected one of json, human$"
    ):
        fmt.parse("xml")
    fields = Setting("id", "hide", "list", (), choices=("serial", "hostname"))
    assert fields.parse("Serial, hostname") == ("serial", "hostname")
    with pytest.raises(
        SettingError, match="a comma-separated list of serial, hostname \\('mac' is not one of them\\)"
    ):
        fields.parse("serial,mac")


def test_a_validator_normalises_or_says_what_is_expected() -> None:
    def even(value: int) -> int:
        if value % 2:
            raise ValueError("an even number of slots")
        return value // 2

    slots = Setting("p", "slots", "int", 4, validator=even)
    assert slots.default == 2  # the default goes through the validator too
    assert slots.parse("8") == 4
    with pytest.raises(SettingError, match=r"^--slots 3 is not valid: expected an even number of slots$"):
        Settings.from_declarations([slots], {"p.slots": Override("3", "--slots 3")}, environ={})


def test_defaults_are_normalised_like_user_values() -> None:
    assert Setting("jsonl", "dir", "path", "events").default == Path("events")
    assert Setting("jsonl", "dir", "path", "events").parse("events") == Path("events")
    interval = Setting("jsonl", "interval", "duration", "10m")
    assert interval.default == 600.0 and isinstance(interval.default, float)
    assert Setting("p", "t", "duration", 2).default == 2.0
    assert Setting("p", "s", "size", "64k").default == 65536
    assert Setting("p", "l", "list", ["a", "b"]).default == ("a", "b")
    assert Setting("p", "token", "str", None).default is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "int", "default": 0, "min": 1}, "the default 0 is not an integer of at least 1"),
        ({"type": "str", "default": "xml", "choices": ("json",)}, "the default 'xml' is not one of json"),
        ({"type": "str", "default": "a", "min": 1}, "min/max apply to"),
        ({"type": "int", "default": 1, "choices": ("a",)}, "choices apply to str and list"),
        ({"type": "int", "default": 1, "min": 5, "max": 1}, "min 5 is above max 1"),
        ({"type": "int", "default": 1, "cli": "port"}, 'must look like "--port"'),
        ({"type": "int", "default": 1, "cli": "--a/--b"}, "only a bool option"),
        ({"type": "bool", "default": True, "implies": (("x", "1"),)}, "implies="),
        ({"type": "path", "default": 5}, "the default 5 is not a filesystem path"),
    ],
)
def test_a_bad_declaration_is_the_plugins_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingDeclarationError, match=message) as info:
        Setting("p", "x", **kwargs)
    assert not isinstance(info.value, SettingError)  # isolated as a plugin bug, not exit 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "int", "default": 1, "choices": ("a",)}, "choices apply to str and list settings, not int"),
        ({"type": "int", "default": 1, "min": 5, "max": 1}, "min 5 is above max 1"),
        (
            {"type": "int", "default": 1, "cli": "port"},
            'cli=\'port\' must look like "--port" (or "--on/--off" for a bool)',
        ),
        (
            {"type": "int", "default": 1, "cli": "--a/--b"},
            "cli='--a/--b': only a bool option has an --on/--off pair",
        ),
        (
            {"type": "bool", "default": True, "implies": (("x", "1"),)},
            "implies=(('x', '1'),): expected ((plugin.name, value), ...)",
        ),
        (
            {"type": "bool", "default": True, "implies": (("p.y", 1),)},
            "implies=(('p.y', 1),): expected ((plugin.name, value), ...)",
        ),
        (
            {"type": "bool", "default": True, "implies": (("p.y", "1", "2"),)},
            "implies=(('p.y', '1', '2'),): expected ((plugin.name, value), ...)",
        ),
        ({"type": "float", "default": 2.0, "max": 1.5}, "the default 2.0 is not a number of at most 1.5"),
    ],
)
def test_each_bad_declaration_says_exactly_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingDeclarationError) as info:
        Setting("p", "x", **kwargs)
    assert str(info.value) == f"setting p.x: {message}"


def test_a_bool_option_pair_with_implied_settings_is_a_valid_declaration() -> None:
    setting = Setting("p", "x", "bool", True, cli="--on/--off", implies=(("p.y", "1"),))
    assert setting.cli == "--on/--off" and setting.implies == (("p.y", "1"),)


def test_an_unknown_setting_type_lists_the_known_ones() -> None:
    with pytest.raises(SettingDeclarationError) as info:
        Setting("p", "x", "integer", 1)  # type: ignore[arg-type]
    assert str(info.value) == (
        "setting p.x: unknown type 'integer'; use one of str, int, float, bool, path, list, size, duration"
    )


def test_min_and_max_apply_to_numeric_types_only_and_may_be_equal() -> None:
    with pytest.raises(SettingDeclarationError) as info:
        Setting("p", "x", "str", "a", min=1)
    assert str(info.value) == "setting p.x: min/max apply to duration, float, int, size, not str"
    assert Setting("p", "x", "int", 3, min=3, max=3).expected == "an integer from 3 to 3"


def test_python_values_are_checked_too() -> None:
    port = Setting("web", "port", "int", 5000, min=0, max=65535)
    assert Settings.from_declarations([port], {"web.port": 0}, environ={})["web.port"] == 0
    with pytest.raises(SettingError, match=r"^web.port=70000 is not valid"):
        Settings.from_declarations([port], {"web.port": 70000}, environ={})
    with pytest.raises(SettingError, match=r"^web.port=True is not valid"):
        Settings.from_declarations([port], {"web.port": True}, environ={})
    ratio = Setting("p", "r", "float", 0.5)
    with pytest.raises(SettingError, match="is not valid: expected a number"):
        Settings.from_declarations([ratio], {"p.r": math.nan}, environ={})


def test_check_parses_text_and_checks_python_values_naming_the_setting() -> None:
    port = Setting("web", "port", "int", 5000, min=1, max=65535)
    assert port.check("8080") == 8080 and port.check(8080) == 8080
    with pytest.raises(SettingError) as info:
        port.check("70000")
    assert str(info.value) == "web.port='70000' is not valid: expected an integer from 1 to 65535"
    with pytest.raises(SettingError) as info:
        port.check(70000)
    assert str(info.value) == "web.port=70000 is not valid: expected an integer from 1 to 65535"
    with pytest.raises(SettingError) as info:
        port.check("x", origin="--port x")
    assert str(info.value) == "--port x is not valid: expected an integer from 1 to 65535"
    with pytest.raises(SettingError) as info:
        port.check(0, origin="App(port=0)")
    assert str(info.value) == "App(port=0) is not valid: expected an integer from 1 to 65535"
    with pytest.raises(SettingError) as info:
        port.parse_value(0, origin="App(port=0)")
    assert str(info.value) == "App(port=0) is not valid: expected an integer from 1 to 65535"


def test_a_str_setting_refuses_a_python_value_that_is_not_a_string() -> None:
    name = Setting("identity", "name", "str", "greenhouse")
    assert name.check("north") == "north"
    with pytest.raises(SettingError, match=r"^identity\.name=5 is not valid: expected a string$"):
        name.check(5)
    with pytest.raises(SettingDeclarationError, match="the default 5 is not a string"):
        Setting("identity", "name", "str", 5)


def test_settings_remember_the_environment_they_were_read_from() -> None:
    environ = {"BUSSDCC_WEB_PORT": "8080"}
    settings = Settings.from_declarations([Setting("web", "port", "int", 1)], environ=environ)
    assert settings.environ is environ and settings["web.port"] == 8080


def test_each_value_is_resolved_with_its_source_text_and_origin() -> None:
    port = Setting("web", "port", "int", 5000)
    cases: list[tuple[Any, dict[str, str], ResolvedSetting]] = [
        (
            {"web.port": Override("8080", "--port 8080")},
            {},
            ResolvedSetting(port, 8080, "override", "8080", "--port 8080"),
        ),
        ({"web.port": "8081"}, {}, ResolvedSetting(port, 8081, "override", "8081", "--set web.port=8081")),
        ({"web.port": 8082}, {}, ResolvedSetting(port, 8082, "override")),
        (
            {},
            {"BUSSDCC_WEB_PORT": "8083"},
            ResolvedSetting(port, 8083, "environment", "8083", "BUSSDCC_WEB_PORT=8083"),
        ),
        ({}, {"BUSSDCC_WEB_PORT": ""}, ResolvedSetting(port, 5000, "default")),
    ]
    for overrides, environ, resolved in cases:
        assert Settings.from_declarations([port], overrides, environ=environ).resolved() == [resolved]


def test_values_typed_by_users_are_shown_as_typed_and_printable() -> None:
    port = Setting("web", "port", "int", 5000, min=0, max=65535)
    with pytest.raises(SettingError) as info:
        Settings.from_declarations([port], environ={"BUSSDCC_WEB_PORT": "80 80"})
    assert str(info.value).startswith("BUSSDCC_WEB_PORT='80 80' is not valid")
    with pytest.raises(SettingError) as info:
        Settings.from_declarations([port], environ={"BUSSDCC_WEB_PORT": "\x1b[2J80"})
    assert "\x1b" not in str(info.value)
    assert str(info.value).startswith("BUSSDCC_WEB_PORT='\\x1b[2J80' is not valid")


def test_secret_values_are_masked_in_listings() -> None:
    token = Setting("web", "token", "str", None, secret=True)
    assert token.shown("s3cret-token") == "***" and token.shown(None) is None


def test_an_empty_secret_is_shown_empty_not_masked() -> None:
    # "***" would suggest a token is set when none is.
    token = Setting("web", "token", "str", None, secret=True)
    assert token.shown("") == ""
    assert Setting("web", "host", "str", "h").shown("x") == "x"


def test_values_of_fills_what_settings_lack_from_the_declarations() -> None:
    declared = (Setting("p", "a", "int", 1), Setting("p", "b", "duration", "1m"))
    assert values_of(declared, None) == {"a": 1, "b": 60.0}
    settings = Settings.from_declarations(declared, {"p.a": "5"}, environ={})
    assert values_of(declared, settings) == {"a": 5, "b": 60.0}


# -- unknown names ----------------------------------------------------------------------------


def test_unknown_variables_of_a_plugin_get_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    # known_variables() marks names for the whole process: the mark this test adds is undone
    # afterwards, so the test passes again in the same process (mutmut runs pytest in-process
    # several times) and leaves nothing behind for the tests after it.
    monkeypatch.setattr(settings_module, "_known_variables", set(settings_module._known_variables))
    declared = [
        Setting("web", "port", "int", 1),
        Setting("web", "host", "str", "h"),
        Setting("web-ui", "theme", "str", "dark"),
    ]
    env = {
        "BUSSDCC_WEB_PROT": "1",  # typo of a web setting
        "BUSSDCC_WEB_COLOUR": "red",  # nothing close
        "BUSSDCC_WEB_UI_THEME": "light",  # web-ui's, declared
        "BUSSDCC_WEB_UI_THEEM": "x",  # web-ui's typo, not web's
        "BUSSDCC_PLUGINS": "web",  # the core's
        "BUSSDCC_OTHER_THING": "1",  # no loaded plugin "other": not ours to judge
        "PATH": "/bin",
    }
    assert unknown_variables(declared, env) == [
        "bussdcc: warning: BUSSDCC_WEB_COLOUR is ignored: no setting of plugin web reads it; its "
        "variables are BUSSDCC_WEB_HOST, BUSSDCC_WEB_PORT",
        "bussdcc: warning: BUSSDCC_WEB_PROT is ignored: no setting of plugin web reads it; did you "
        "mean BUSSDCC_WEB_PORT?",
        "bussdcc: warning: BUSSDCC_WEB_UI_THEEM is ignored: no setting of plugin web-ui reads it; "
        "did you mean BUSSDCC_WEB_UI_THEME?",
    ]
    known_variables("BUSSDCC_WEB_COLOUR")
    assert len(unknown_variables(declared, env)) == 2


def test_an_unknown_key_set_by_an_option_is_shown_as_typed() -> None:
    declared = {"web.port": Setting("web", "port", "int", 1)}
    assert unknown_key_message("web.prot", Override("1", "--prot 1"), declared) == (
        "--prot 1: unknown setting web.prot; did you mean web.port? (bussdcc settings lists every setting)"
    )


def test_an_unknown_key_set_from_python_is_shown_with_its_value() -> None:
    declared = [Setting("web", "port", "int", 1)]
    with pytest.raises(SettingError) as info:
        Settings.from_declarations(declared, {"web.prot": 1}, environ={})
    assert str(info.value) == (
        "web.prot=1: unknown setting web.prot; did you mean web.port? (bussdcc settings lists every setting)"
    )


def test_an_unknown_key_splits_at_its_first_dot_into_plugin_and_setting() -> None:
    # Setting names may contain dots; the plugin is what comes before the first one.
    declared = {
        s.key: s for s in (Setting("web", "tls.cert", "path", None), Setting("web", "port", "int", 1))
    }
    assert unknown_key_message("web.tls.cret", "x", declared) == (
        "--set web.tls.cret=x: unknown setting web.tls.cret; did you mean web.tls.cert? "
        "(bussdcc settings lists every setting)"
    )
    assert unknown_key_message("web.port.extra", "x", declared) == (
        "--set web.port.extra=x: unknown setting web.port.extra; the settings of web are "
        "web.port, web.tls.cert"
    )


def test_unknown_variables_of_a_plugin_named_in_capitals_are_found() -> None:
    declared = [Setting("Greenhouse", "vents", "int", 2)]
    assert declared[0].env_var == "BUSSDCC_GREENHOUSE_VENTS"
    assert unknown_variables(declared, {"BUSSDCC_GREENHOUSE_VENT": "3"}) == [
        "bussdcc: warning: BUSSDCC_GREENHOUSE_VENT is ignored: no setting of plugin Greenhouse reads "
        "it; did you mean BUSSDCC_GREENHOUSE_VENTS?"
    ]


def test_an_unknown_variable_name_is_shown_printable() -> None:
    declared = [Setting("web", "port", "int", 1)]
    assert unknown_variables(declared, {"BUSSDCC_WEB_\x1b[2JX": "1"}) == [
        "bussdcc: warning: BUSSDCC_WEB_\\x1b[2JX is ignored: no setting of plugin web reads it; its "
        "variables are BUSSDCC_WEB_PORT"
    ]


def test_unknown_override_keys_are_errors_with_a_suggestion() -> None:
    declared = [Setting("web", "port", "int", 1), Setting("jsonl", "dir", "path", "events")]
    cases = {
        "web.prot": "--set web.prot=1: unknown setting web.prot; did you mean web.port? "
        "(bussdcc settings lists every setting)",
        "wbe.port": "--set wbe.port=1: unknown setting wbe.port; did you mean web.port? "
        "(bussdcc settings lists every setting)",
        "web.colour": "--set web.colour=1: unknown setting web.colour; the settings of web are web.port",
        "zzz.q": "--set zzz.q=1: unknown setting zzz.q; no loaded plugin zzz declares settings "
        "(plugins with settings: jsonl, web)",
    }
    for key, message in cases.items():
        with pytest.raises(SettingError) as info:
            Settings.from_declarations(declared, {key: "1"}, environ={})
        assert str(info.value) == message


# -- the real command line --------------------------------------------------------------------

BAD_VALUES = [
    ("jsonl.queue_size", "0", "an integer of at least 1"),
    ("web.port", "70000", "an integer from 0 to 65535"),
    ("web.port", "99999", "an integer from 0 to 65535"),
    ("web.port", "abc", "an integer from 0 to 65535"),
    ("jsonl.interval", "10min", "a duration, e.g. 600, 30s, 10m, 7d"),
    ("jsonl.max_size", "5x", "a size in bytes of at least 0, e.g. 500, 64k, 10MB"),
    ("console.level", "loud", "one of debug, info, warning, error, critical"),
    (
        "web.origins",
        "*",
        'origins such as "http://panel.local:8080"; "*" would let any web site drive '
        "this system and is refused",
    ),
    ("web.token", "short", "a token of at least 8 characters"),
    (
        "identity.hide",
        "serail",
        "a comma-separated list of fields ('serail' is not a field of SystemIdentityEvent; use any of ",
    ),
]


def _command(name: str, tmp_path: Path) -> list[str]:
    return ["replay", str(tmp_path)] if name == "replay" else [name]


def _env_var(key: str) -> str:
    return "BUSSDCC_" + key.replace(".", "_").upper()


@pytest.mark.parametrize("command", ["run", "replay", "settings"])
@pytest.mark.parametrize(("key", "raw", "expected"), BAD_VALUES)
def test_a_bad_environment_value_stops_the_command(
    command: str, key: str, raw: str, expected: str, run_cli: Any, tmp_path: Path
) -> None:
    result = run_cli(*_command(command, tmp_path), env={_env_var(key): raw}, timeout=60)
    assert result.returncode == 2, result.stderr
    shown = raw if raw != "*" else repr(raw)
    line = f"bussdcc: error: {_env_var(key)}={shown} is not valid: expected {expected}"
    assert result.stderr.startswith(line), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["run", "replay", "settings"])
@pytest.mark.parametrize(("key", "raw", "expected"), BAD_VALUES[:5])
def test_a_bad_set_value_stops_the_command(
    command: str, key: str, raw: str, expected: str, run_cli: Any, tmp_path: Path
) -> None:
    result = run_cli(*_command(command, tmp_path), "--set", f"{key}={raw}", timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"bussdcc: error: --set {key}={raw} is not valid: expected {expected}"
    ]


@pytest.mark.parametrize("command", ["run", "replay"])
@pytest.mark.parametrize(
    ("option", "raw", "expected"),
    [
        ("--port", "70000", "an integer from 0 to 65535"),
        ("--origins", "*", 'origins such as "http://panel.local:8080"'),
        ("--token", "abc", "a token of at least 8"),
    ],
)
def test_a_bad_option_value_is_named_as_typed(
    command: str, option: str, raw: str, expected: str, run_cli: Any, tmp_path: Path
) -> None:
    result = run_cli(*_command(command, tmp_path), option, raw, timeout=60)
    assert result.returncode == 2, result.stderr
    shown = raw if raw != "*" else "'*'"
    assert result.stderr.startswith(f"bussdcc: error: {option} {shown} is not valid: expected {expected}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", ["run", "replay", "settings"])
def test_an_unknown_set_key_stops_the_command_with_a_suggestion(
    command: str, run_cli: Any, tmp_path: Path
) -> None:
    result = run_cli(*_command(command, tmp_path), "--set", "web.prot=8080")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "bussdcc: error: --set web.prot=8080: unknown setting web.prot; did you mean web.port? "
        "(bussdcc settings lists every setting)"
    ]


def test_a_misspelt_variable_of_a_loaded_plugin_is_one_warning(run_cli: Any) -> None:
    result = run_cli(
        "settings",
        env={"BUSSDCC_WEB_PROT": "8080", "BUSSDCC_STRICT_PLUGINS": "0", "BUSSDCC_SOMETHING_ELSE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "bussdcc: warning: BUSSDCC_WEB_PROT is ignored: no setting of plugin web reads it; did you "
        "mean BUSSDCC_WEB_PORT?"
    ]


def test_settings_masks_the_token(run_cli: Any) -> None:
    result = run_cli("settings", env={"BUSSDCC_WEB_TOKEN": "very-secret-token"})
    assert result.returncode == 0, result.stderr
    assert "very-secret-token" not in result.stdout
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("web.token")]
    assert row.split()[:3] == ["web.token", "***", "environment"]


RAISING = """
from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, SettingError

@hookimpl
def register_settings():
    return [Setting("strict-one", "mode", "str", "a")]

@hookimpl
def register_sinks(settings):
    raise SettingError("BUSSDCC_STRICT_ONE_MODE=a is not valid here: expected b with this app")
"""


def test_a_setting_error_raised_in_a_hook_is_the_users_error(site: Any, run_cli: Any) -> None:
    site.add("bussdcc-test-strict-one", RAISING, entry_point="strict-one")
    result = run_cli("run", env={"BUSSDCC_PLUGINS": "strict-one"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "bussdcc: error: BUSSDCC_STRICT_ONE_MODE=a is not valid here: expected b with this app"
    ]


def test_other_errors_in_a_hook_stay_isolated() -> None:
    from bussdcc_framework import hookimpl
    from bussdcc_framework.plugins import create_plugin_manager

    class UserMistake:
        @hookimpl
        def register_sinks(self, settings: Any) -> Any:
            raise SettingError("--set x.y=1 is not valid: expected 2")

    class PluginBug:
        @hookimpl
        def register_sinks(self, settings: Any) -> Any:
            raise ValueError("oops")

    pm = create_plugin_manager({"BUSSDCC_PLUGINS": ""})
    pm.register(PluginBug(), name="bug")
    assert pm.sinks(Settings()) == []
    assert [(f.plugin, f.hook, str(f.error)) for f in pm.failures] == [("bug", "register_sinks", "oops")]
    pm.register(UserMistake(), name="mistake")
    with pytest.raises(SettingError, match="expected 2"):
        pm.sinks(Settings())


# -- options declared by plugins --------------------------------------------------------------

SENSOR = """
from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting

@hookimpl
def register_settings():
    return [
        Setting("sensor", "enabled", "bool", False, "Poll the sensor."),
        Setting("sensor", "port", "int", 7000, "Sensor port.", min=1, max=9999, cli="--sensor-port",
                implies=(("sensor.enabled", "true"),)),
        Setting("sensor", "fast", "bool", False, "Poll fast.", cli="--fast/--slow"),
        Setting("sensor", "speed", "int", 1, "Clashes with replay's own option.", cli="--speed"),
    ]

@hookimpl
def register_services(settings):
    print("sensor", settings["sensor.enabled"], settings["sensor.port"], settings["sensor.fast"], flush=True)
    raise SystemExit(0)
"""


@pytest.fixture
def sensor_plugin(site: Any) -> Any:
    return site.add("bussdcc-test-optsensor", SENSOR, entry_point="sensor")


def test_plugins_declare_the_options_of_run_and_replay(
    sensor_plugin: Any, run_cli: Any, tmp_path: Path
) -> None:
    env = {"BUSSDCC_PLUGINS": "sensor"}
    run_help = run_cli("run", "--help", env=env)
    replay_help = run_cli("replay", "--help", env={"BUSSDCC_PLUGINS": "sensor,replay"})
    for result in (run_help, replay_help):
        assert result.returncode == 0, result.stderr
        assert "--sensor-port N" in result.stdout and "--fast / --slow" in result.stdout
        # The core names no plugin: with only this plugin there is no --port nor --record.
        options = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  -")]
        assert "--record" not in options and "--port" not in options
    assert "--speed" in run_help.stdout  # run has no --speed of its own
    assert replay_help.stderr.splitlines() == [
        "bussdcc: the setting sensor.speed declares the option --speed, which bussdcc replay already "
        "has; ignoring the option (use --set sensor.speed=VALUE)"
    ]
    # The option sets its setting and what it implies; a bool option is an on/off pair.
    ran = run_cli("run", "--sensor-port", "8123", "--slow", env=env)
    assert ran.stdout.splitlines() == ["sensor True 8123 False"], ran.stderr
    plain = run_cli("run", "--fast", env=env)
    assert plain.stdout.splitlines() == ["sensor False 7000 True"], plain.stderr
    # The option beats --set; --set beats what an option implies.
    both = run_cli(
        "run", "--set", "sensor.port=1", "--sensor-port", "2", "--set", "sensor.enabled=no", env=env
    )
    assert both.stdout.splitlines() == ["sensor False 2 False"], both.stderr
    bad = run_cli("run", "--sensor-port", "0", env=env)
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "bussdcc: error: --sensor-port 0 is not valid: expected an integer from 1 to 9999"
    ]


def test_the_core_declares_no_plugin_option() -> None:
    import bussdcc_framework.cli.core_commands as core_commands

    source = Path(core_commands.__file__).read_text()
    assert "RUN_OPTION_SETTINGS" not in source
    for word in ("jsonl", "web.", "--record", "--port", "--host", "--token", "--origins"):
        assert word not in source, word
    from bussdcc_framework.cli.core_commands import run_command

    assert [p.name for p in run_command.params] == ["app", "assignments"]
