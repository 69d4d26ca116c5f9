"""Stage one mutation-testing target for mutmut 3 and print where (see docs/testing.md).

mutmut 3 mutates code under ``./``, ``src/`` or ``source/`` and imports it from ``mutants/``;
this repository keeps the core in ``core/`` and each plugin in ``plugins/<name>/``. So a target
is staged in a directory of its own: every package under ``src/`` (the core and all plugins,
so that imports and entry points resolve to the mutated copies), the target's tests under
``tests/``, the repository's ``conftest.py`` and a ``pyproject.toml`` naming what to mutate.

Tests that run ``bussdcc`` or ``python`` as a subprocess see the mutants too: ``children.py``
(a ``.pth`` hook installed in the venv, inert unless ``MUTMUT_STAGE_SRC`` is set) puts the
mutated sources first on the child's ``sys.path`` and reports the functions the child called
back to the parent, which maps them to the test as mutmut does for in-process calls.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import sysconfig
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: target -> (files to mutate, relative to src/; test files or directories, relative to ROOT)
TARGETS: dict[str, tuple[list[str], list[str]]] = {
    "web-auth": (
        ["bussdcc_framework_web/auth.py"],
        [
            "plugins/web/tests/test_access_gate.py",
            "plugins/web/tests/test_origins.py",
            "plugins/web/tests/test_web_app.py",
            "plugins/web/tests/test_web_live.py",
        ],
    ),
    "codec-registry": (
        ["bussdcc_framework/codec/registry.py"],
        [
            "tests/test_codec.py",
            "tests/test_codec_event_fields.py",
            "tests/test_import_allow_list.py",
            "tests/test_hooks.py",
        ],
    ),
    "settings": (
        ["bussdcc_framework/settings.py"],
        ["tests/test_settings.py", "tests/test_settings_constraints.py", "tests/test_settings_bad_units.py"],
    ),
    "jsonl": (
        ["bussdcc_framework_jsonl/sink.py", "bussdcc_framework_jsonl/writer.py"],
        [
            "plugins/jsonl/tests/test_jsonl_sink.py",
            "plugins/jsonl/tests/test_flush_modes.py",
            "plugins/jsonl/tests/test_outages.py",
            "plugins/jsonl/tests/test_retention.py",
            "plugins/jsonl/tests/test_index_writing.py",
            "plugins/jsonl/tests/test_hostile_input.py",
        ],
    ),
    "discovery": (
        ["bussdcc_framework/discovery.py"],
        ["tests/test_plugins.py", "tests/test_selection_imports.py", "tests/test_manager.py"],
    ),
}

PTH = "bussdcc_mutmut_children.pth"


def check_plugins_installed(packages: list[str]) -> None:
    """Stop when a plugin of the tree has no entry point in this venv.

    Plugins are found through the venv's installed entry points, not through ``src/``: a venv
    synced before a plugin was added stages fine but loads one plugin fewer, and the tests that
    count the plugins then fail mutmut's clean run with a puzzling "5 != 6".
    """
    installed = {ep.value.split(":")[0].split(".")[0] for ep in entry_points(group="bussdcc_framework")}
    missing = sorted(set(packages) - installed)
    if missing:
        raise SystemExit(
            f"stage.py: {', '.join(missing)} not installed in {sys.prefix} (a plugin added since "
            "the last sync): run `uv sync --all-extras --all-packages` in this worktree first"
        )


def stage(target: str, where: Path) -> Path:
    files, tests = TARGETS[target]
    if where.exists():
        shutil.rmtree(where)
    src = where / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "core" / "bussdcc_framework", src / "bussdcc_framework", ignore=ignore)
    plugins = [p for p in sorted((ROOT / "plugins").glob("*/bussdcc_framework_*")) if p.is_dir()]
    check_plugins_installed([p.name for p in plugins])
    for package in plugins:
        shutil.copytree(package, src / package.name, ignore=ignore)
    selection = []
    for test in tests:
        origin = ROOT / test
        # plugins/<name>/tests/x.py -> tests/<name>/x.py, with that directory's conftest and helpers
        parts = Path(test).parts
        dest_dir = where / "tests" / (parts[1] if parts[0] == "plugins" else "")
        for helper in origin.parent.glob("*.py"):
            if not helper.name.startswith("test_"):
                dest_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy2(helper, dest_dir / helper.name)
        for data in origin.parent.iterdir():
            if data.is_dir() and data.name not in ("__pycache__",):
                shutil.copytree(data, dest_dir / data.name, dirs_exist_ok=True, ignore=ignore)
        dest_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, dest_dir / origin.name)
        selection.append(str((dest_dir / origin.name).relative_to(where)))
    shutil.copy2(ROOT / "conftest.py", where / "conftest.py")
    shutil.copy2(Path(__file__).with_name("children.py"), where / "mutmut_children.py")
    only = ", ".join(f'"src/{f}"' for f in files)
    tests_arg = ", ".join(f'"{t}"' for t in selection)
    (where / "pyproject.toml").write_text(
        f"""[tool.mutmut]
source_paths = ["src"]
also_copy = ["conftest.py", "mutmut_children.py"]
only_mutate = [{only}]
pytest_add_cli_args_test_selection = [{tests_arg}]
pytest_add_cli_args = ["-p", "mutmut_children", "-p", "no:cacheprovider", "--import-mode=importlib",
                       "-W", "ignore::pytest.PytestUnraisableExceptionWarning"]

[tool.pytest.ini_options]
timeout = 300
markers = ["slow: slow", "browser: browser"]
"""
    )
    site = Path(sysconfig.get_paths()["purelib"])
    (site / PTH).write_text("import mutmut_children_hook\n")
    shutil.copy2(Path(__file__).with_name("children_hook.py"), site / "mutmut_children_hook.py")
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument(
        "--where", type=Path, help="the staging directory (default: /tmp/bussdcc-mutmut/TARGET)"
    )
    args = parser.parse_args()
    where = args.where or Path("/tmp/bussdcc-mutmut") / args.target
    print(stage(args.target, where.resolve()))


if __name__ == "__main__":
    sys.exit(main())
