"""Opening one recorded log safely, with a bounded number of file descriptors for a whole pass.

Two hostile-input rules live here:

* **Only regular files are read.** A file is opened with ``O_NONBLOCK`` (opening a FIFO does
  not wait for a writer) and checked with ``fstat`` before a byte is read; anything else
  raises ``NotRegularFile``. So a FIFO or a link to ``/dev/zero`` swapped in after discovery
  cannot hang a reader or feed it an endless line.
* **A pass never runs out of descriptors.** Overlapping recordings are merged with all of
  them open at once; a directory may hold more than the process may open (a fleet of nodes, a
  thousand sensors in their own files). ``FileBudget`` hands out descriptors up to what the
  limit allows, raises the soft ``RLIMIT_NOFILE`` once (and says so) when that is not enough,
  and beyond that a file is read *detached*: in blocks, opening and closing it for each block
  and keeping only the read position (and, for gzip, the decompressor's state) in between.
  Slower, but every record is read and none is reported "unreadable" for want of a descriptor.
"""

from __future__ import annotations

import io
import os
import stat
import zlib
from pathlib import Path
from typing import Self

from .files import is_gzip_name, kind_of

#: Block size of a detached file (descriptor opened and closed around each block). Held per
#: detached file, so it bounds their memory: 16 KiB for plain files, plus about 40 KiB of
#: decompressor state for gzip ones.
DETACHED_BLOCK = 16 * 1024

#: Buffer of a plain log, and of the decompressed bytes of a gzip one.
BUFFER = 64 * 1024

#: Compressed bytes read at a time from a gzip log.
GZIP_INPUT = 64 * 1024

#: Descriptors left for everything else (sinks, the web server, sockets, plugins).
RESERVED_FDS = 64

#: The highest soft limit a pass raises ``RLIMIT_NOFILE`` to when the hard limit is unlimited.
MAX_RAISED_LIMIT = 1 << 16


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket or a directory: a reader never reads it."""


def open_regular(path: Path) -> int:
    """A descriptor on ``path`` if it is a regular file (links followed), else ``NotRegularFile``."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{kind_of(mode)}, not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_files() -> int:
    """How many descriptors the process holds now (an estimate where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 32


class FileBudget:
    """How many logs one pass may hold open; the rest are read detached (see module docstring).

    ``notes`` collects what the budget did that a user should know (one line each).
    """

    def __init__(self, limit: int | None = None) -> None:
        self.held = 0
        self.detached = 0
        self.notes: list[str] = []
        self._raised = False
        self._fixed = limit is not None
        self._available = limit if limit is not None else self._compute()

    @staticmethod
    def _compute() -> int:
        try:
            import resource

            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        except (ImportError, OSError, ValueError):
            return 256
        if soft == getattr(resource, "RLIM_INFINITY", -1):
            soft = MAX_RAISED_LIMIT
        return max(1, soft - _open_files() - RESERVED_FDS)

    def acquire(self) -> bool:
        """True: the caller may hold one more descriptor (``release`` it after); False: detach."""
        if self.held >= self._available and not self._raise():
            if not self.detached:
                self.notes.append(
                    f"more overlapping files than the open-file limit allows ({self._available:,} "
                    "for logs): the others are read without holding them open (slower)"
                )
            self.detached += 1
            return False
        self.held += 1
        return True

    def release(self) -> None:
        """A held descriptor was closed."""
        self.held -= 1

    def _raise(self) -> bool:
        if self._raised or self._fixed:
            return False
        self._raised = True
        try:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            infinity = getattr(resource, "RLIM_INFINITY", -1)
            target = MAX_RAISED_LIMIT if hard == infinity else min(hard, MAX_RAISED_LIMIT)
            if target <= soft:
                return False
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ImportError, OSError, ValueError):
            return False
        self.notes.append(
            f"raised the open-file limit (RLIMIT_NOFILE) from {soft:,} to {target:,} "
            "to merge overlapping files"
        )
        self._available += target - soft
        return self.held < self._available


class _DetachedRaw(io.RawIOBase):
    """The bytes of a file, read with ``pread`` from a descriptor opened for each call."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        super().__init__()
        self.path = path
        self.pos = offset

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence != os.SEEK_SET:
            raise io.UnsupportedOperation("only absolute positions")
        self.pos = offset
        return offset

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        fd = open_regular(self.path)
        try:
            data = os.pread(fd, len(buffer), self.pos)
        finally:
            os.close(fd)
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n


class _GzipRaw(io.RawIOBase):
    """The decompressed bytes of a gzip file (members concatenated) from a raw source.

    ``gzip.GzipFile`` reads through an 8 KiB buffer with a Python call per block: reading past
    the 4 GiB line of a gzip bomb took 40 s with it. Wrapped in an ``io.BufferedReader`` of
    ``GZIP_BUFFER`` bytes this is twice as fast on ordinary records and much faster on long
    lines, and the same class serves detached files, since only the decompressor's state is
    kept between reads. Errors are those of ``gzip``: ``zlib.error`` for corrupt data,
    ``EOFError`` for a truncated stream.
    """

    def __init__(self, source: io.RawIOBase) -> None:
        super().__init__()
        self.source = source
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def readable(self) -> bool:
        return True

    def _fill(self) -> bytes:
        return self.source.read(GZIP_INPUT) or b""

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = len(buffer)
        while True:
            d = self._d
            if d.eof:  # first: once a member ends, unconsumed_tail is stale
                rest = d.unused_data or self._fill()
                if not rest:
                    return 0
                self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = self._d.decompress(rest, want)
            elif d.unconsumed_tail:
                data = d.decompress(d.unconsumed_tail, want)
            else:
                chunk = self._fill()
                if not chunk:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                data = d.decompress(chunk, want)
            if data:
                n = len(data)
                buffer[:n] = data
                return n


class LogFile:
    """One open log: ``stream`` yields its (decompressed) bytes; ``position()`` is how far it is.

    ``budget`` decides whether a descriptor is held (the fast, usual case) or the file is read
    detached. Progress is measured in bytes of the file on disk (compressed bytes for
    ``.gz``), which is what the file sizes add up to. ``OSError`` (``NotRegularFile``
    included) when the file cannot be opened; a detached file raises it at its first read.
    """

    def __init__(self, path: Path, budget: FileBudget | None = None, offset: int = 0) -> None:
        self.path = path
        self._budget = budget
        self._held = budget is None or budget.acquire()
        self._source: io.FileIO | _DetachedRaw
        if self._held:
            try:
                self._source = io.FileIO(open_regular(path), "rb", closefd=True)
            except BaseException:
                self._release()
                raise
            head = os.pread(self._source.fileno(), 2, 0)
            size = BUFFER
        else:
            self._source = _DetachedRaw(path)
            fd = open_regular(path)
            try:
                head = os.pread(fd, 2, 0)
            finally:
                os.close(fd)
            size = DETACHED_BLOCK
        self.compressed = is_gzip_name(path.name) or head == b"\x1f\x8b"
        if offset and not self.compressed:
            self._source.seek(offset)
        raw: io.RawIOBase = _GzipRaw(self._source) if self.compressed else self._source
        self.stream: io.BufferedReader = io.BufferedReader(raw, size)
        if offset and self.compressed:
            self._discard(offset)

    def _discard(self, count: int) -> None:
        """Read past the first ``count`` decompressed bytes (a gzip stream cannot seek)."""
        read = self.stream.read
        while count > 0:
            chunk = read(min(count, 1 << 20))
            if not chunk:
                return
            count -= len(chunk)

    @staticmethod
    def starts_line(path: Path, offset: int) -> bool:
        """Whether ``offset`` of a plain file is the start of a line (a checkpoint to trust)."""
        if offset == 0:
            return True
        try:
            fd = open_regular(path)
        except OSError:
            return False
        try:
            return os.pread(fd, 1, offset - 1) == b"\n"
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        """Whether a descriptor is held open (False: read detached)."""
        return self._held

    def position(self) -> int:
        """Bytes of the file on disk consumed so far (read-ahead included); 0 once closed."""
        source = self._source
        if isinstance(source, _DetachedRaw):
            return source.pos
        try:
            return source.tell()
        except (ValueError, OSError):
            return 0

    def _release(self) -> None:
        if self._held and self._budget is not None:
            self._held = False
            self._budget.release()

    def close(self) -> None:
        """Close the stream and the raw file (and give the descriptor back to the budget)."""
        try:
            self.stream.close()
        finally:
            try:
                self._source.close()
            finally:
                self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
