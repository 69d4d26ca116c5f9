"""The documentation builds, and every code block in it runs (or is plainly not code).

Every fenced block of ``docs/*.md`` is one of:

* ``python``: written to a file and executed in a subprocess (fresh interpreter, temporary
  working directory, a time bound). A block that defines ``test_*`` functions is run with
  pytest instead, so the testing guide's examples are real tests.
* ``bash``, ``sh``, ``shell``, ``console``: shell commands, run with bash in a fresh temporary
  directory holding the files the pages talk about (``app.py`` from the getting-started page,
  ``myapp/`` from tests/docs_fixtures/, ``examples/greenhouse/``, the docs and ``.mkdocs.yml``,
  ``.venv`` linked to this checkout's venv, a recording in ``events/`` for a replay), with the
  venv's bin first on PATH, no ``BUSSDCC_*`` variable from the test process and
  ``BUSSDCC_WEB_PORT=0`` so nothing fights over port 5000. Each command line runs in its own
  shell (``set -o pipefail``) and must exit 0 without a Traceback. In a ``console`` block only
  the lines starting with ``$ `` run, and the first word of the output shown under a command
  must begin a line of the real output.
* ``json``, ``jsonl``, ``toml``: data, parsed.
* ``text``: output, diagrams, signatures; not code, and it must not hold ``$ `` command lines
  (fence those as ``console``).

A comment on the line before a fence changes how a block runs:

* ``<!-- run: interrupt-after N -->``: the block's commands run until Ctrl-C (``bussdcc run``,
  ``replay --hold``, ``mkdocs serve``). They are started together; once each has printed
  something (or after ``QUIET_START`` more seconds for one that prints nothing: a busy machine
  may take longer than N to start them), after N more seconds every one still running gets
  SIGINT on its whole process group, as Ctrl-C in a terminal does, and must then exit cleanly
  (0, or 130 for an interrupt) with no Traceback. A command that ends before then must exit 0.
* ``<!-- no-run -->``: the block is not run. For Python blocks this must stay rare. For shell
  blocks it is allowed only for commands that install software, need the network or need the
  whole checkout (``pip install``, ``uv sync``, ``./examples/demo``, ``./tests/run``), which a
  test must not do to the shared venv; ``SHELL_NO_RUN_RULE`` and ``SHELL_NO_RUN_CAP`` check it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CONFIG = REPO / ".mkdocs.yml"
FIXTURES = Path(__file__).resolve().parent / "docs_fixtures"
NO_RUN = "<!-- no-run -->"
INTERRUPT = re.compile(r"^<!--\s*run:\s*interrupt-after\s+(\d+(?:\.\d+)?)\s*-->$")
PYTHON = {"python", "py"}
SHELL = {"bash", "sh", "shell", "console"}
DATA = {"json", "jsonl", "toml"}
PLAIN = {"text"}
# A shell block may be marked no-run only if it installs software, needs the network or needs
# the whole checkout: running it would change the shared venv or depend on the outside world.
SHELL_NO_RUN_RULE = re.compile(
    r"\bpip install\b|\buv sync\b|\./examples/demo\b|\./tests/run\b|\btests/mutation/run\b"
)
# Today: the demo twice (index, getting started), pip install three times (getting started,
# migrating, the plugin skeleton), and testing.md's three: the suite itself, the suite three
# times under load, the mutation run (each takes tens of minutes). A new one needs a reason.
SHELL_NO_RUN_CAP = 8
# Seconds an interrupt-after block's command that prints nothing is given to start (see run_block).
QUIET_START = 15
# Tools outside the venv that a shell block may use; without them the block is skipped.
EXTERNAL_TOOLS = ("jq",)
VENV_BIN = Path(sys.executable).parent
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+|~~~+)\s*(?P<info>[^\n]*)$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    info: str
    code: str
    marked_no_run: bool
    mark: str = ""

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def language(self) -> str:
        return self.info.split()[0].lower() if self.info.split() else ""

    @property
    def interrupt_after(self) -> float | None:
        found = INTERRUPT.match(self.mark)
        return float(found.group(1)) if found else None

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
        blocks.append(
            Block(
                path,
                i + 1,
                opening.group("info").strip(),
                "\n".join(body) + "\n",
                previous == NO_RUN or 'title="not-run"' in opening.group("info"),
                previous,
            )
        )
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [b for path in sorted(DOCS.glob("*.md")) for b in fenced_blocks(path)]


def python_blocks() -> list[Block]:
    return [b for b in all_blocks() if b.language in PYTHON]


def shell_blocks() -> list[Block]:
    return [b for b in all_blocks() if b.language in SHELL]


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
        args = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            script.name,
        ]
    else:
        script = tmp_path / "block.py"
        script.write_text(block.code, encoding="utf-8")
        args = [sys.executable, script.name]
    try:
        done = subprocess.run(args, cwd=tmp_path, env=doc_env(), capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.id}: still running after 60 s (use boot()/shutdown(), not run())")
    assert done.returncode == 0, (
        f"{block.id} failed (exit {done.returncode}):\n{block.code}\n--- stdout ---\n"
        f"{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-3000:]}"
    )
    if block.is_test_module:
        assert re.search(r"\d+ passed", done.stdout) and "failed" not in done.stdout


def test_every_block_is_run_or_plainly_not_code() -> None:
    problems = []
    for b in all_blocks():
        if b.language not in PYTHON | SHELL | DATA | PLAIN:
            problems.append(
                f"{b.id}: fence language {b.info!r}; use python, bash/sh/console, "
                "json/jsonl/toml, or text for output"
            )
        if b.language in PLAIN and re.search(r"^\$ ", b.code, re.M):
            problems.append(f"{b.id}: a text block with '$ ' command lines; fence it as console")
        if (b.marked_no_run or b.interrupt_after is not None) and b.language not in PYTHON | SHELL:
            problems.append(f"{b.id}: run marker on a block that is not code")
        if b.interrupt_after is not None and b.language not in SHELL:
            problems.append(f"{b.id}: interrupt-after is for shell blocks")
    assert not problems, "\n".join(problems)


def test_shell_blocks_that_do_not_run_follow_the_rule() -> None:
    skipped = [b for b in shell_blocks() if b.marked_no_run]
    unjustified = [b.id for b in skipped if not SHELL_NO_RUN_RULE.search(b.code)]
    assert not unjustified, f"no-run shell blocks that neither install nor need the checkout: {unjustified}"
    assert len(skipped) <= SHELL_NO_RUN_CAP, f"too many no-run shell blocks: {[b.id for b in skipped]}"
    assert len(shell_blocks()) - len(skipped) >= 10


DATA_BLOCKS = [b for b in all_blocks() if b.language in DATA]


@pytest.mark.parametrize("block", DATA_BLOCKS, ids=[b.id for b in DATA_BLOCKS])
def test_data_block_parses(block: Block) -> None:
    if block.language == "toml":
        tomllib.loads(block.code)
    elif block.language == "json":
        json.loads(block.code)
    else:
        for n, line in enumerate(block.code.splitlines(), 1):
            if line.strip():
                assert isinstance(json.loads(line), dict), f"{block.id}: line {n} is not an object"


# --- shell blocks -------------------------------------------------------------------------


@dataclass
class Command:
    text: str
    shown: str = ""  # the output a console block shows under it


def shell_commands(block: Block) -> list[Command]:
    """The commands of a shell block: one per logical line (``\\`` continues a line)."""
    commands: list[Command] = []
    if block.language == "console":
        for line in block.code.splitlines():
            if line.startswith("$ "):
                commands.append(Command(line[2:].strip()))
            elif commands:
                commands[-1].shown += line + "\n"
        return commands
    pending = ""
    for line in block.code.splitlines():
        if pending:
            pending += "\n" + line
        elif line.strip() and not line.lstrip().startswith("#"):
            pending = line
        if pending and not pending.endswith("\\"):
            commands.append(Command(pending.strip()))
            pending = ""
    if pending:
        commands.append(Command(pending.strip()))
    return commands


def shell_env() -> dict[str, str]:
    env = doc_env()
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)  # as an activated venv: `uv run` uses it too
    env.pop("PYTHONPATH", None)
    return env


def app_py() -> str:
    """The ``# app.py`` block of the getting-started page: the app.py the pages run."""
    for b in fenced_blocks(DOCS / "getting-started.md"):
        if b.language in PYTHON and b.code.startswith("# app.py\n"):
            return b.code
    raise AssertionError("getting-started.md has no '# app.py' block")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(block: Block, where: Path, request: pytest.FixtureRequest) -> None:
    """The files the docs refer to, as a reader following the pages would have them."""
    (where / "app.py").write_text(app_py(), encoding="utf-8")
    shutil.copytree(FIXTURES / "myapp", where / "myapp")
    (where / ".venv").symlink_to(VENV_BIN.parent, target_is_directory=True)
    if "examples/greenhouse" in block.code:
        shutil.copytree(
            REPO / "examples" / "greenhouse",
            where / "examples" / "greenhouse",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    if "mkdocs" in block.code:
        shutil.copytree(DOCS, where / "docs")
        # `mkdocs serve` on its default port 8000 could meet another test run; any free port.
        config = CONFIG.read_text(encoding="utf-8")
        (where / CONFIG.name).write_text(f"{config}\ndev_addr: 127.0.0.1:{free_port()}\n", encoding="utf-8")
    if re.search(r"\breplay\s+(\./)?events/?(\s|$)", block.code):
        # what `bussdcc run examples/greenhouse/app.py --record events` (the demo) leaves
        shutil.copytree(request.getfixturevalue("greenhouse_recording"), where / "events")


@dataclass
class Outcome:
    command: Command
    returncode: int
    output: str
    interrupted: bool


def start(command: Command, cwd: Path) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = tempfile.TemporaryFile()  # noqa: SIM115 - finish() closes it
    proc = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", command.text],
        cwd=cwd,
        env=shell_env(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, log


def finish(
    command: Command, proc: subprocess.Popen[bytes], log: IO[bytes], interrupted: bool, timeout: float
) -> Outcome:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(
            f"{command.text!r}: still running after {timeout:.0f} s"
            + (" and a SIGINT" if interrupted else "")
            + (
                ""
                if interrupted
                else " (mark a block that runs until Ctrl-C with <!-- run: interrupt-after 3 -->)"
            )
        )
    log.seek(0)
    output = log.read().decode("utf-8", "replace")
    log.close()
    return Outcome(command, proc.returncode, output, interrupted)


#: What a long-running tool prints once it is up, where its first output comes earlier.
READY = {"mkdocs serve": re.compile(rb"Serving on ")}


def is_up(command: Command, log: IO[bytes]) -> bool:
    """Whether ``command`` printed what it prints once up (by default: anything)."""
    ready = next((pattern for tool, pattern in READY.items() if tool in command.text), None)
    if ready is None:
        return os.fstat(log.fileno()).st_size > 0
    with open(f"/proc/self/fd/{log.fileno()}", "rb") as again:  # the log, without moving its offset
        return ready.search(again.read()) is not None


def run_block(block: Block, cwd: Path) -> list[Outcome]:
    commands = shell_commands(block)
    assert commands, f"{block.id}: a shell block without a command"
    if block.interrupt_after is None:
        return [finish(c, *start(c, cwd), interrupted=False, timeout=60) for c in commands]
    started = [(c, *start(c, cwd)) for c in commands]
    # N seconds of running, not of starting: on a busy machine a command may need longer than N
    # to start. Each must first print something (or end); one that stays quiet (no plugin
    # prints anything) is given QUIET_START more seconds and is surely up by then.
    deadline = time.monotonic() + block.interrupt_after + QUIET_START
    while time.monotonic() < deadline and not all(
        proc.poll() is not None or is_up(command, log) for command, proc, log in started
    ):
        time.sleep(0.05)
    time.sleep(block.interrupt_after)
    outcomes = []
    for command, proc, log in started:
        interrupted = proc.poll() is None
        if interrupted:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground process group
        outcomes.append((command, proc, log, interrupted))
    return [finish(c, p, log, interrupted=i, timeout=30) for c, p, log, i in outcomes]


@pytest.fixture(scope="session")
def greenhouse_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("greenhouse")
    shutil.copytree(
        REPO / "examples" / "greenhouse",
        where / "examples" / "greenhouse",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    command = Command("BUSSDCC_PLUGINS=jsonl bussdcc run examples/greenhouse/app.py --record events")
    proc, log = start(command, where)

    def readings() -> int:
        files = (where / "events").rglob("*.jsonl")
        return sum(p.read_text(encoding="utf-8").count(":ClimateReading") for p in files)

    # A few seconds of recording, however long the start takes on a busy machine.
    deadline = time.monotonic() + 60
    while readings() < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    done = finish(command, proc, log, interrupted=True, timeout=30)
    assert done.returncode in (0, 130) and list((where / "events").rglob("*.jsonl")), done.output
    return where / "events"


RUNNABLE_SHELL = [b for b in shell_blocks() if not b.marked_no_run]


@pytest.mark.parametrize("block", RUNNABLE_SHELL, ids=[b.id for b in RUNNABLE_SHELL])
def test_shell_block_runs(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    missing = [t for t in EXTERNAL_TOOLS if re.search(rf"\b{t}\b", block.code) and not shutil.which(t)]
    if missing:
        pytest.fail(f"{block.id} uses {', '.join(missing)}, which is not installed (./tests/run installs it)")
    prepare(block, tmp_path, request)
    for done in run_block(block, tmp_path):
        what = f"{block.id}: {done.command.text!r}"
        clean = (0, 130) if done.interrupted else (0,)
        assert done.returncode in clean, (
            f"{what} exited {done.returncode}"
            + (" after SIGINT" if done.interrupted else "")
            + f":\n{done.output[-3000:]}"
        )
        assert "Traceback (most recent call last)" not in done.output, f"{what}:\n{done.output[-3000:]}"
        shown = done.command.shown.split()
        if shown and re.fullmatch(r"[\w.-]+:?", shown[0]):
            assert re.search(rf"^\s*{re.escape(shown[0])}", done.output, re.M), (
                f"{what}: the page shows output starting with {shown[0]!r}, got:\n{done.output[-3000:]}"
            )


def test_blocks_that_do_not_run_are_rare() -> None:
    blocks = python_blocks()
    skipped = [b.id for b in blocks if b.marked_no_run]
    assert len(blocks) >= 10
    assert len(skipped) <= max(2, len(blocks) // 10), f"too many no-run blocks: {skipped}"


def test_block_parser_finds_fences_and_marks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# T\n\n```python\nprint(1)\n```\n\n<!-- no-run -->\n```python\nwhile True: pass\n```\n"
        "\n````bash\n```python\nnested\n```\n````\n"
        "\n<!-- run: interrupt-after 3 -->\n```sh\n# a comment\nbussdcc run app.py \\\n"
        "  --record x   # and a note\n\nbussdcc settings\n```\n"
        "\n```console\n$ bussdcc --version\nbussdcc-framework 1.0.0\n$ true\n```\n",
        encoding="utf-8",
    )
    blocks = fenced_blocks(page)
    assert [(b.line, b.language, b.marked_no_run, b.interrupt_after) for b in blocks] == [
        (3, "python", False, None),
        (8, "python", True, None),
        (12, "bash", False, None),
        (19, "sh", False, 3.0),
        (27, "console", False, None),
    ]
    assert blocks[0].code == "print(1)\n"
    assert [c.text for c in shell_commands(blocks[3])] == [
        "bussdcc run app.py \\\n  --record x   # and a note",
        "bussdcc settings",
    ]
    assert [(c.text, c.shown) for c in shell_commands(blocks[4])] == [
        ("bussdcc --version", "bussdcc-framework 1.0.0\n"),
        ("true", ""),
    ]


def test_every_page_is_in_the_nav() -> None:
    config = CONFIG.read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*([\w-]+\.md)\s*$", config, re.M))
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages - listed == set(), "pages missing from the nav in .mkdocs.yml"
    assert listed - pages == set(), "nav entries without a page in docs/"


def test_site_builds_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(CONFIG),
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for page in ("index", "getting-started", "concepts", "writing-plugins", "testing-plugins", "migrating"):
        assert (tmp_path / "site" / page / "index.html").is_file() or page == "index"
    assert (tmp_path / "site" / "index.html").is_file()
