"""Ctrl-C is never lost, whenever it comes: real SIGINTs sent to real subprocesses.

CPython swallows a ``KeyboardInterrupt`` raised inside a weakref callback or a ``__del__``
method (``Exception ignored in ...``); importlib drops its module locks through such a
callback, so a Ctrl-C during start-up imports can vanish, and a runtime that then waits for it
waits forever. ``Gone`` below reproduces that on purpose: its ``__del__`` sends SIGINT to its
own process and keeps running bytecode, so the handler's ``KeyboardInterrupt`` is raised and
swallowed right there. Each test asserts that the swallowing happened ("Exception ignored").

A command interrupted while it starts exits 130 with nothing of click's ("Aborted!", status 1);
once running, Ctrl-C stops it gracefully (status 0).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

BUSSDCC = Path(sys.executable).parent / "bussdcc"


def clean_env(extra: dict[str, str] | None = None, pythonpath: list[Path] | None = None) -> dict[str, str]:
    """This environment without ``BUSSDCC_*`` variables, plus ``extra``; ``pythonpath`` only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    return {**env, **(extra or {})}


SWALLOW = """
import os, signal

class Gone:
    # Sends Ctrl-C to its own process from __del__: CPython runs the SIGINT handler here,
    # raises its KeyboardInterrupt here, and prints "Exception ignored in" instead of raising.
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(200_000):
            pass

def swallow_ctrl_c():
    Gone()
"""

SELF_INTERRUPT = """
import os, signal, time

os.kill(os.getpid(), signal.SIGINT)
time.sleep(60)  # Ctrl-C arrives while this blocks
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def run(args: list[str], cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run to the end; a hang fails the test through ``TimeoutExpired`` (the child is killed)."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=clean_env({"BUSSDCC_PLUGINS": "", **env}, [cwd]),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- a plain script: runtime.boot(); runtime.run() ------------------------------------------------


def test_ctrl_c_swallowed_during_boot_still_stops_run(tmp_path: Path) -> None:
    """The examples/minimal.py hang: the Ctrl-C came during boot() and its raise was lost."""
    write(tmp_path / "swallow.py", SWALLOW)
    script = write(
        tmp_path / "script.py",
        """
        from bussdcc_framework.runtime import Runtime
        from swallow import swallow_ctrl_c

        class Sink:
            name = "printer"
            def start(self, ctx):
                swallow_ctrl_c()  # during boot(), on the main thread
            def handle(self, evt):
                reason = getattr(evt.payload, "reason", None)
                print(type(evt.payload).__name__, reason or "", flush=True)
            def stop(self):
                pass

        runtime = Runtime()
        runtime.add_sink(Sink())
        runtime.boot()
        runtime.run()
        print("run returned", flush=True)
        """,
    )
    result = run([sys.executable, str(script)], tmp_path)
    assert "Exception ignored" in result.stderr and "KeyboardInterrupt" in result.stderr
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "FrameworkShuttingDown KeyboardInterrupt" in lines
    assert lines[-1] == "run returned"


def test_ctrl_c_while_run_waits_stops_gracefully_and_restores_the_handler(tmp_path: Path) -> None:
    script = write(
        tmp_path / "script.py",
        """
        import os, signal, threading
        from bussdcc_framework.runtime import Runtime

        runtime = Runtime()
        runtime.boot()
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        runtime.run()
        assert not runtime.booted
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        print("graceful", flush=True)
        """,
    )
    result = run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "graceful\n"
    assert result.stderr == ""


def test_ctrl_c_outside_run_raises_as_python_would(tmp_path: Path) -> None:
    """A script that never calls run() keeps Ctrl-C: KeyboardInterrupt, and the runtime stops."""
    script = write(
        tmp_path / "script.py",
        """
        import os, signal, time
        from bussdcc_framework.runtime import Runtime

        runtime = Runtime()
        runtime.boot()
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
        finally:
            runtime.shutdown()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        """,
    )
    result = run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "KeyboardInterrupt\n"


def test_an_applications_own_sigint_handler_is_left_alone(tmp_path: Path) -> None:
    script = write(
        tmp_path / "script.py",
        """
        import signal
        from bussdcc_framework.runtime import Runtime

        def mine(signum, frame):
            pass

        signal.signal(signal.SIGINT, mine)
        runtime = Runtime()
        runtime.boot()
        assert signal.getsignal(signal.SIGINT) is mine
        runtime.shutdown()
        assert signal.getsignal(signal.SIGINT) is mine
        print("untouched")
        """,
    )
    result = run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "untouched\n"


# -- bussdcc run / bussdcc replay interrupted while they start ------------------------------------


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """A one-record JSONL file, enough for ``bussdcc replay`` to start."""
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"time":"2026-01-01T12:00:00+00:00","type":"bussdcc.message.runtime:RuntimeBooting",'
        '"data":{"version":"0.42.0"}}\n'
    )
    return path


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "run": lambda app, rec: [str(BUSSDCC), "run", str(app)],
    "replay": lambda app, rec: [str(BUSSDCC), "replay", str(rec), "--app", str(app), "--hold"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_ctrl_c_while_the_app_is_imported_exits_130_without_aborted(
    command: str, tmp_path: Path, recording: Path
) -> None:
    app = write(tmp_path / "app.py", SELF_INTERRUPT + "\ndef setup(runtime):\n    pass\n")
    result = run(COMMANDS[command](app, recording), tmp_path, BUSSDCC_PLUGINS="replay")
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == ""  # no "Aborted!", no traceback
    assert "FrameworkBooted" not in result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_ctrl_c_swallowed_while_starting_stops_the_command_instead_of_running(
    command: str, tmp_path: Path, recording: Path
) -> None:
    write(tmp_path / "swallow.py", SWALLOW)
    app = write(
        tmp_path / "app.py",
        """
        from swallow import swallow_ctrl_c

        def setup(runtime):
            swallow_ctrl_c()
            print("setup done", flush=True)
        """,
    )
    result = run(COMMANDS[command](app, recording), tmp_path, BUSSDCC_PLUGINS="replay")
    assert "Exception ignored" in result.stderr and "KeyboardInterrupt" in result.stderr
    assert "setup done" in result.stdout
    assert result.returncode == 130, result.stderr
    assert "Aborted!" not in result.stderr


def test_ctrl_c_while_plugins_load_exits_130(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write(site / "slow_plugin.py", SELF_INTERRUPT)
    info = site / "slow_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[bussdcc_framework]\nslow = slow_plugin\n")
    result = subprocess.run(
        [str(BUSSDCC), "run"],
        cwd=tmp_path,
        env=clean_env({"BUSSDCC_PLUGINS": "slow"}, [site]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == ""


def test_the_command_imports_only_the_standard_library_before_its_guard() -> None:
    """What runs before main() installs the guard is where Ctrl-C still gets Python's traceback."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; before = set(sys.modules); import bussdcc_framework.cli; "
            "print('\\n'.join(sorted(set(sys.modules) - before)))",
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ours = {
        "bussdcc_framework",
        "bussdcc_framework.cli",
        "bussdcc_framework.interrupts",
        "bussdcc_framework.report",  # imports only sys
    }
    imported = set(result.stdout.split())
    assert ours <= imported
    outside = [m for m in imported - ours if m.split(".")[0] not in sys.stdlib_module_names]
    assert outside == []
    assert not {"typing", "threading", "click", "pluggy", "bussdcc"} & imported


# -- Ctrl-C at random moments of start-up ----------------------------------------------------------

STARTER = (
    "import sys\n"
    "from bussdcc_framework.cli import main\n"
    "print('main', file=sys.stderr, flush=True)\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def interrupt_at(delay: float, args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Start ``bussdcc ARGS``, send Ctrl-C ``delay`` s after main() is called, return (code, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", STARTER, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    try:
        assert proc.stderr.readline() == "main\n"
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole process group
        stderr = proc.stderr.read()
        return proc.wait(60), stderr
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"bussdcc {' '.join(args)} hung after Ctrl-C {delay:.3f} s into start-up")


@pytest.mark.timeout(600)
def test_ctrl_c_at_random_moments_of_start_up_never_hangs_nor_aborts(tmp_path: Path) -> None:
    app = write(
        tmp_path / "app.py",
        """
        from bussdcc.process import Process

        class Quiet(Process):
            name = "quiet"

        def setup(runtime):
            runtime.add_process(Quiet())
        """,
    )
    env = clean_env({"BUSSDCC_PLUGINS": "console,identity,jsonl", "BUSSDCC_JSONL_DIR": str(tmp_path / "ev")})
    rng = random.Random()
    outcomes: dict[int, int] = {}
    for _ in range(12):
        delay = rng.uniform(0, 1.5)
        code, stderr = interrupt_at(delay, ["run", str(app)], tmp_path, env)
        assert "Aborted!" not in stderr, f"after {delay:.3f} s: {stderr}"
        assert code in (0, 130), f"exit {code} after Ctrl-C {delay:.3f} s into start-up:\n{stderr}"
        outcomes[code] = outcomes.get(code, 0) + 1
    assert sum(outcomes.values()) == 12
