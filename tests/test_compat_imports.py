"""Every import path of the original README still works, and a missing plugin says how to install it.

Each check runs in a fresh interpreter, so what one import pulls in cannot hide another's bug.
"""

from __future__ import annotations

from typing import Any

import pytest

# (module, name, the plugin package that provides it, its extra)
ORIGINAL_PATHS = [
    ("bussdcc_framework.runtime", "Runtime", "bussdcc_framework", None),
    ("bussdcc_framework.runtime", "ReplayRuntime", "bussdcc_framework_replay", "replay"),
    ("bussdcc_framework.io.jsonl", "JsonlSink", "bussdcc_framework_jsonl", "jsonl"),
    ("bussdcc_framework.io.jsonl", "JsonlSource", "bussdcc_framework_replay", "replay"),
    ("bussdcc_framework.io.console", "ConsoleSink", "bussdcc_framework_console", "console"),
    ("bussdcc_framework.service", "SystemIdentityService", "bussdcc_framework_identity", "identity"),
    ("bussdcc_framework.interface.web", "WebInterface", "bussdcc_framework_web", "web"),
    ("bussdcc_framework.interface.web", "emit", "bussdcc_framework_web", "web"),
]


@pytest.mark.parametrize(("module", "name", "provider", "extra"), ORIGINAL_PATHS)
def test_original_import_path_works(
    python: Any, module: str, name: str, provider: str, extra: str | None
) -> None:
    result = python(
        f"""
        from {module} import {name}
        print({name}.__module__.split(".")[0])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == provider


def test_message_module_paths_of_the_original_logs(python: Any) -> None:
    result = python(
        """
        from bussdcc_framework.message.framework import FrameworkBooted, FrameworkShuttingDown
        from bussdcc_framework.message.system import SystemIdentityEvent
        from bussdcc_framework.message.web import WebInterfaceStarted
        from bussdcc_framework.message.sink import SinkHandlerError
        for cls in (FrameworkBooted, FrameworkShuttingDown, SystemIdentityEvent,
                    WebInterfaceStarted, SinkHandlerError):
            print(f"{cls.__module__}:{cls.__qualname__}")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "bussdcc_framework.message.framework:FrameworkBooted",
        "bussdcc_framework.message.framework:FrameworkShuttingDown",
        "bussdcc_framework.message.system:SystemIdentityEvent",
        "bussdcc_framework.message.web:WebInterfaceStarted",
        "bussdcc_framework.message.sink:SinkHandlerError",
    ]


@pytest.mark.parametrize(
    ("module", "name", "provider", "extra"), [p for p in ORIGINAL_PATHS if p[3] is not None]
)
def test_missing_plugin_gives_the_pip_install_hint(
    python: Any, module: str, name: str, provider: str, extra: str
) -> None:
    result = python(
        f"""
        import sys
        sys.modules[{provider!r}] = None  # as if the plugin were not installed
        from bussdcc_framework.runtime._lazy import MissingPluginError
        try:
            from {module} import {name}
        except MissingPluginError as exc:
            assert isinstance(exc, ImportError)
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{name} is provided by the {extra} plugin, which is not installed; "
        f"install it with: pip install 'bussdcc-framework[{extra}]'"
    )


def test_a_broken_plugin_import_is_not_disguised_as_a_missing_one(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the plugin is installed but one of *its* imports fails: the real error must surface
    from bussdcc_framework.runtime._lazy import MissingPluginError, plugin_attribute

    (tmp_path / "halfinstalled_plugin.py").write_text("import nosuchdependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as info:
        plugin_attribute("halfinstalled_plugin", "Thing", "web")
    assert not isinstance(info.value, MissingPluginError)
    assert info.value.name == "nosuchdependency_xyz"


def test_importing_the_compat_modules_is_cheap(python: Any) -> None:
    result = python(
        """
        import sys
        import bussdcc_framework.interface
        import bussdcc_framework.interface.web
        import bussdcc_framework.io.jsonl, bussdcc_framework.io.console, bussdcc_framework.service
        import bussdcc_framework.runtime
        print(sorted(m for m in sys.modules if m.split(".")[0] in {"flask", "flask_socketio"}))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_unknown_attribute_is_an_attribute_error(python: Any) -> None:
    result = python(
        """
        import bussdcc_framework.io.jsonl as jsonl
        try:
            jsonl.JsonSink
        except AttributeError as exc:
            print(exc)
        """
    )
    assert result.stdout.strip() == ("module 'bussdcc_framework.io.jsonl' has no attribute 'JsonSink'")


def test_the_readme_minimal_example_runs(python: Any) -> None:
    result = python(
        """
        import threading
        from bussdcc_framework.runtime import Runtime
        from bussdcc_framework.io.console import ConsoleSink
        from bussdcc_framework.service import SystemIdentityService

        runtime = Runtime()

        runtime.add_sink(ConsoleSink())
        runtime.add_service(SystemIdentityService())

        threading.Timer(1.0, runtime.shutdown).start()
        runtime.boot()
        runtime.run()
        """,
        env={"BUSSDCC_PLUGINS": ""},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "bussdcc_framework.message.framework:FrameworkBooted" in out
