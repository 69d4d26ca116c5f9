"""One way to tell the user something on stderr: one flushed line, with untrusted text made safe.

Messages of the framework and its plugins go to stderr through ``report`` so they are flushed at
once (they often precede an exit) and so tests and users see one format. Anything that came from
a user, a file or a network goes through ``printable`` first: an ANSI escape sequence or a
carriage return in a record type or an environment variable must not rewrite the terminal.
"""

from __future__ import annotations

import sys


def printable(text: str) -> str:
    """``text`` with control characters and other invisible code points shown as escapes.

    ``"\\x1b[2J"`` becomes ``"\\\\x1b[2J"``, a newline ``"\\\\n"``, a right-to-left override
    ``"\\\\u202e"``; printable text (any script, spaces) is returned unchanged and cheaply.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def describe(exc: BaseException) -> str:
    """``ValueError: no such port``, or only ``ValueError`` when the message is empty.

    Every line that names an error uses this, so an exception raised without a message never
    reads as a dangling ``RuntimeError: ``.
    """
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def report(line: str) -> None:
    """Print one line on stderr and flush it (stderr may be a pipe, which buffers).

    Never raises: at exit, or behind a closed pipe, stderr may be gone, and a report must not
    turn into a second error.
    """
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
