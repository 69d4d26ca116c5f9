"""``--import PKG`` (``TypeRegistry.allow_import``) opens PKG and its sub-modules, nothing else.

Names in a recording are data: ``--import greenhouse`` must not let a record import
``greenhouse_evil``, ``greenhouseevil`` or ``green`` (which merely share a prefix), nor should
``--import greenhouse.messages`` open its sibling ``greenhouse.sub``. Every module here leaves a
marker file when imported, so "refused" also means "never imported".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bussdcc_framework.codec import default_registry

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
