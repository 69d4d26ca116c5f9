"""Ctrl-C that is never lost, during start-up and while a runtime runs.

Python's default SIGINT handler raises ``KeyboardInterrupt`` at the next bytecode of the main
thread. When that bytecode belongs to a weakref callback or a ``__del__`` method (importlib
drops its module locks through one, and start-up imports a lot), CPython prints ``Exception
ignored in ...`` and carries on: the Ctrl-C is gone, and a runtime that then waits for it waits
forever. The handlers here raise too, so that blocking start-up code is still interrupted, but
they first *record* the interrupt, so the code that later waits can see it even when the raise
was swallowed.

* ``Interrupts`` is the one Ctrl-C policy of every ``bussdcc`` command that runs until
  interrupted: the first asks for a graceful stop, the same Ctrl-C delivered twice is ignored,
  a real second one exits at once with status 130.
* ``StartupInterrupts`` guards a ``bussdcc`` command from its first line to the moment the
  command's own handler takes over (``run_with_signals``, ``bussdcc replay``): those check
  ``startup.pending`` and stop instead of starting.
* ``RunInterrupts`` guards a ``Runtime`` booted on the main thread with Python's default
  handler in place (a plain script: ``runtime.boot(); runtime.run()``): while ``run()`` waits,
  Ctrl-C asks it to shut down instead of raising; otherwise it raises as Python would, and
  ``run()`` still shuts down if that raise was swallowed during ``boot()``.

The ``bussdcc`` command installs its guard before it imports anything else, so this module
imports only what it needs to (no ``typing``, no ``threading``: they import a lot).
"""

from __future__ import annotations

import os
import signal
import time

from .report import report

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from types import FrameType
    from typing import Any

#: A repeated SIGINT within this many seconds is the same Ctrl-C delivered twice (the terminal
#: signals the whole process group, and wrappers such as ``uv run`` forward it once more).
DUPLICATE_INTERRUPT_WINDOW = 0.5

#: The exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class Interrupts:
    """The one Ctrl-C policy of every ``bussdcc`` command that runs until interrupted.

    The first interrupt asks for a graceful stop; the same Ctrl-C delivered again within
    ``DUPLICATE_INTERRUPT_WINDOW`` (the terminal signals the whole process group, ``uv run``
    forwards it once more) is ignored; a real second one exits at once with status 130, for
    when a graceful stop hangs. ``bussdcc run`` (``run_with_signals``), ``bussdcc replay``
    and the start-up guard (``StartupInterrupts``) use it.
    """

    def __init__(self, window: float = DUPLICATE_INTERRUPT_WINDOW) -> None:
        self.window = window
        self.count = 0
        """Interrupts acted on: 0 or 1 (a second one does not return)."""
        self._first: float | None = None

    def interrupt(self) -> bool:
        """Register one interrupt: True to stop gracefully now, False for a duplicate."""
        now = time.monotonic()
        if self._first is not None:
            if now - self._first < self.window:
                return False
            report("bussdcc: second interrupt, exiting now")
            os._exit(EXIT_INTERRUPTED)
        self._first = now
        self.count = 1
        return True


class _Handler:
    """A SIGINT handler installed by one owner and put back by it, if still in place."""

    def __init__(self) -> None:
        self._previous: Any = None
        self._installed = False
        self._stale = False
        """Its owner is done with it but could not put the previous one back (another thread)."""

    def _install(self) -> bool:
        current = signal.getsignal(signal.SIGINT)
        if self._installed and self._stale and current == self._handle:
            self._stale = False  # still in place: its last restore() came from another thread
            return True
        # Only in place of Python's own handler: an application's handler (or SIG_IGN in a
        # background job) is never replaced. signal.signal() raises off the main thread.
        if current is not signal.default_int_handler:
            return False
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:
            return False
        self._installed = True
        return True

    def restore(self) -> None:
        """Put the previous handler back (main thread; a no-op if another replaced ours)."""
        if not self._installed:
            return
        try:
            if signal.getsignal(signal.SIGINT) == self._handle:
                signal.signal(signal.SIGINT, self._previous)
        except ValueError:
            # Not the main thread (a runtime shut down from a web request, say): the handler
            # stays until the next Ctrl-C, which puts the previous one back and acts like it.
            self._stale = True
            return
        self._installed = False
        self._stale = False

    @property
    def installed(self) -> bool:
        """Whether this handler is the process's SIGINT handler (as far as it knows)."""
        return self._installed

    def _handle(self, signum: int, frame: FrameType | None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class StartupInterrupts(_Handler):
    """Ctrl-C while a ``bussdcc`` command starts: raised at once, and remembered.

    The first Ctrl-C sets ``pending`` and raises ``KeyboardInterrupt`` (the command exits 130);
    later ones follow the ``Interrupts`` policy (the same Ctrl-C twice is ignored, a real second
    one exits at once with status 130, for when the way out hangs).
    """

    def __init__(self, window: float = DUPLICATE_INTERRUPT_WINDOW) -> None:
        super().__init__()
        self.window = window
        self.pending = False
        """True once Ctrl-C came, even if its ``KeyboardInterrupt`` was swallowed."""
        self._policy = Interrupts(window)

    def install(self) -> bool:
        """Guard the start-up that follows; False when another handler is in place."""
        self.pending = False
        self._policy = Interrupts(self.window)
        return self._install()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self._policy.interrupt():
            return
        self.pending = True
        raise KeyboardInterrupt


#: The guard of the running ``bussdcc`` command (installed by ``bussdcc_framework.cli.main``).
startup = StartupInterrupts()


class RunInterrupts(_Handler):
    """Ctrl-C for a ``Runtime`` booted on the main thread under Python's default handler.

    While ``run()`` waits (``waiting``), the first Ctrl-C sets ``stop`` instead of raising, so
    it cannot be swallowed; at any other time it raises ``KeyboardInterrupt`` as Python would.
    Either way it is recorded in ``pending``, which ``run()`` checks before it waits. A second
    Ctrl-C (not the same one delivered twice) always raises: it interrupts a shutdown that hangs.
    """

    def __init__(self, stop: threading.Event, window: float = DUPLICATE_INTERRUPT_WINDOW) -> None:
        super().__init__()
        self.stop = stop
        self.window = window
        self.pending = False
        self.waiting = False
        self._first: float | None = None

    def install(self) -> bool:
        """Start guarding (at boot); False when an application's handler is in place."""
        self.pending = False
        self._first = None
        return self._install()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._stale:  # the runtime is gone: this Ctrl-C is Python's, and so are the next ones
            self.restore()
            raise KeyboardInterrupt
        now = time.monotonic()
        if self._first is None:
            self._first = now
            self.pending = True
            if self.waiting:
                self.stop.set()
                return
        elif now - self._first < self.window:
            return
        raise KeyboardInterrupt


__all__ = [
    "DUPLICATE_INTERRUPT_WINDOW",
    "EXIT_INTERRUPTED",
    "Interrupts",
    "RunInterrupts",
    "StartupInterrupts",
    "startup",
]
