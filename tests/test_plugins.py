"""Plugin discovery and selection, through real entry points in real ``.dist-info`` directories.

Every discovery test runs ``bussdcc`` (or a fresh interpreter) as a subprocess with real
environment variables, so what is tested is what a user's shell does; plugins an application
registers in process (``add_plugin``, ``register_plugin``) are tested with in-process calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
import pytest

from bussdcc_framework import hookimpl
from bussdcc_framework.plugins import (
    FrameworkPluginManager,
    PluginLoadError,
    add_plugin,
    create_plugin_manager,
    hook_names,
    load_plugins,
    load_settings,
    normalize_name,
    register_plugin,
    reset_plugins,
    unregister_plugin,
)
from bussdcc_framework.settings import Setting, SettingError

REPO = Path(__file__).resolve().parents[1]

ALPHA = """
from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting

@hookimpl
def register_settings():
    return [Setting("alpha", "greeting", "str", "hello", "What alpha says")]
"""

BETA = """
from bussdcc_framework import hookimpl

@hookimpl
def register_sinks(settings):
    return []
"""


def bomb_source(marker: Path) -> str:
    """A plugin module that leaves a marker, then fails to import with a two-line message."""
    return f"""
from pathlib import Path
Path({str(marker)!r}).write_text("imported")
raise RuntimeError("kaboom\\nsecond line that must not be printed")
"""


def plugin_json(result: Any) -> dict[str, dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    return {entry["name"]: entry for entry in json.loads(result.stdout)}


def bussdcc_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("bussdcc")]


@pytest.fixture
def two_plugins(site: Any) -> Any:
    site.add("bussdcc-test-alpha", ALPHA, version="1.2.3", entry_point="alpha")
    site.add("bussdcc-test-beta", BETA, version="0.1.0", entry_point="beta")
    return site


# -- selection with BUSSDCC_PLUGINS --------------------------------------------------------


def test_unset_selection_loads_every_installed_plugin(two_plugins: Any, run_cli: Any) -> None:
    plugins = plugin_json(run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": None}))
    assert {"alpha", "beta", "console", "identity", "jsonl", "replay", "web"} <= set(plugins)
    assert plugins["alpha"]["status"] == "loaded"
    assert plugins["alpha"]["distribution"] == "bussdcc-test-alpha"
    assert plugins["alpha"]["version"] == "1.2.3"
    assert plugins["alpha"]["entry_point"] == "alpha = bussdcc_test_alpha"
    assert plugins["alpha"]["hooks"] == ["register_settings"]


def test_empty_selection_loads_none(two_plugins: Any, run_cli: Any) -> None:
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": ""})
    assert plugin_json(result) == {}
    assert result.stderr == ""
    everything = plugin_json(run_cli("plugins", "--json", "--all", env={"BUSSDCC_PLUGINS": ""}))
    assert {p["status"] for p in everything.values()} == {"not selected"}


def test_list_selects_only_those(two_plugins: Any, run_cli: Any) -> None:
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "alpha,jsonl"})
    assert set(plugin_json(result)) == {"alpha", "jsonl"}
    assert result.stderr == ""


@pytest.mark.parametrize(
    "selection",
    [
        " ALPHA ",  # entry-point name, case and whitespace
        "acme_alpha_plugin",  # distribution name with _ for - and .
        "Acme.Alpha-Plugin",  # distribution name as published
        "acme-alpha.plugin ,",  # mixed separators and a trailing comma
        ",, acme__alpha--plugin",  # runs of separators and empty items
    ],
)
def test_names_match_case_insensitively_with_separators_equivalent(
    site: Any, run_cli: Any, selection: str
) -> None:
    site.add("Acme.Alpha-Plugin", ALPHA, entry_point="alpha", module="acme_alpha")
    site.add("bussdcc-test-beta", BETA, entry_point="beta")
    result = run_cli("plugins", "--json", "--all", env={"BUSSDCC_PLUGINS": selection})
    plugins = plugin_json(result)
    assert plugins["alpha"]["status"] == "loaded"
    assert plugins["beta"]["status"] == "not selected"
    assert result.stderr == ""


def test_unknown_name_is_reported_in_one_line_naming_installed_plugins(
    two_plugins: Any, run_cli: Any
) -> None:
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "alpha, NoSuch_Plugin"})
    assert set(plugin_json(result)) == {"alpha"}  # loading continued
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith('bussdcc: BUSSDCC_PLUGINS names "NoSuch_Plugin"')  # as typed
    installed = lines[0].split("installed plugins: ", 1)[1].split(", ")
    assert {"alpha", "beta", "console", "jsonl", "web"} <= set(installed)


def test_unknown_disabled_name_is_reported_too(two_plugins: Any, run_cli: Any) -> None:
    result = run_cli(
        "plugins", "--json", env={"BUSSDCC_PLUGINS": "alpha", "BUSSDCC_DISABLE_PLUGINS": "gamma"}
    )
    assert set(plugin_json(result)) == {"alpha"}
    assert bussdcc_lines(result.stderr) == [
        line for line in result.stderr.splitlines() if 'BUSSDCC_DISABLE_PLUGINS names "gamma"' in line
    ]
    assert len(result.stderr.splitlines()) == 1


# -- BUSSDCC_DISABLE_PLUGINS --------------------------------------------------------------


def test_disabled_plugin_is_never_imported(two_plugins: Any, run_cli: Any, tmp_path: Path) -> None:
    marker = tmp_path / "bomb-imported"
    two_plugins.add("bussdcc-test-bomb", bomb_source(marker), entry_point="bomb")
    result = run_cli(
        "plugins",
        "--json",
        "--all",
        env={"BUSSDCC_DISABLE_PLUGINS": " Bussdcc_Test.Bomb ", "BUSSDCC_PLUGINS": "alpha,bomb"},
    )
    plugins = plugin_json(result)
    assert not marker.exists(), "a disabled plugin must not be imported"
    assert plugins["bomb"]["status"] == "disabled"  # disabling wins over selecting
    assert plugins["alpha"]["status"] == "loaded"
    assert result.stderr == ""


# -- a plugin that fails -------------------------------------------------------------------


def test_import_failure_prints_exactly_one_line_and_the_rest_works(
    two_plugins: Any, run_cli: Any, tmp_path: Path
) -> None:
    two_plugins.add("bussdcc-test-bomb", bomb_source(tmp_path / "m"), version="2.0.1", entry_point="bomb")
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "alpha,beta,bomb"})
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        'bussdcc: plugin "bussdcc-test-bomb 2.0.1" (bomb = bussdcc_test_bomb) failed to load: '
        "RuntimeError: kaboom; disable it with BUSSDCC_DISABLE_PLUGINS=bomb"
    ]
    plugins = plugin_json(result)
    assert plugins["bomb"]["status"] == "failed"
    assert plugins["bomb"]["error"] == "RuntimeError: kaboom"
    assert plugins["alpha"]["status"] == plugins["beta"]["status"] == "loaded"
    # the suggested fix works
    fixed = run_cli(
        "plugins", "--json", env={"BUSSDCC_PLUGINS": "alpha,beta,bomb", "BUSSDCC_DISABLE_PLUGINS": "bomb"}
    )
    assert fixed.stderr == "" and set(plugin_json(fixed)) == {"alpha", "beta"}


def test_missing_attribute_in_entry_point_is_a_load_failure(site: Any, run_cli: Any) -> None:
    info = site.add("bussdcc-test-gone", "X = 1\n", entry_point="gone")
    (site.root / "bussdcc_test_gone-1.0.0.dist-info" / "entry_points.txt").write_text(
        "[bussdcc_framework]\ngone = bussdcc_test_gone:plugin\n"
    )
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "gone"})
    assert info.entry_point == "gone"
    [line] = result.stderr.splitlines()
    assert line.startswith(
        'bussdcc: plugin "bussdcc-test-gone 1.0.0" (gone = bussdcc_test_gone:plugin)'
        " failed to load: AttributeError:"
    )
    assert line.endswith("; disable it with BUSSDCC_DISABLE_PLUGINS=gone")


@pytest.mark.parametrize("value", ["1", "true", "YES", " yes "])
def test_strict_mode_turns_a_failure_into_an_error(
    two_plugins: Any, run_cli: Any, tmp_path: Path, value: str
) -> None:
    two_plugins.add("bussdcc-test-bomb", bomb_source(tmp_path / "m"), entry_point="bomb")
    result = run_cli("plugins", env={"BUSSDCC_PLUGINS": "alpha,bomb", "BUSSDCC_STRICT_PLUGINS": value})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(
        'bussdcc: plugin "bussdcc-test-bomb 1.0.0" (bomb = bussdcc_test_bomb) '
        "failed to load: RuntimeError: kaboom"
    )


@pytest.mark.parametrize("value", ["0", "false", "No", ""])
def test_strict_mode_off_values_keep_going(
    two_plugins: Any, run_cli: Any, tmp_path: Path, value: str
) -> None:
    two_plugins.add("bussdcc-test-bomb", bomb_source(tmp_path / "m"), entry_point="bomb")
    result = run_cli(
        "plugins", "--json", env={"BUSSDCC_PLUGINS": "alpha,bomb", "BUSSDCC_STRICT_PLUGINS": value}
    )
    assert result.returncode == 0
    assert plugin_json(result)["bomb"]["status"] == "failed"


@pytest.mark.parametrize("variable", ["BUSSDCC_STRICT_PLUGINS", "BUSSDCC_TRACE_PLUGINS"])
@pytest.mark.parametrize("value", ["2", "maybe", "enabled"])
def test_boolean_variables_reject_other_values_clearly(run_cli: Any, variable: str, value: str) -> None:
    result = run_cli("plugins", env={variable: value})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"bussdcc: error: {variable}={value!r} is not a boolean; use one of 1/true/yes/on or 0/false/no/off"
    )


# -- validation of hook implementations ------------------------------------------------------


def test_misspelt_hook_name_is_reported_naming_plugin_and_hook(site: Any, run_cli: Any) -> None:
    site.add(
        "bussdcc-test-typo",
        """
        from bussdcc_framework import hookimpl

        @hookimpl
        def register_sink(settings):
            return []
    """,
        entry_point="typo",
    )
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "typo"})
    [line] = result.stderr.splitlines()
    assert line == (
        'bussdcc: plugin "bussdcc-test-typo 1.0.0" (typo = bussdcc_test_typo) failed to load: '
        'PluginValidationError: hook "register_sink" is not a bussdcc_framework hook '
        '(did you mean "register_sinks"?); disable it with BUSSDCC_DISABLE_PLUGINS=typo'
    )
    assert plugin_json(result)["typo"]["status"] == "failed"


def test_every_problem_of_an_installed_plugin_is_in_its_one_line(site: Any, run_cli: Any) -> None:
    site.add(
        "bussdcc-test-typos",
        """
        from bussdcc_framework import hookimpl

        @hookimpl
        def register_setting():
            return []

        @hookimpl
        def register_sink(settings):
            return []
    """,
        entry_point="typos",
    )
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "typos"})
    assert result.stderr.splitlines() == [
        'bussdcc: plugin "bussdcc-test-typos 1.0.0" (typos = bussdcc_test_typos) failed to load: '
        'PluginValidationError: hook "register_setting" is not a bussdcc_framework hook (did you '
        'mean "register_settings"?); hook "register_sink" is not a bussdcc_framework hook (did '
        'you mean "register_sinks"?); disable it with BUSSDCC_DISABLE_PLUGINS=typos'
    ]


def test_a_plugin_failing_with_an_empty_message_is_reported_by_the_error_type(
    two_plugins: Any, run_cli: Any
) -> None:
    two_plugins.add("bussdcc-test-blank", "raise RuntimeError()\n", entry_point="blank")
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "alpha,blank"})
    [line] = result.stderr.splitlines()
    assert line == (
        'bussdcc: plugin "bussdcc-test-blank 1.0.0" (blank = bussdcc_test_blank) failed to load: '
        "RuntimeError; disable it with BUSSDCC_DISABLE_PLUGINS=blank"
    )
    plugins = plugin_json(result)
    assert plugins["blank"]["status"] == "failed"
    assert plugins["blank"]["error"] == "RuntimeError"
    assert plugins["alpha"]["status"] == "loaded"


def test_trace_plugins_prints_the_traceback_of_a_plugin_that_fails_to_load(site: Any, run_cli: Any) -> None:
    # Printed as formatted, only its final newline dropped: the message's own trailing
    # characters (an "X", a space) stay.
    site.add("bussdcc-test-bomb", 'raise LookupError("no sensor table X ")\n', entry_point="bomb")
    site.add("bussdcc-test-cross", 'raise LookupError("no sensor table X")\n', entry_point="cross")
    crossed = run_cli("plugins", env={"BUSSDCC_PLUGINS": "cross", "BUSSDCC_TRACE_PLUGINS": "1"})
    assert crossed.stderr.split("\n")[-2:] == ["LookupError: no sensor table X", ""]
    result = run_cli("plugins", env={"BUSSDCC_PLUGINS": "bomb", "BUSSDCC_TRACE_PLUGINS": "1"})
    assert result.returncode == 0, result.stderr
    lines = result.stderr.split("\n")
    assert lines[0].startswith('bussdcc: plugin "bussdcc-test-bomb 1.0.0" (bomb = bussdcc_test_bomb) failed')
    assert lines[1] == "Traceback (most recent call last):"
    source = site.root / "bussdcc_test_bomb.py"
    assert any(line.startswith(f'  File "{source}", line ') for line in lines), lines
    assert lines[-2:] == ["LookupError: no sensor table X ", ""]


def test_wrong_hook_argument_is_reported_naming_plugin_and_hook(site: Any, run_cli: Any) -> None:
    site.add(
        "bussdcc-test-args",
        """
        from bussdcc_framework import hookimpl

        @hookimpl
        def register_sinks(settngs):
            return []
    """,
        entry_point="args",
    )
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "args"})
    [line] = result.stderr.splitlines()
    assert 'plugin "bussdcc-test-args 1.0.0"' in line
    assert (
        'hook "register_sinks" takes argument(s) settngs that the hook does not provide '
        "(it provides: settings)"
    ) in line


def test_two_entry_points_with_the_same_name_are_reported(site: Any, tmp_path: Path, run_cli: Any) -> None:
    site.add("bussdcc-test-first", ALPHA, entry_point="dup")
    other = type(site)(tmp_path / "other-site")
    other.add("bussdcc-test-second", BETA, entry_point="dup")
    env = {"BUSSDCC_PLUGINS": "dup", "PYTHONPATH": f"{site.root}:{other.root}"}
    result = run_cli("plugins", "--json", env=env)
    [line] = result.stderr.splitlines()
    assert line == (
        'bussdcc: plugin "bussdcc-test-second 1.0.0" (dup = bussdcc_test_second) was not loaded: '
        'the name "dup" is already used by bussdcc-test-first 1.0.0 (dup = bussdcc_test_first); '
        "uninstall one of them"
    )
    listed = json.loads(result.stdout)
    assert [(p["distribution"], p["status"]) for p in listed] == [
        ("bussdcc-test-first", "loaded"),
        ("bussdcc-test-second", "duplicate"),
    ]
    strict = run_cli("plugins", env={**env, "BUSSDCC_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1 and "already used by" in strict.stderr
    # a clash between plugins nobody selected is listed, not reported
    quiet = run_cli(
        "plugins", "--json", "--all", env={**env, "BUSSDCC_PLUGINS": "", "BUSSDCC_STRICT_PLUGINS": "1"}
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert ("dup", "duplicate") in [(p["name"], p["status"]) for p in json.loads(quiet.stdout)]


def test_one_distribution_declaring_a_name_twice_is_reported(site: Any, run_cli: Any) -> None:
    # Same distribution, two objects under one name: the second is not loaded, and that is said.
    site.add(
        "bussdcc-test-twice",
        ALPHA,
        entry_point="dup",
        module="bussdcc_test_twice",
        extra_entry_points=[("dup", "bussdcc_test_twice_other")],
    )
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "dup"})
    assert result.stderr.splitlines() == [
        'bussdcc: plugin "bussdcc-test-twice 1.0.0" (dup = bussdcc_test_twice_other) was not loaded: '
        'the name "dup" is already used by bussdcc-test-twice 1.0.0 (dup = bussdcc_test_twice); '
        "uninstall one of them"
    ]
    listed = json.loads(result.stdout)
    assert [(p["entry_point"], p["status"]) for p in listed] == [
        ("dup = bussdcc_test_twice", "loaded"),
        ("dup = bussdcc_test_twice_other", "duplicate"),
    ]


def test_two_distributions_declaring_the_same_name_and_module_are_reported(
    site: Any, tmp_path: Path, run_cli: Any
) -> None:
    # Same entry point text, different distributions: still two installs of one name.
    site.add("bussdcc-test-first", ALPHA, entry_point="dup", module="bussdcc_test_shared")
    other = type(site)(tmp_path / "other-site")
    other.add("bussdcc-test-second", ALPHA, entry_point="dup", module="bussdcc_test_shared")
    env = {"BUSSDCC_PLUGINS": "dup", "PYTHONPATH": f"{site.root}:{other.root}"}
    result = run_cli("plugins", "--json", env=env)
    assert result.stderr.splitlines() == [
        'bussdcc: plugin "bussdcc-test-second 1.0.0" (dup = bussdcc_test_shared) was not loaded: '
        'the name "dup" is already used by bussdcc-test-first 1.0.0 (dup = bussdcc_test_shared); '
        "uninstall one of them"
    ]
    listed = json.loads(result.stdout)
    assert [(p["distribution"], p["status"]) for p in listed] == [
        ("bussdcc-test-first", "loaded"),
        ("bussdcc-test-second", "duplicate"),
    ]
    assert listed[1]["error"] == (
        'entry point name "dup" is also used by bussdcc-test-first 1.0.0 (dup = bussdcc_test_shared); '
        "only the first is loaded"
    )
    # selected by its distribution's name, the clash is reported too
    by_dist = run_cli("plugins", env={**env, "BUSSDCC_PLUGINS": "bussdcc-test-second"})
    assert 'was not loaded: the name "dup" is already used by' in by_dist.stderr


# -- failures inside hooks -----------------------------------------------------------------


def test_a_failing_hook_is_reported_naming_plugin_and_hook(two_plugins: Any, run_cli: Any) -> None:
    two_plugins.add(
        "bussdcc-test-broken",
        """
        from bussdcc_framework import hookimpl

        @hookimpl
        def register_settings():
            raise ValueError("no settings today")
    """,
        entry_point="broken",
    )
    result = run_cli("settings", "--json", env={"BUSSDCC_PLUGINS": "alpha,broken"})
    assert result.returncode == 0
    source = two_plugins.root / "bussdcc_test_broken.py"
    assert result.stderr.splitlines() == [
        'bussdcc: plugin "broken" failed in hook register_settings: ValueError: no settings today'
        f" ({source}:6); disable it with BUSSDCC_DISABLE_PLUGINS=broken"
    ]
    assert [s["key"] for s in json.loads(result.stdout)] == ["alpha.greeting"]
    strict = run_cli("settings", env={"BUSSDCC_PLUGINS": "alpha,broken", "BUSSDCC_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    assert "failed in hook register_settings" in strict.stderr
    assert "Traceback" not in strict.stderr


def test_a_hook_returning_a_non_iterable_is_reported(site: Any, run_cli: Any) -> None:
    site.add(
        "bussdcc-test-single",
        """
        from bussdcc_framework import hookimpl
        from bussdcc_framework.settings import Setting

        @hookimpl
        def register_settings():
            return Setting("single", "x")
    """,
        entry_point="single",
    )
    result = run_cli("settings", "--json", env={"BUSSDCC_PLUGINS": "single"})
    [line] = result.stderr.splitlines()
    assert line.startswith('bussdcc: plugin "single" failed in hook register_settings: returned ')
    assert "register_settings must return a list (or any iterable) or None" in line


def test_trace_plugins_prints_the_full_traceback_of_a_failing_hook(two_plugins: Any, run_cli: Any) -> None:
    two_plugins.add(
        "bussdcc-test-broken",
        """
        from bussdcc_framework import hookimpl

        def helper():
            raise ValueError("no settings today")

        @hookimpl
        def register_settings():
            return helper()
    """,
        entry_point="broken",
    )
    source = two_plugins.root / "bussdcc_test_broken.py"
    result = run_cli("settings", "--json", env={"BUSSDCC_PLUGINS": "broken", "BUSSDCC_TRACE_PLUGINS": "1"})
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if "failed in hook register_settings" in x)
    assert f"({source}:5)" in line  # the innermost line in the plugin's code: the raise in helper
    trace = result.stderr[result.stderr.index(line) :]
    assert "Traceback (most recent call last):" in trace
    assert f'File "{source}", line 9, in register_settings' in trace
    assert f'File "{source}", line 5, in helper' in trace
    assert "ValueError: no settings today" in trace


def test_plugins_traceback_shows_load_and_hook_failures(site: Any, run_cli: Any) -> None:
    site.add(
        "bussdcc-test-noimport",
        """
        import a_module_that_is_not_installed
    """,
        entry_point="noimport",
    )
    site.add(
        "bussdcc-test-hookfails",
        """
        from bussdcc_framework import hookimpl

        @hookimpl
        def register_message_types():
            raise LookupError("no types")
    """,
        entry_point="hookfails",
    )
    env = {"BUSSDCC_PLUGINS": "noimport,hookfails"}
    plain = run_cli("plugins", env=env)
    assert plain.returncode == 0
    assert "Traceback" not in plain.stdout + plain.stderr
    result = run_cli("plugins", "--traceback", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "noimport failed to load:\nTraceback (most recent call last):" in out
    assert "ModuleNotFoundError: No module named 'a_module_that_is_not_installed'" in out
    source = site.root / "bussdcc_test_hookfails.py"
    assert f"hookfails failed in hook register_message_types ({source}:6):\nTraceback" in out
    assert "LookupError: no types" in out
    listed = {p["name"]: p for p in json.loads(run_cli("plugins", "--json", "--traceback", env=env).stdout)}
    assert "ModuleNotFoundError" in listed["noimport"]["traceback"]
    [failure] = listed["hookfails"]["hook_failures"]
    assert failure["hook"] == "register_message_types"
    assert failure["location"] == f"{source}:6"
    assert "LookupError: no types" in failure["traceback"]


def test_a_hook_named_function_without_hookimpl_is_reported(site: Any, run_cli: Any) -> None:
    site.add(
        "bussdcc-test-unmarked",
        """
        from bussdcc_framework import hookimpl

        @hookimpl
        def register_message_types():
            return []

        def register_sinks(settings):
            return []
    """,
        entry_point="unmarked",
    )
    source = site.root / "bussdcc_test_unmarked.py"
    result = run_cli("plugins", "--json", env={"BUSSDCC_PLUGINS": "unmarked"})
    assert result.returncode == 0
    expected = (
        f"register_sinks ({source}:8) is named like a hook but not marked @hookimpl, so it is "
        "never called; mark it with @hookimpl (from bussdcc_framework import hookimpl) or rename it"
    )
    assert result.stderr.splitlines() == [
        f'bussdcc: plugin "bussdcc-test-unmarked 1.0.0" (unmarked = bussdcc_test_unmarked): {expected}'
    ]
    [listed] = json.loads(result.stdout)
    assert listed["status"] == "loaded" and listed["warnings"] == [expected]
    strict = run_cli("plugins", env={"BUSSDCC_PLUGINS": "unmarked", "BUSSDCC_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    assert "is named like a hook but not marked @hookimpl" in strict.stderr


# -- tracing -------------------------------------------------------------------------------


def test_trace_prints_hook_plugin_arguments_and_duration(two_plugins: Any, python: Any) -> None:
    result = python(
        """
        from bussdcc_framework.runtime import Runtime
        Runtime.from_plugins()
        """,
        env={"BUSSDCC_PLUGINS": "alpha,beta", "BUSSDCC_TRACE_PLUGINS": "yes"},
        pythonpath=[two_plugins.root],
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(
        re.fullmatch(r"bussdcc trace: register_settings\(\) \[alpha\] \d+\.\d{3} ms", line) for line in lines
    ), lines
    [sinks] = [line for line in lines if line.startswith("bussdcc trace: register_sinks(")]
    assert re.fullmatch(
        r"bussdcc trace: register_sinks\(settings=Settings\(.*\) \[beta\] [\d.]+ ms", sinks
    ), sinks


def test_trace_off_by_default(two_plugins: Any, python: Any) -> None:
    result = python(
        "from bussdcc_framework.runtime import Runtime; Runtime.from_plugins()",
        env={"BUSSDCC_PLUGINS": "alpha"},
        pythonpath=[two_plugins.root],
    )
    assert result.returncode == 0 and result.stderr == ""


# -- load_plugins() ------------------------------------------------------------------------


def test_load_plugins_is_idempotent(site: Any, python: Any, tmp_path: Path) -> None:
    counter = tmp_path / "imports"
    site.add(
        "bussdcc-test-count",
        f"""
        with open({str(counter)!r}, "a") as f:
            f.write("x")
        from bussdcc_framework import hookimpl

        @hookimpl
        def register_message_types():
            return []
    """,
        entry_point="count",
    )
    result = python(
        """
        import os
        from bussdcc_framework.plugins import load_plugins
        first = load_plugins()
        os.environ["BUSSDCC_PLUGINS"] = ""  # later calls do not discover again
        second = load_plugins()
        assert first is second
        print([r.name for r in second.loaded()])
        """,
        env={"BUSSDCC_PLUGINS": "count"},
        pythonpath=[site.root],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['count']"
    assert counter.read_text() == "x"


def test_loading_every_plugin_does_not_import_flask(python: Any) -> None:
    result = python(
        """
        import sys
        from bussdcc_framework.plugins import load_plugins, load_settings
        from bussdcc_framework.runtime import Runtime
        pm = load_plugins()
        settings = load_settings()
        pm.message_types()
        pm.sources(settings)
        pm.commands(settings)
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in {"flask", "flask_socketio", "socketio", "engineio"})
        print(" ".join(sorted(record.dist for record in pm.loaded())), heavy)
        """,
        env={"BUSSDCC_PLUGINS": None},
    )
    assert result.returncode == 0, result.stderr
    workspace = sorted(
        f"bussdcc-framework-{path.parent.name}" for path in REPO.glob("plugins/*/pyproject.toml")
    )  # every plugin of the workspace, today and tomorrow
    assert len(workspace) >= 6
    assert result.stdout.strip() == f"{' '.join(workspace)} []"


def test_the_cli_does_not_import_flask_to_list_plugins(python: Any) -> None:
    result = python(
        """
        import sys
        from bussdcc_framework.cli import main
        try:
            main(["plugins"])
        except SystemExit:
            pass
        print(sorted(m for m in sys.modules if m.split(".")[0] in {"flask", "flask_socketio"}),
              file=sys.stderr)
        """
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_the_record_of_a_loaded_plugin_holds_the_plugin_itself(two_plugins: Any, python: Any) -> None:
    result = python(
        """
        import sys
        from bussdcc_framework.plugins import load_plugins
        records = load_plugins().records
        print(records["alpha"].plugin is sys.modules["bussdcc_test_alpha"], records["beta"].plugin is None)
        """,
        env={"BUSSDCC_PLUGINS": "alpha"},
        pythonpath=[two_plugins.root],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]  # beta, not selected, was never imported


def test_load_plugins_keeps_each_problem_line_it_reported(site: Any, python: Any, tmp_path: Path) -> None:
    site.add("bussdcc-test-bomb", bomb_source(tmp_path / "m"), version="2.0.1", entry_point="bomb")
    result = python(
        """
        import json
        from bussdcc_framework.plugins import load_plugins
        print(json.dumps(load_plugins().problems))
        """,
        env={"BUSSDCC_PLUGINS": "bomb"},
        pythonpath=[site.root],
    )
    assert result.returncode == 0, result.stderr
    assert (
        json.loads(result.stdout)
        == result.stderr.splitlines()
        == [
            'bussdcc: plugin "bussdcc-test-bomb 2.0.1" (bomb = bussdcc_test_bomb) failed to load: '
            "RuntimeError: kaboom; disable it with BUSSDCC_DISABLE_PLUGINS=bomb"
        ]
    )


def test_normalize_name_folds_case_blanks_and_runs_of_separators_to_one_dash() -> None:
    assert normalize_name(" Bussdcc_Framework..Web-UI ") == "bussdcc-framework-web-ui"
    assert normalize_name("jsonl") == "jsonl"


def test_create_plugin_manager_reads_strict_and_trace_from_the_environment_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("BUSSDCC_STRICT_PLUGINS", "BUSSDCC_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    given = create_plugin_manager(
        {"BUSSDCC_PLUGINS": "", "BUSSDCC_STRICT_PLUGINS": "1", "BUSSDCC_TRACE_PLUGINS": "yes"}
    )
    assert given.strict and given.tracing and given.get_plugins() == set()
    plain = create_plugin_manager({"BUSSDCC_PLUGINS": ""})
    assert not plain.strict and not plain.tracing
    monkeypatch.setenv("BUSSDCC_PLUGINS", "")
    monkeypatch.setenv("BUSSDCC_STRICT_PLUGINS", "on")
    assert create_plugin_manager().strict  # no environment given: the process's


def test_an_unknown_name_with_no_plugin_installed_says_none_are(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bussdcc_framework import discovery

    monkeypatch.setattr(discovery, "entry_points", lambda group: [])  # nothing installed
    pm = create_plugin_manager({"BUSSDCC_PLUGINS": "jsonl"})
    assert pm.get_plugins() == set()
    assert capsys.readouterr().err == (
        'bussdcc: BUSSDCC_PLUGINS names "jsonl", which is not installed; installed plugins: none\n'
    )


def test_hook_names_are_the_hookspecs_in_their_order() -> None:
    assert hook_names() == [
        "register_settings",
        "register_message_types",
        "register_sinks",
        "register_services",
        "register_processes",
        "register_sources",
        "register_commands",
        "register_routes",
        "on_event",
    ]


# -- plugins of the application, registered in process -------------------------------------
# (in-process calls: these are the API an application and the testing fixtures use)


class Greenhouse:
    """An application's own plugin."""

    @hookimpl
    def register_settings(self) -> list[Setting]:
        return [Setting("greenhouse", "vents", "int", 2)]


class Unmarked:
    """Three hook-named functions without ``@hookimpl``: a plain, a static and a class method."""

    register_message_types = ("a hook-named attribute", "that is not a function: not reported")

    def register_sinks(self, settings: Any) -> list[Any]:
        return []

    @staticmethod
    def register_services(settings: Any) -> list[Any]:
        return []

    @classmethod
    def register_processes(cls, settings: Any) -> list[Any]:
        return []


@pytest.fixture
def no_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process-wide manager, discovered afresh with no installed plugin selected."""
    monkeypatch.setenv("BUSSDCC_PLUGINS", "")
    reset_plugins()
    yield
    reset_plugins()


def test_add_plugin_registers_an_in_process_plugin_and_records_it() -> None:
    pm = FrameworkPluginManager()
    plugin = Greenhouse()
    record = add_plugin(pm, plugin, "greenhouse", "greenhouse (app)")
    assert pm.get_plugin("greenhouse") is plugin and record.plugin is plugin
    assert pm.records["greenhouse"] is record
    assert record.label == "greenhouse"
    assert record.as_dict() == {
        "name": "greenhouse",
        "distribution": None,
        "version": None,
        "entry_point": "greenhouse (app)",
        "status": "loaded",
        "error": None,
        "hooks": ["register_settings"],
        "warnings": [],
    }
    assert load_settings(environ={}, plugins=pm)["greenhouse.vents"] == 2


def test_add_plugin_refuses_a_misspelt_hook_naming_the_plugin_and_registers_nothing() -> None:
    class Typo:  # every problem is reported, in name order, not only the first
        @hookimpl
        def on_event(self, ctx: Any, evt: Any, colour: str) -> None: ...

        @hookimpl
        def register_message_types(self, colour: str) -> list[Any]:
            return []

        @hookimpl
        def register_sink(self, settings: Any) -> list[Any]:
            return []

        @hookimpl
        def register_sources(self, settings: Any, colour: str, shade: str) -> list[Any]:
            return []

    pm = FrameworkPluginManager()
    typo = Typo()
    with pytest.raises(pluggy.PluginValidationError) as info:
        add_plugin(pm, typo, "typo", "typo (app)")
    assert info.value.plugin is typo
    assert str(info.value) == (
        'plugin "typo": hook "on_event" takes argument(s) colour that the hook does not provide '
        '(it provides: ctx, evt); hook "register_message_types" takes argument(s) colour that the '
        'hook does not provide (it provides: none); hook "register_sink" is not a bussdcc_framework '
        'hook (did you mean "register_sinks"?); hook "register_sources" takes argument(s) colour, '
        "shade that the hook does not provide (it provides: settings)"
    )
    assert pm.get_plugins() == set() and pm.records == {}


def test_add_plugin_accepts_an_optional_argument_the_hook_does_not_provide() -> None:
    class Optional:
        @hookimpl
        def register_sinks(self, settings: Any, label: str = "x") -> list[Any]:
            return []

    record = add_plugin(FrameworkPluginManager(), Optional(), "optional", "optional (app)")
    assert record.hooks == ["register_sinks"]


def test_a_hook_whose_signature_cannot_be_read_does_not_stop_checking_the_others() -> None:
    def register_commands(settings: Any) -> list[Any]:
        return []

    register_commands.__signature__ = "unreadable"  # type: ignore[attr-defined]
    plugin = ModuleType("unreadable_plugin")
    plugin.register_commands = hookimpl(register_commands)  # type: ignore[attr-defined]
    plugin.register_sink = hookimpl(lambda settings: [])  # type: ignore[attr-defined]
    with pytest.raises(pluggy.PluginValidationError, match=r'hook "register_sink" is not a '):
        add_plugin(FrameworkPluginManager(), plugin, "unreadable", "unreadable (app)")


def test_add_plugin_refuses_an_unknown_hook_without_a_close_one_with_no_suggestion() -> None:
    class Odd:
        @hookimpl
        def zzz(self) -> None: ...

    with pytest.raises(pluggy.PluginValidationError) as info:
        add_plugin(FrameworkPluginManager(), Odd(), "odd", "odd (app)")
    assert str(info.value) == 'plugin "odd": hook "zzz" is not a bussdcc_framework hook'


def test_add_plugin_knows_a_hook_implemented_under_another_name_with_specname() -> None:
    class Renamed:
        @hookimpl(specname="register_settings")
        def settings(self) -> list[Setting]:
            return [Setting("renamed", "level", "int", 3)]

    pm = FrameworkPluginManager()
    record = add_plugin(pm, Renamed(), "renamed", "renamed (app)")
    assert record.hooks == ["register_settings"]
    assert load_settings(environ={}, plugins=pm)["renamed.level"] == 3


def test_add_plugin_lists_and_checks_a_hook_on_a_dunder_method() -> None:
    # pluggy registers and calls a dunder method marked @hookimpl(specname=...): it is listed
    # and validated like any other hook.
    class Callable_:
        @hookimpl(specname="register_settings")
        def __call__(self) -> list[Setting]:
            return [Setting("dunder", "level", "int", 1)]

    pm = FrameworkPluginManager()
    assert add_plugin(pm, Callable_(), "dunder", "dunder (app)").hooks == ["register_settings"]
    assert load_settings(environ={}, plugins=pm)["dunder.level"] == 1

    class Misspelt:
        @hookimpl(specname="register_setting")
        def __call__(self) -> list[Setting]:
            return []

    with pytest.raises(pluggy.PluginValidationError, match='hook "register_setting" is not a '):
        add_plugin(FrameworkPluginManager(), Misspelt(), "misspelt", "misspelt (app)")


def test_add_plugin_reports_each_hook_named_function_without_hookimpl(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pm = FrameworkPluginManager()
    record = add_plugin(pm, Unmarked(), "unmarked", "unmarked (app)")
    assert [w.split(" ")[0] for w in record.warnings] == [
        "register_sinks",
        "register_services",
        "register_processes",
    ]
    assert record.warnings[0] == (
        f"register_sinks ({__file__}:{Unmarked.register_sinks.__code__.co_firstlineno}) is named like a "
        "hook but not marked @hookimpl, so it is never called; mark it with @hookimpl "
        "(from bussdcc_framework import hookimpl) or rename it"
    )
    lines = [f'bussdcc: plugin "unmarked": {warning}' for warning in record.warnings]
    assert pm.problems == lines
    assert capsys.readouterr().err.splitlines() == lines
    assert pm.records["unmarked"].status == "loaded" and pm.get_plugin("unmarked") is not None


def test_add_plugin_in_strict_mode_refuses_a_hook_named_function_without_hookimpl() -> None:
    pm = FrameworkPluginManager(strict=True)
    with pytest.raises(PluginLoadError) as info:
        add_plugin(pm, Unmarked(), "unmarked", "unmarked (app)")
    assert str(info.value).startswith('bussdcc: plugin "unmarked": register_sinks (')
    assert pm.problems == [str(info.value)]
    assert pm.get_plugins() == set() and pm.records == {}


def test_register_plugin_adds_to_the_process_wide_manager_once_and_unregister_removes_it(
    no_plugins: None,
) -> None:
    plugin = Greenhouse()
    pm = register_plugin(plugin, "greenhouse")
    assert pm is load_plugins()
    assert pm.get_plugin("greenhouse") is plugin
    assert pm.records["greenhouse"].entry_point == "greenhouse (registered in process)"
    assert load_settings({"greenhouse.vents": "6"}, environ={})["greenhouse.vents"] == 6
    # registered already (an installed plugin found again, a second call): left as it is
    assert register_plugin(plugin, "again") is pm and "again" not in pm.records
    unregister_plugin("greenhouse")
    assert pm.get_plugin("greenhouse") is None and "greenhouse" not in pm.records
    unregister_plugin("greenhouse")  # nothing left to remove: no error


def test_register_plugin_names_a_module_by_its_name_and_an_object_by_its_repr(no_plugins: None) -> None:
    module = ModuleType("greenhouse_app")
    module.register_settings = hookimpl(lambda: [Setting("greenhouse", "vents", "int", 2)])  # type: ignore[attr-defined]
    plugin = Greenhouse()
    pm = register_plugin(module)
    register_plugin(plugin)
    assert pm.get_plugin("greenhouse_app") is module
    assert pm.get_plugin(repr(plugin)) is plugin
    assert pm.records[repr(plugin)].entry_point == f"{plugin!r} (registered in process)"


def test_reset_plugins_makes_the_next_load_discover_a_new_manager(no_plugins: None) -> None:
    first = load_plugins()
    reset_plugins()
    second = load_plugins()
    assert isinstance(second, FrameworkPluginManager) and second is not first
    assert load_plugins() is second


def test_load_settings_reads_the_given_manager_not_the_process_wide_one(no_plugins: None) -> None:
    pm = FrameworkPluginManager()
    add_plugin(pm, Greenhouse(), "greenhouse", "greenhouse (app)")
    settings = load_settings(environ={"BUSSDCC_GREENHOUSE_VENTS": "4"}, plugins=pm)
    assert settings["greenhouse.vents"] == 4
    assert load_settings({"greenhouse.vents": "7"}, environ={}, plugins=pm)["greenhouse.vents"] == 7
    with pytest.raises(SettingError):
        load_settings({"greenhouse.vents": "7"}, environ={})  # the process-wide one has no greenhouse
