"""One line for an application that does not import: where (file:line) and why, no traceback.

A syntax error or a missing module in the user's own code is the user's mistake, not a crash
of ``bussdcc``: the useful answer is the place to fix, the way a compiler says it
(``app.py:12: SyntaxError: '(' was never closed``). Import machinery frames (``<frozen
importlib...>``) and the framework's own are left out of the search for that place.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from .report import describe

_OWN_FILES = frozenset({str(Path(__file__).with_name("app.py")), __file__})


def shown_path(filename: str) -> str:
    """``filename`` relative to the working directory when it is below it, else as it is."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative


def import_failure(exc: SyntaxError | ImportError) -> str:
    """``file:line: Type: message`` (plus a hint) for an app that failed to import."""
    if isinstance(exc, SyntaxError):
        where = shown_path(exc.filename) if exc.filename else "<unknown file>"
        if exc.lineno:
            where += f":{exc.lineno}"
        return f"{where}: {type(exc).__name__}: {exc.msg}"
    line = _raising_line(exc)
    text = describe(exc)
    if isinstance(exc, ModuleNotFoundError):
        text += " (is it installed in this environment, and is the name right?)"
    return f"{line}: {text}" if line else text


def _raising_line(exc: BaseException) -> str | None:
    """``file:line`` of the innermost frame outside the import machinery and this package."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<") or frame.filename in _OWN_FILES:
            continue
        found = f"{shown_path(frame.filename)}:{frame.lineno}"
    return found
