"""``--import PKG`` (``TypeRegistry.allow_import``) opens PKG and its sub-modules, nothing else.

Names in a recording are data: ``--import greenhouse`` must not let a record import
``greenhouse_evil``, ``greenhouseevil`` or ``green`` (which merely share a prefix), nor should
``--import greenhouse.messages`` open its sibling ``greenhouse.sub``. Every module here leaves a
marker file when imported, so "refused" also means "never imported".
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from bussdcc_framework.codec import Codec, DecodeError, TypeRegistry, default_registry

MODULE = """
from dataclasses import dataclass
from pathlib import Path

from bussdcc.message import Message

Path({marker!r}).write_text("imported")


@dataclass(slots=True, frozen=True)
class Payload(Message):
    value: int
"""


class Tree:
    """A package ``<base>`` (with ``messages`` and ``sub.deep``) and look-alike modules beside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = f"greenhouse{uuid.uuid4().hex[:8]}"
        self.markers = root / "markers"
        self.markers.mkdir(parents=True)
        self.lookalikes = [f"{self.base}_evil", f"{self.base}evil", self.base[:-3], f"{self.base[:-3]}_x"]
        for dotted in [self.base, f"{self.base}.messages", f"{self.base}.sub", f"{self.base}.sub.deep"]:
            parts = dotted.split(".")
            package = root.joinpath(*parts)
            package.mkdir(parents=True, exist_ok=True)
            self._write(package / "__init__.py", dotted)
        for name in self.lookalikes:
            self._write(root / f"{name}.py", name)

    def _write(self, path: Path, module: str) -> None:
        path.write_text(textwrap.dedent(MODULE.format(marker=str(self.markers / module))))

    def imported(self) -> set[str]:
        return {p.name for p in self.markers.iterdir()}

    def modules(self) -> list[str]:
        return [
            self.base,
            f"{self.base}.messages",
            f"{self.base}.sub",
            f"{self.base}.sub.deep",
            *self.lookalikes,
        ]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tree]:
    made = Tree(tmp_path / "site")
    monkeypatch.syspath_prepend(str(made.root))
    yield made
    for name in made.modules():
        sys.modules.pop(name, None)


def test_a_package_opens_its_sub_modules_and_nothing_that_shares_its_prefix(tree: Tree) -> None:
    registry = default_registry(plugins=False)
    registry.allow_import(tree.base)
    for name in tree.lookalikes:
        assert registry.resolve(f"{name}:Payload") is None, name
    assert tree.imported() == set()  # refused before any import
    assert registry.resolve(f"{tree.base}.messages:Payload") is not None
    assert registry.resolve(f"{tree.base}.sub.deep:Payload") is not None
    assert tree.imported() == {
        tree.base,
        f"{tree.base}.messages",
        f"{tree.base}.sub",
        f"{tree.base}.sub.deep",
    }


def test_a_sub_module_opens_neither_its_parent_nor_its_siblings(tree: Tree) -> None:
    registry = default_registry(plugins=False)
    registry.allow_import(f"{tree.base}.messages")
    assert registry.resolve(f"{tree.base}.sub.deep:Payload") is None
    assert registry.resolve(f"{tree.base}.messagesx:Payload") is None
    assert tree.imported() == set()
    assert registry.resolve(f"{tree.base}.messages:Payload") is not None
    # importing the sub-module ran the parent's __init__ (Python does), but not the sibling
    assert tree.imported() == {tree.base, f"{tree.base}.messages"}


def test_bussdcc_replay_import_opens_only_the_named_package(tree: Tree, tmp_path: Path) -> None:
    names = [f"{tree.base}.messages", *tree.lookalikes]
    recording = tmp_path / "rec.jsonl"
    recording.write_text(
        "".join(
            json.dumps(
                {"time": f"2026-03-09T12:00:0{i}+00:00", "type": f"{name}:Payload", "data": {"value": i}}
            )
            + "\n"
            for i, name in enumerate(names)
        )
    )
    env = {"PYTHONPATH": str(tree.root), "BUSSDCC_PLUGINS": "replay"}
    bussdcc = str(Path(sys.executable).parent / "bussdcc")
    result = subprocess.run(
        [bussdcc, "replay", str(recording), "--speed", "0", "--import", tree.base],
        env={**os.environ, **env},  # conftest.py keeps BUSSDCC_* of the shell out
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert tree.imported() == {tree.base, f"{tree.base}.messages"}
    lines = result.stderr.splitlines()
    assert lines[0].startswith("replayed 1 events from 1 file(s)"), result.stderr
    unknown = next(line for line in lines if line.startswith("unknown types"))
    assert unknown.startswith(f"unknown types ({len(tree.lookalikes)} record(s) not decoded): ")
    assert all(f"{name}:Payload (1)" in unknown for name in tree.lookalikes), unknown


# -- what an allowed import remembers ----------------------------------------------------------


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """``write_module(source)`` writes an importable module with a fresh name and returns it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(source: str) -> str:
        name = f"allowed_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


def test_a_resolved_allowed_class_is_imported_once_not_per_record(
    write_module: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = write_module(MODULE.format(marker=os.devnull))
    registry = TypeRegistry(include_imported=False)
    registry.allow_import(name)
    imports: list[str] = []
    real_import = importlib.import_module

    def counting_import(module: str, package: str | None = None) -> ModuleType:
        imports.append(module)
        return real_import(module, package)

    monkeypatch.setattr(importlib, "import_module", counting_import)
    classes = {registry.resolve(f"{name}:Payload") for _ in range(3)}
    assert [cls.__name__ for cls in classes if cls is not None] == ["Payload"]
    assert imports == [name]


def test_an_allowed_module_resolves_a_class_nested_in_a_class(write_module: Callable[[str], str]) -> None:
    name = write_module(
        """
        from dataclasses import dataclass
        from bussdcc.message import Message

        class Greenhouse:
            @dataclass(frozen=True)
            class Vent(Message):
                open: bool
        """
    )
    registry = TypeRegistry(include_imported=False)
    registry.allow_import(name)
    cls = registry.resolve(f"{name}:Greenhouse.Vent")
    assert cls is sys.modules[name].Greenhouse.Vent
    assert registry.import_errors == {}


def test_a_module_that_fails_to_import_is_tried_once_and_every_name_in_it_gets_the_error(
    write_module: Callable[[str], str], tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    name = write_module(
        f"""
        with open({str(runs)!r}, "a") as out:
            out.write("run ")
        raise RuntimeError("sensor table missing")
        """
    )
    registry = TypeRegistry(include_imported=False)
    registry.allow_import(name)
    assert registry.resolve(f"{name}:Vent") is None
    assert registry.resolve(f"{name}:Pump") is None
    assert runs.read_text() == "run "
    error = "RuntimeError: sensor table missing"
    assert registry.module_errors == {name: error}
    assert registry.import_errors == {f"{name}:Vent": error, f"{name}:Pump": error}
    with pytest.raises(DecodeError) as info:
        Codec(registry).resolve(f"{name}:Pump")
    assert info.value.detail == f"{name}:Pump: {error}"


def test_a_name_missing_from_an_allowed_module_gets_the_attribute_error(
    write_module: Callable[[str], str],
) -> None:
    name = write_module(MODULE.format(marker=os.devnull))
    registry = TypeRegistry(include_imported=False)
    registry.allow_import(name)
    assert registry.resolve(f"{name}:Missing") is None
    assert registry.import_errors == {
        f"{name}:Missing": f"AttributeError: module '{name}' has no attribute 'Missing'"
    }


def test_import_errors_remember_at_most_max_import_errors_names(
    write_module: Callable[[str], str],
) -> None:
    # Data may name millions of missing classes: the error record must not grow with them,
    # neither for names missing from a module nor for names in a module that failed to import.
    present = write_module(MODULE.format(marker=os.devnull))
    broken = write_module('raise ImportError("no")\n')
    registry = TypeRegistry(include_imported=False)
    registry.max_import_errors = 3
    registry.allow_import(present)
    registry.allow_import(broken)
    for i in range(5):
        assert registry.resolve(f"{present}:Missing{i}") is None
    assert list(registry.import_errors) == [f"{present}:Missing{i}" for i in range(3)]
    registry.import_errors.clear()
    for i in range(5):
        assert registry.resolve(f"{broken}:Missing{i}") is None
    assert list(registry.import_errors) == [f"{broken}:Missing{i}" for i in range(3)]
    assert registry.module_errors == {broken: "ImportError: no"}


def test_past_max_import_errors_a_name_in_a_broken_module_still_gets_the_modules_error(
    write_module: Callable[[str], str],
) -> None:
    broken = write_module('raise ImportError("no sensor table")\n')
    registry = TypeRegistry(include_imported=False)
    registry.max_import_errors = 1
    registry.allow_import(broken)
    codec = Codec(registry)
    for name in ("Vent", "Pump"):
        with pytest.raises(DecodeError) as info:
            codec.resolve(f"{broken}:{name}")
        assert info.value.detail == f"{broken}:{name}: ImportError: no sensor table"
    assert list(registry.import_errors) == [f"{broken}:Vent"]  # the second name was not kept
