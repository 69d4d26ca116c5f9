"""POSIX signals on ``bussdcc run``: real signals sent to a real subprocess.

The application prints every event it sees (with the thread it saw it on) and says, when it is
stopped, whether that happens inside a signal handler. Teardown must run on the main thread as
ordinary code, never inside the handler.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bussdcc_framework.runtime import Runtime, run_with_signals
from bussdcc_framework.runtime.signals import DUPLICATE_INTERRUPT_WINDOW

APP = """
import os
import threading
import time
import traceback

from bussdcc.process import Process


class Printer(Process):
    name = "printer"

    def handle_event(self, ctx, evt):
        p = evt.payload
        extra = ""
        if type(p).__name__ == "SystemSignal":
            extra = f" signal={p.signal} action={p.action}"
        print(f"event {type(p).__name__} thread={threading.current_thread().name}{extra}",
              flush=True)

    def stop(self, ctx):
        in_handler = any(frame.name == "handle" and frame.filename.endswith("signals.py")
                         for frame in traceback.extract_stack())
        print(f"stop thread={threading.current_thread().name} in_handler={in_handler}",
              flush=True)
        if STOP_SECONDS:
            time.sleep(STOP_SECONDS)


STOP_SECONDS = float(os.environ.get("STOP_SECONDS", "0"))


def setup(runtime):
    runtime.add_process(Printer())
"""


class Running:
    """A ``bussdcc run`` subprocess whose stdout lines can be awaited."""

    def __init__(self, proc: subprocess.Popen[str], abort: Callable[[subprocess.Popen[str]], str]) -> None:
        self.proc = proc
        self.abort = abort  # conftest's ``hang_report``
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, prefix: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line starting {prefix!r}; saw {self.seen}; {self.state()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def state(self) -> str:
        """For a failure: whether the child still ran, its signal masks and, if it ran, where.

        A child that still runs is aborted: started with ``PYTHONFAULTHANDLER=1``, it prints
        every thread's stack on stderr, which ends the message.
        """
        code = self.proc.poll()
        if code is not None:
            return f"exited {code}; stderr: {self._stderr()}"
        masks = self.abort(self.proc)
        return f"was running, {masks}; stderr: {self._stderr()}"

    def _stderr(self) -> str:
        assert self.proc.stderr is not None
        try:
            self.proc.wait(5)
            return self.proc.stderr.read()[-4000:]
        except (subprocess.TimeoutExpired, ValueError, OSError) as exc:
            return f"(unreadable: {exc!r})"

    def finish(self, timeout: float = 15) -> tuple[int, list[str], str]:
        code = self.proc.wait(timeout)
        time.sleep(0.05)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        assert self.proc.stderr is not None
        return code, self.seen, self.proc.stderr.read()


@pytest.fixture
def start_app(tmp_path: Path, hang_report: Callable[[subprocess.Popen[str]], str]) -> Any:
    started: list[subprocess.Popen[str]] = []

    def start(stop_seconds: float = 0, ignoring: tuple[signal.Signals, ...] = ()) -> Running:
        import os
        import sys

        app = tmp_path / "sigapp.py"
        app.write_text(APP)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
        env["STOP_SECONDS"] = str(stop_seconds)
        env["BUSSDCC_PLUGINS"] = ""
        env["PYTHONFAULTHANDLER"] = "1"  # stacks on SIGABRT (``Running.state``)
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "bussdcc"), "run", str(app)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: [signal.signal(s, signal.SIG_IGN) for s in ignoring]) if ignoring else None,
        )
        started.append(proc)
        running = Running(proc, hang_report)
        running.wait_line("event FrameworkBooted")
        return running

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_shut_down_gracefully_on_the_main_thread(
    start_app: Any, signum: signal.Signals
) -> None:
    app = start_app()
    app.proc.send_signal(signum)
    shutting = app.wait_line("event FrameworkShuttingDown")
    assert shutting.endswith("thread=MainThread")
    stop = app.wait_line("stop ")
    assert stop == "stop thread=MainThread in_handler=False"
    code, lines, stderr = app.finish()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert lines[-1].startswith("event RuntimeShutdown")


def test_signals_ignored_at_start_stay_ignored(start_app: Any) -> None:
    """``nohup bussdcc run`` ignores SIGHUP, a script's background job SIGINT: so does the run."""
    app = start_app(ignoring=(signal.SIGINT, signal.SIGHUP))
    app.proc.send_signal(signal.SIGHUP)
    app.proc.send_signal(signal.SIGINT)
    app.proc.send_signal(signal.SIGUSR1)  # handled, and delivered after the two lower-numbered
    app.wait_line("event SystemSignal")
    assert app.proc.poll() is None
    app.proc.send_signal(signal.SIGTERM)
    code, lines, stderr = app.finish()
    assert code == 0, stderr
    events = [line.split()[1] for line in lines if line.startswith("event ")]
    assert "SystemReload" not in events
    assert events.count("FrameworkShuttingDown") == 1
    assert events.index("SystemSignal") < events.index("FrameworkShuttingDown")


def test_a_second_sigint_exits_at_once(start_app: Any) -> None:
    app = start_app(stop_seconds=60)  # teardown hangs
    app.proc.send_signal(signal.SIGINT)
    app.wait_line("stop thread=MainThread")
    time.sleep(DUPLICATE_INTERRUPT_WINDOW + 0.1)  # a genuinely second Ctrl-C
    started = time.monotonic()
    app.proc.send_signal(signal.SIGINT)
    code, _, stderr = app.finish(timeout=10)
    assert time.monotonic() - started < 5
    assert code == 130
    assert "bussdcc: second interrupt, exiting now" in stderr


def test_one_ctrl_c_delivered_twice_still_shuts_down_gracefully(start_app: Any) -> None:
    # The terminal signals the process group and `uv run` forwards the signal again:
    # two SIGINTs in quick succession are one Ctrl-C, not a request to exit at once.
    app = start_app()
    app.proc.send_signal(signal.SIGINT)
    app.proc.send_signal(signal.SIGINT)
    code, lines, stderr = app.finish()
    assert code == 0, stderr
    assert "second interrupt" not in stderr
    assert lines[-1].startswith("event RuntimeShutdown")


def test_sighup_emits_system_reload_and_sigusr_emit_system_signal(start_app: Any) -> None:
    app = start_app()
    app.proc.send_signal(signal.SIGHUP)
    assert app.wait_line("event SystemReload") == "event SystemReload thread=MainThread"
    app.proc.send_signal(signal.SIGUSR1)
    assert app.wait_line("event SystemSignal") == (
        f"event SystemSignal thread=MainThread signal={int(signal.SIGUSR1)} action=user1"
    )
    app.proc.send_signal(signal.SIGUSR2)
    assert app.wait_line("event SystemSignal") == (
        f"event SystemSignal thread=MainThread signal={int(signal.SIGUSR2)} action=user2"
    )
    assert app.proc.poll() is None  # still running: none of these stops it
    app.proc.send_signal(signal.SIGTERM)
    code, lines, _ = app.finish()
    assert code == 0
    assert sum(line.startswith("event FrameworkShuttingDown") for line in lines) == 1


def test_signal_handling_refuses_other_threads() -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run_with_signals(Runtime())
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(5)
    assert len(errors) == 1 and "main thread" in str(errors[0])


def test_signal_runtime_restores_previous_handlers(python: Any) -> None:
    result = python(
        """
        import signal, threading
        from bussdcc_framework.runtime import SignalRuntime

        before = signal.getsignal(signal.SIGHUP)
        rt = SignalRuntime()
        threading.Timer(0.3, rt.shutdown).start()
        rt.run()
        assert signal.getsignal(signal.SIGHUP) is before
        print("restored")
        """,
        env={"BUSSDCC_PLUGINS": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "restored"


def test_the_one_ctrl_c_policy(python: Any) -> None:
    """First interrupt: stop gracefully; the same Ctrl-C twice: ignored; a second: exit 130."""
    result = python(
        """
        import time
        from bussdcc_framework.runtime.signals import Interrupts

        policy = Interrupts(window=0.3)
        assert policy.interrupt() is True and policy.count == 1
        assert policy.interrupt() is False  # delivered twice (process group, uv run)
        time.sleep(0.4)  # at least the window: this one is a real second Ctrl-C
        policy.interrupt()
        print("not reached")
        """
    )
    assert result.returncode == 130
    assert result.stdout == ""
    assert result.stderr == "bussdcc: second interrupt, exiting now\n"


def test_ctrl_c_while_starting_up_is_an_interrupt_not_an_abort(
    tmp_path: Path, hang_report: Callable[[subprocess.Popen[str]], str]
) -> None:
    """Before the runtime runs (plugins loading, the app's setup) Ctrl-C still means 130."""
    app = tmp_path / "slow_setup.py"
    app.write_text(
        "import time\n\ndef setup(runtime):\n    print('setting up', flush=True)\n    time.sleep(60)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUSSDCC_")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "bussdcc"), "run", str(app)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "BUSSDCC_PLUGINS": "", "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"},
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "setting up\n"
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        signals = hang_report(proc)
        _, err = proc.communicate()
        pytest.fail(f"still running 30 s after Ctrl-C ({signals}):\n{err}")
    assert proc.returncode == 130, err
    assert "Aborted" not in err and "Traceback" not in err


def test_a_line_that_never_comes_reports_the_childs_masks_and_stacks(start_app: Any) -> None:
    """The failure message of these tests says why: the child's signal masks and its stacks."""
    app = start_app(ignoring=(signal.SIGHUP,))
    app.proc.send_signal(signal.SIGHUP)
    with pytest.raises(AssertionError) as failure:
        app.wait_line("event SystemReload", timeout=2)
    message = str(failure.value)
    assert "was running, SigBlk:" in message and "SigIgn:" in message
    assert "Fatal Python error: Aborted" in message and "File " in message  # faulthandler's dump
    assert app.proc.poll() is not None
