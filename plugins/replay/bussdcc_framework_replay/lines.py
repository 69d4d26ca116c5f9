"""The rare paths of reading lines with a bounded length: long lines and runs of blank lines.

Readers take lines with ``stream.readline(limit)`` (C speed, and never more than ``limit``
bytes), so a line longer than the limit arrives cut. ``skip_rest`` then reads past the rest of
it in blocks, holding none of it: a 200 MB line, or the one 4 GB line a gzip bomb expands to,
costs its reading time and no memory. ``skip_blank`` counts a run of blank lines straight from
the stream's buffer (``peek``), so a file of millions of newlines (a few kilobytes gzipped)
does not cost an exception and a decoder call per line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

#: Size of the blocks a too-long line is read past in.
SKIP_BLOCK = 1 << 20

_BLANK = b" \t\r\n"


class Peekable(Protocol):
    """A buffered binary stream (``io.BufferedReader``, ``gzip.GzipFile``)."""

    def peek(self, size: int, /) -> bytes: ...

    def read(self, size: int, /) -> bytes: ...


def skip_rest(readline: Callable[[int], bytes]) -> tuple[int, bool]:
    """Read past the rest of a cut line: (bytes skipped, whether a newline ended it)."""
    skipped = 0
    while True:
        block = readline(SKIP_BLOCK)
        if not block:
            return skipped, False
        skipped += len(block)
        if block[-1] == 0x0A:
            return skipped, True


def skip_blank(stream: Peekable) -> tuple[int, int]:
    """Consume the blank lines (whitespace only) that follow in ``stream``: (lines, bytes).

    Only whole lines are consumed: the leading whitespace of a non-blank line is left.
    """
    count = 0
    consumed = 0
    while True:
        buffer = stream.peek(SKIP_BLOCK)
        if not buffer:
            return count, consumed
        blank = len(buffer) - len(buffer.lstrip(_BLANK))
        cut = buffer.rfind(b"\n", 0, blank) + 1
        if cut == 0:
            return count, consumed
        count += buffer.count(b"\n", 0, cut)
        consumed += cut
        stream.read(cut)
        if cut < len(buffer):
            return count, consumed
