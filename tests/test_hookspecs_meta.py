"""Meta-tests: every hook is documented, exemplified and tested; every core variable documented.

Adding a hook to ``hookspecs.py`` without a ``## <hook>`` section in ``docs/plugin-hooks.md`` or
a ``test_hook_<hook>`` test makes this fail, as datasette does for its hooks. The test must also
do its job: it is run (``tests/hook_exercise.py``) and must pass, run assertions and call the
hook it is named after.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bussdcc_framework import hookspecs
from bussdcc_framework.plugins import hook_names

ROOT = Path(__file__).resolve().parents[1]
HOOK_DOCS = ROOT / "docs" / "plugin-hooks.md"
CONFIG_DOCS = ROOT / "docs" / "configuration.md"
CLI_DOCS = ROOT / "docs" / "cli.md"


def sections(markdown: str) -> dict[str, str]:
    """``## heading`` -> the text up to the next ``##`` heading."""
    parts = re.split(r"^## +(.+?)\s*$", markdown, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.M | re.S)


def hook_tests() -> dict[str, str]:
    """``test_hook_<name>`` -> its pytest node id, from every test file of the core and plugins."""
    found: dict[str, str] = {}
    files = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("plugins/*/tests/**/*.py")]
    for path in sorted(files):
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(
                "test_hook_"
            ):
                found[node.name] = f"{path.relative_to(ROOT)}::{node.name}"
    return found


def exercise(nodeids: list[str], where: Path, root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """Run ``nodeids`` in a child pytest with ``tests/hook_exercise.py``; its report by node id.

    ``enable_assertion_pass_hook`` needs freshly rewritten test modules, hence a private
    ``PYTHONPYCACHEPREFIX``.
    """
    report = where / "exercise.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env.update(
        HOOK_EXERCISE_REPORT=str(report),
        PYTHONPATH=str(ROOT / "tests"),
        PYTHONPYCACHEPREFIX=str(where / "pycache"),
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-p",
            "hook_exercise",
            "-o",
            "enable_assertion_pass_hook=true",
            "--rootdir",
            str(root),
            *nodeids,
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), result.stdout + result.stderr
    results: dict[str, dict[str, Any]] = json.loads(report.read_text())
    return results


HOOKS = hook_names()


def test_the_hook_list_is_complete() -> None:
    assert HOOKS == [
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


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docs_section_with_signature_and_example(hook: str) -> None:
    documented = sections(HOOK_DOCS.read_text())
    assert hook in documented, f"docs/plugin-hooks.md has no '## {hook}' section"
    body = documented[hook]
    params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"{hook}(" in body and all(p.strip() in body for p in params.split(",") if p), (
        f"the '## {hook}' section does not show the signature {hook}({params})"
    )
    assert "**When:**" in body, f"the '## {hook}' section does not say when the hook fires"
    examples = python_blocks(body)
    assert any(f"def {hook}(" in block for block in examples), (
        f"the '## {hook}' section has no python example implementing {hook}"
    )


@pytest.fixture(scope="module")
def exercised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """What each ``test_hook_<name>`` did when run (once for the module)."""
    tests = hook_tests()
    nodeids = [tests[f"test_hook_{hook}"] for hook in HOOKS if f"test_hook_{hook}" in tests]
    return exercise(nodeids, tmp_path_factory.mktemp("exercise"))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_behavioural_test_that_calls_it_and_asserts(
    hook: str, exercised: dict[str, dict[str, Any]]
) -> None:
    name = f"test_hook_{hook}"
    nodeid = hook_tests().get(name)
    assert nodeid is not None, f"no test function named {name} under tests/ or plugins/*/tests/"
    did = exercised.get(nodeid)
    assert did is not None, f"{nodeid} did not run"
    assert did["outcome"] == "passed", f"{nodeid}: {did['outcome']}"
    assert did["asserts"] >= 1, f"{nodeid} passed without running a single assertion"
    assert hook in did["hooks"], (
        f"{nodeid} never called the {hook} hook (called: {did['hooks'] or 'none'}); for a hook "
        "called in a bussdcc subprocess, run it with BUSSDCC_TRACE_PLUGINS=1 and pass its stderr "
        "to the hook_trace fixture"
    )


HOLLOW_HOOK_TESTS = """
from bussdcc_framework import hookimpl
from bussdcc_framework.testing import isolated_plugin_manager


def test_hook_register_sinks():
    class Sinks:
        @hookimpl
        def register_sinks(self, settings):
            return []

    isolated_plugin_manager([Sinks()])  # registered, never called; nothing asserted


def test_hook_register_services():
    class Services:
        @hookimpl
        def register_services(self, settings):
            return []

    pm = isolated_plugin_manager([Services()])
    assert pm.services(None) == []


def test_hook_register_processes():
    assert True  # asserts, calls nothing
"""


@pytest.mark.timeout(600)
def test_the_exercise_report_tells_hollow_hook_tests_from_real_ones(tmp_path: Path) -> None:
    """The meta-test's instrument: a hook test that never calls its hook or asserts nothing shows."""
    (tmp_path / "test_hollow.py").write_text(HOLLOW_HOOK_TESTS)
    names = ("register_sinks", "register_services", "register_processes")
    report = exercise([f"test_hollow.py::test_hook_{h}" for h in names], tmp_path, root=tmp_path)
    sinks, services, processes = (report[f"test_hollow.py::test_hook_{h}"] for h in names)
    assert (sinks["outcome"], sinks["asserts"], sinks["hooks"]) == ("passed", 0, [])
    assert (services["outcome"], services["asserts"], services["hooks"]) == (
        "passed",
        1,
        ["register_services"],
    )
    assert (processes["outcome"], processes["asserts"], processes["hooks"]) == ("passed", 1, [])


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_a_one_line_docstring(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert doc and "\n" not in doc.strip(), f"{hook} needs a one-line docstring"


#: The sections of docs/plugin-hooks.md that are not about one hook.
GENERAL_SECTIONS = {
    "Conventions",
    "The plugin manager",
    "When a hook fails",
    "Replay awareness",
    "The state store",
}


def test_no_docs_section_for_a_hook_that_does_not_exist() -> None:
    documented = set(sections(HOOK_DOCS.read_text())) - GENERAL_SECTIONS
    assert documented == set(HOOKS)


def test_hook_docs_examples_run_and_load_as_plugins() -> None:
    """Each example block is executed in a fresh interpreter and registered as a plugin.

    Registering validates hook names and argument names, so a wrong example fails here.
    """
    blocks = python_blocks(HOOK_DOCS.read_text())
    assert len(blocks) >= len(HOOKS)
    script = textwrap.dedent(
        """
        import sys, types
        from bussdcc_framework.testing import isolated_plugin_manager

        blocks = %r
        for index, source in enumerate(blocks):
            module = types.ModuleType(f"docs_example_{index}")
            sys.modules[module.__name__] = module
            exec(compile(source, f"docs/plugin-hooks.md block {index}", "exec"), module.__dict__)
            pm = isolated_plugin_manager([module])
            print(index, sorted(h.name for h in pm.get_hookcallers(module) or []))
        """
    ) % (blocks,)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    implemented = {hook for line in result.stdout.splitlines() for hook in HOOKS if f"'{hook}'" in line}
    assert implemented == set(HOOKS)


def test_every_core_environment_variable_is_documented() -> None:
    used: set[str] = set()
    for path in (ROOT / "core" / "bussdcc_framework").rglob("*.py"):
        used.update(re.findall(r"\bBUSSDCC_[A-Z][A-Z_]*[A-Z]\b", path.read_text()))
    assert {
        "BUSSDCC_PLUGINS",
        "BUSSDCC_DISABLE_PLUGINS",
        "BUSSDCC_STRICT_PLUGINS",
        "BUSSDCC_TRACE_PLUGINS",
    } <= used
    documented = set(sections(CONFIG_DOCS.read_text()))
    missing = sorted(var for var in used if not any(var in heading for heading in documented))
    assert missing == [], f"docs/configuration.md has no section for {missing}"
    assert "bussdcc settings" in CONFIG_DOCS.read_text()


def test_every_core_command_is_documented() -> None:
    from bussdcc_framework.cli import cli

    documented = sections(CLI_DOCS.read_text())
    for name in ("run", "plugins", "settings"):
        assert any(heading.startswith(f"bussdcc {name}") for heading in documented), name
        command = cli.commands[name]
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--"):
                    body = next(v for k, v in documented.items() if k.startswith(f"bussdcc {name}"))
                    assert option in body, f"docs/cli.md: bussdcc {name} does not document {option}"
    assert any("--version" in heading for heading in documented)
