"""Meta-tests: every hook is documented, exemplified and tested; every core variable documented.

Adding a hook to ``hookspecs.py`` without a ``## <hook>`` section in ``docs/plugin-hooks.md`` or
a ``test_hook_<hook>`` test makes this fail, as datasette does for its hooks.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

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


def test_functions_anywhere() -> set[str]:
    """Names of every test function in the core's and the plugins' test suites."""
    names: set[str] = set()
    files = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("plugins/*/tests/**/*.py")]
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        names.update(
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
        )
    return names


test_functions_anywhere.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test

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


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_behavioural_test(hook: str) -> None:
    assert f"test_hook_{hook}" in test_functions_anywhere(), (
        f"no test function named test_hook_{hook} under tests/ or plugins/*/tests/"
    )


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
