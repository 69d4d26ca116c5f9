"""The documentation builds, and every Python code block in it runs.

A fenced ```python block in ``docs/*.md`` is written to a file and executed in a subprocess
(fresh interpreter, temporary working directory, a time bound). A block that defines
``test_*`` functions is run with pytest instead, so the testing guide's examples are real
tests. A block that deliberately cannot run is marked with ``<!-- no-run -->`` on the line
before its fence; such blocks must stay rare.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CONFIG = REPO / ".mkdocs.yml"
NO_RUN = "<!-- no-run -->"
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+|~~~+)\s*(?P<info>[^\n]*)$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    info: str
    code: str
    marked_no_run: bool

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def language(self) -> str:
        return self.info.split()[0].lower() if self.info.split() else ""

    @property
    def is_test_module(self) -> bool:
        return re.search(r"^def test_\w+\(", self.code, re.M) is not None


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown file, with the line its fence opens on."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening.group("fence")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j])
            j += 1
        previous = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        blocks.append(Block(path, i + 1, opening.group("info").strip(), "\n".join(body) + "\n",
                            previous == NO_RUN or 'title="not-run"' in opening.group("info")))
        i = j + 1
    return blocks


def python_blocks() -> list[Block]:
    return [b for path in sorted(DOCS.glob("*.md")) for b in fenced_blocks(path)
            if b.language in ("python", "py")]


def doc_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    # Blocks that compose a runtime from the installed plugins must not fight over port 5000.
    env["BUSSDCC_WEB_PORT"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    return env


RUNNABLE = [b for b in python_blocks() if not b.marked_no_run]


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    if block.is_test_module:
        (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
        script = tmp_path / "test_block.py"
        script.write_text(block.code, encoding="utf-8")
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", script.name]
    else:
        script = tmp_path / "block.py"
        script.write_text(block.code, encoding="utf-8")
        args = [sys.executable, script.name]
    try:
        done = subprocess.run(args, cwd=tmp_path, env=doc_env(), capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.id}: still running after 60 s (use boot()/shutdown(), not run())")
    assert done.returncode == 0, (
        f"{block.id} failed (exit {done.returncode}):\n{block.code}\n--- stdout ---\n"
        f"{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-3000:]}"
    )
    if block.is_test_module:
        assert re.search(r"\d+ passed", done.stdout) and "failed" not in done.stdout


def test_blocks_that_do_not_run_are_rare() -> None:
    blocks = python_blocks()
    skipped = [b.id for b in blocks if b.marked_no_run]
    assert len(blocks) >= 10
    assert len(skipped) <= max(2, len(blocks) // 10), f"too many no-run blocks: {skipped}"


def test_block_parser_finds_fences_and_marks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# T\n\n```python\nprint(1)\n```\n\n<!-- no-run -->\n```python\nwhile True: pass\n```\n"
        "\n````bash\n```python\nnested\n```\n````\n",
        encoding="utf-8",
    )
    blocks = fenced_blocks(page)
    assert [(b.line, b.language, b.marked_no_run) for b in blocks] == [
        (3, "python", False), (8, "python", True), (12, "bash", False)
    ]
    assert blocks[0].code == "print(1)\n"


def test_every_page_is_in_the_nav() -> None:
    config = CONFIG.read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*([\w-]+\.md)\s*$", config, re.M))
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages - listed == set(), "pages missing from the nav in .mkdocs.yml"
    assert listed - pages == set(), "nav entries without a page in docs/"


def test_site_builds_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "-d",
         str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for page in ("index", "getting-started", "concepts", "writing-plugins", "testing-plugins",
                 "migrating"):
        assert (tmp_path / "site" / page / "index.html").is_file() or page == "index"
    assert (tmp_path / "site" / "index.html").is_file()
