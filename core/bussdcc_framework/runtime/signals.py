"""Run a runtime on the main thread under POSIX signals, with teardown outside the handler.

The handler only records the signal and wakes the main loop; the loop does the work. So
shutdown, ``SystemReload`` and ``SystemSignal`` all run on the main thread as ordinary code.
"""

from __future__ import annotations

import signal
import threading
from collections import deque
from types import FrameType
from typing import Optional

from bussdcc.message import SystemReload, SystemSignal

from ..interrupts import DUPLICATE_INTERRUPT_WINDOW, Interrupts, startup
from .runtime import Runtime

__all__ = ["DUPLICATE_INTERRUPT_WINDOW", "SIGNAL_ACTIONS", "Interrupts", "SignalRuntime", "run_with_signals"]

SIGNAL_ACTIONS: dict[int, str] = {
    int(signal.SIGINT): "shutdown",
    int(signal.SIGTERM): "shutdown",
    int(signal.SIGHUP): "reload",
    int(signal.SIGUSR1): "user1",
    int(signal.SIGUSR2): "user2",
}


class _SignalLoop:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pending: deque[int] = deque()
        self.wakeup = threading.Event()
        self.shutdown_requested = False
        self.interrupts = Interrupts()

    def handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if signum == signal.SIGINT and not self.interrupts.interrupt():
            return
        if SIGNAL_ACTIONS.get(signum) == "shutdown":
            self.shutdown_requested = True
        self.pending.append(signum)
        self.wakeup.set()

    def run(self) -> None:
        runtime = self.runtime
        # A signal ignored when the process started stays ignored, as Python leaves SIGINT:
        # `nohup` ignores SIGHUP, a script's background job SIGINT (not meant for it).
        previous = {
            signum: signal.signal(signum, self.handle)
            for signum in SIGNAL_ACTIONS
            if signal.getsignal(signum) is not signal.SIG_IGN
        }
        try:
            if startup.pending:
                # Ctrl-C came while the command started and its KeyboardInterrupt was swallowed
                # on the way (``interrupts``): stop now rather than boot and wait for another.
                raise KeyboardInterrupt
            with runtime._lifecycle:
                if not runtime.booted:
                    runtime._stop_requested.clear()
                    runtime.boot()
            while not runtime._stop_requested.is_set():
                self.wakeup.wait(0.25)
                self.wakeup.clear()
                while self.pending:
                    signum = self.pending.popleft()
                    action = SIGNAL_ACTIONS[signum]
                    if action == "shutdown":
                        runtime.shutdown(signal.strsignal(signum) or f"signal {signum}")
                    elif action == "reload":
                        runtime.ctx.emit(SystemReload())
                    else:
                        runtime.ctx.emit(SystemSignal(signal=signum, action=action))
        finally:
            try:
                runtime.shutdown()
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)


def run_with_signals(runtime: Runtime) -> None:
    """Boot ``runtime`` and block until SIGINT/SIGTERM or ``shutdown()``; main thread only.

    SIGINT/SIGTERM shut down gracefully on the main thread; a second SIGINT exits at once with
    status 130; SIGHUP emits ``SystemReload``; SIGUSR1/SIGUSR2 emit ``SystemSignal``.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("signal handling needs the main thread; call Runtime.run() on other threads")
    _SignalLoop(runtime).run()


class SignalRuntime(Runtime):
    """A ``Runtime`` whose ``run()`` is supervised by POSIX signals (main thread only)."""

    def run(self) -> None:
        run_with_signals(self)
