"""The console plugin's hooks and settings, and the compatibility import."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from bussdcc_framework_console import ConsoleSink, plugin

from bussdcc_framework.settings import Setting, SettingError, Settings


def settings(**environ: str) -> Settings:
    declared: list[Setting] = list(plugin.register_settings())
    return Settings.from_declarations(declared, environ=environ)


def test_shim_import_is_the_plugin_class() -> None:
    from bussdcc_framework.io.console import ConsoleSink as Shim

    assert Shim is ConsoleSink


def test_defaults_give_the_auto_console_on_stdout() -> None:
    (sink,) = plugin.register_sinks(settings())
    assert isinstance(sink, ConsoleSink)
    assert (sink.format, sink.stream, sink.buffer) == ("auto", "stdout", 10_000)


def test_environment_configures_the_sink() -> None:
    (sink,) = plugin.register_sinks(
        settings(
            BUSSDCC_CONSOLE_FORMAT="human",
            BUSSDCC_CONSOLE_LEVEL="warning",
            BUSSDCC_CONSOLE_TYPES="Service*, Framework*",
            BUSSDCC_CONSOLE_EXCLUDE="ServiceStarted",
            BUSSDCC_CONSOLE_STREAM="stderr",
            BUSSDCC_CONSOLE_COLOR="never",
            BUSSDCC_CONSOLE_BUFFER="500",
            BUSSDCC_CONSOLE_FLUSH_TIMEOUT="4m",
        )
    )
    assert isinstance(sink, ConsoleSink)
    assert (sink.format, sink.stream, sink.color, sink.buffer) == ("human", "stderr", "never", 500)
    assert sink.filter.level == 30
    assert sink.filter.include == ("Service*", "Framework*")
    assert sink.filter.exclude == ("ServiceStarted",)
    assert sink.flush_timeout == 240.0


def test_disabled_gives_no_sink() -> None:
    assert list(plugin.register_sinks(settings(BUSSDCC_CONSOLE_ENABLED="no"))) == []


@pytest.mark.parametrize(
    "var, value",
    [
        ("BUSSDCC_CONSOLE_FORMAT", "xml"),
        ("BUSSDCC_CONSOLE_LEVEL", "loud"),
        ("BUSSDCC_CONSOLE_BUFFER", "many"),
    ],
)
def test_bad_values_are_setting_errors(var: str, value: str) -> None:
    with pytest.raises(SettingError, match=var):
        settings(**{var: value})


def test_zero_buffer_is_a_setting_error() -> None:
    with pytest.raises(SettingError, match="BUSSDCC_CONSOLE_BUFFER=0"):
        plugin.register_sinks(settings(BUSSDCC_CONSOLE_BUFFER="0"))


def test_bussdcc_run_rejects_a_bad_level_in_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from bussdcc_framework.cli import main; main(['run'])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "BUSSDCC_CONSOLE_LEVEL": "loud", "BUSSDCC_PLUGINS": "console"},
    )
    assert proc.returncode == 2
    expected = (
        "bussdcc: error: BUSSDCC_CONSOLE_LEVEL=loud is not valid: expected one of "
        "debug, info, warning, error, critical"
    )
    assert proc.stderr.strip().splitlines() == [expected]
