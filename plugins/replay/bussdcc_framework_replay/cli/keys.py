"""Keys for ``bussdcc replay`` on a terminal: space, ``s`` or →, ``+``, ``-``, ``q``.

Only when stdin is a terminal: then it is put in cbreak mode (keys arrive one by one, not
echoed; Ctrl-C still interrupts) and read by a thread, and the terminal's settings are put
back on exit whatever happens. Without a terminal nothing reads stdin, so a replay in a pipe,
under systemd or in a test never waits for or swallows input.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Self

from ..control import ReplayController

#: Escape sequences of the right arrow (normal and application cursor mode).
RIGHT_ARROWS = (b"\x1b[C", b"\x1bOC")


def wanted(flag: bool | None) -> bool:
    """``--keys``/``--no-keys`` if given, else whether stdin is a terminal."""
    if flag is not None:
        return flag
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def actions(data: bytes) -> list[str]:
    """The commands in a chunk of key bytes, in order (unknown keys are ignored)."""
    out: list[str] = []
    i = 0
    while i < len(data):
        arrow = next((a for a in RIGHT_ARROWS if data.startswith(a, i)), None)
        if arrow is not None:
            out.append("step")
            i += len(arrow)
            continue
        if data[i] == 0x1B:  # another escape sequence: skip it whole
            i += 1
            while i < len(data) and not 0x40 <= data[i] <= 0x7E:
                i += 1
            i += 1
            continue
        key = chr(data[i])
        i += 1
        if key == " ":
            out.append("toggle")
        elif key in "sS":
            out.append("step")
        elif key in "+=":
            out.append("faster")
        elif key in "-_":
            out.append("slower")
        elif key in "qQ":
            out.append("quit")
    return out


class Keys(AbstractContextManager["Keys"]):
    """Reads keys from a terminal on stdin and turns them into controller commands."""

    def __init__(
        self,
        controller: ReplayController,
        quit: Callable[[], None],
        *,
        enabled: bool,
        changed: Callable[[], None] | None = None,
    ) -> None:
        self.controller = controller
        self.quit = quit
        self.enabled = enabled
        self.changed = changed
        self.quitted = False
        self._fd: int | None = None
        self._saved: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        if not self.enabled:
            return self
        try:
            fd = sys.stdin.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except (OSError, ValueError, termios.error):
            self._saved = None
            return self  # not a terminal after all: no keys
        self._fd = fd
        self._thread = threading.Thread(target=self._run, name="bussdcc-replay-keys", daemon=True)
        self._thread.start()
        return self

    def apply(self, action: str) -> None:
        """Carry out one key's command."""
        ctl = self.controller
        if action == "toggle":
            ctl.toggle()
        elif action == "step":
            ctl.step()
        elif action == "faster":
            ctl.faster()
        elif action == "slower":
            ctl.slower()
        elif action == "quit":
            self.quitted = True
            self.quit()
        if self.changed is not None:
            self.changed()

    def _run(self) -> None:
        fd = self._fd
        assert fd is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(fd, 64)
            except (OSError, ValueError):
                return
            if not data:
                return  # the terminal went away
            for action in actions(data):
                try:
                    self.apply(action)
                except ValueError:
                    continue  # e.g. a seek the replay cannot do: the line shows the state

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        if self._fd is not None and self._saved is not None:
            try:
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            except (OSError, termios.error):
                pass
        self._fd = None
