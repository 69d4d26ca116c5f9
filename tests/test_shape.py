"""Every plugin has the same shape, and starting ``bussdcc`` stays cheap.

``bussdcc --help`` and ``bussdcc --version`` discover every plugin, so whatever a plugin's
entry module and package import is paid by every command. They must import neither msgspec
nor Flask (the import-time figures are in docs/performance.md, measured by
bench/bench_startup.py, not here: timing assertions have no place in tests).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from bussdcc_framework import PROJECT_NAME
from bussdcc_framework.settings import Setting

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ["console", "identity", "jsonl", "mqtt", "replay", "web"]
WITH_SETTINGS = {
    "console": "ConsoleConfig",
    "identity": "IdentityConfig",
    "jsonl": "JsonlConfig",
    "mqtt": "MqttConfig",
    "web": "WebConfig",
}
HEAVY = (
    "msgspec",
    "flask",
    "flask_socketio",
    "werkzeug",
    "jinja2",
    "engineio",
    "socketio",
    "paho",
    "sqlite3",
)

LOADED = """
import contextlib, io, sys
{setup}
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print(",".join(heavy))
"""


def heavy_after(python: Any, setup: str) -> list[str]:
    result = python(LOADED.format(setup=setup, heavy=HEAVY))
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"], ["settings"]])
def test_starting_bussdcc_imports_neither_msgspec_nor_flask(python: Any, args: list[str]) -> None:
    setup = f"""
from bussdcc_framework.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main({args!r})
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
assert out.getvalue().strip()
"""
    assert heavy_after(python, setup) == []


def test_the_help_lists_the_plugin_commands_without_importing_them(python: Any) -> None:
    setup = """
from bussdcc_framework.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(["--help"])
    except SystemExit:
        pass
text = out.getvalue()
assert "replay" in text and "events" in text and "identity" in text, text
for module in ("bussdcc_framework_replay.cli", "bussdcc_framework_identity.command"):
    assert module not in sys.modules, module
"""
    assert heavy_after(python, setup) == []


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_plugin_package_and_its_entry_module_are_cheap(python: Any, plugin: str) -> None:
    setup = f"import bussdcc_framework_{plugin}, bussdcc_framework_{plugin}.plugin"
    assert heavy_after(python, setup) == []


@pytest.mark.parametrize("plugin", PLUGINS)
def test_lazy_exports_resolve(plugin: str) -> None:
    package = importlib.import_module(f"bussdcc_framework_{plugin}")
    for name in package.__all__:
        assert getattr(package, name) is not None, name
        assert name in dir(package)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        package.nothing  # noqa: B018


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_py_holds_hook_implementations_only(plugin: str) -> None:
    module = importlib.import_module(f"bussdcc_framework_{plugin}.plugin")
    own = [
        (name, value)
        for name, value in vars(module).items()
        if (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__
    ]
    assert own, plugin
    for name, value in own:
        assert inspect.isfunction(value), f"{plugin}/plugin.py defines the class {name}"
        assert hasattr(value, f"{PROJECT_NAME}_impl"), f"{plugin}/plugin.py: {name} is not a @hookimpl"


@pytest.mark.parametrize(("plugin", "config_class"), sorted(WITH_SETTINGS.items()))
def test_settings_live_in_config_py_with_a_frozen_factory(plugin: str, config_class: str) -> None:
    config = importlib.import_module(f"bussdcc_framework_{plugin}.config")
    entry = importlib.import_module(f"bussdcc_framework_{plugin}.plugin")
    declared = list(entry.register_settings())
    assert declared == list(config.SETTINGS)
    assert all(isinstance(s, Setting) and s.plugin == plugin for s in declared)
    cls = getattr(config, config_class)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    made = cls.from_settings(None)  # every default comes from the declarations
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(dataclasses.fields(cls)[0].name, None)


def test_no_value_checks_left_in_hooks() -> None:
    """Hooks build from checked settings; the old checks in the hooks are gone."""
    for plugin in PLUGINS:
        source = (ROOT / f"plugins/{plugin}/bussdcc_framework_{plugin}/plugin.py").read_text()
        assert "SettingError" not in source, plugin
        assert "settings.get(" not in source, plugin  # defaults are not written a second time


def test_the_codec_is_split_and_every_import_path_still_works() -> None:
    from bussdcc_framework.codec import Codec, RecordHead, convert, type_name
    from bussdcc_framework.codec import codec as record_codec

    assert record_codec.Codec is Codec and record_codec.RecordHead is RecordHead
    assert type_name(Codec) == "bussdcc_framework.codec.codec:Codec"
    source = Path(convert.__file__).read_text()
    assert "from bussdcc" not in source and "class Codec" not in source  # no events, no records
    assert "def _converter" not in Path(record_codec.__file__).read_text()


def test_no_fallback_for_a_core_without_the_codec() -> None:
    for path in ROOT.glob("plugins/*/bussdcc_framework_*/**/*.py"):
        text = path.read_text()
        assert "a core without the codec" not in text and "predates the codec" not in text, path


@pytest.mark.parametrize("name", PLUGINS)
def test_each_plugin_requires_the_core_release_whose_api_it_uses(name: str) -> None:
    """A plugin built against this tree's core must not claim to work with an older core."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    project = tomllib.loads((ROOT / "plugins" / name / "pyproject.toml").read_text())["project"]
    pins = {
        req.name: req.specifier
        for req in map(Requirement, project["dependencies"])
        if req.name.startswith("bussdcc-framework")
    }
    assert "bussdcc-framework" in pins, f"{name} does not depend on bussdcc-framework"
    core_minor = Version(core).release[:2]
    for dist, specifier in pins.items():
        lowest = min(
            (Version(s.version) for s in specifier if s.operator in (">=", "~=", "==")), default=None
        )
        assert lowest is not None, f"{name}: {dist}{specifier} has no lower bound"
        if dist == "bussdcc-framework":
            assert lowest.release[:2] >= core_minor, (
                f"{name}: {dist}{specifier} allows a core older than {core}"
            )
