"""The file side of the sink: segment rotation, writes, fsync, write errors and recovery.

Used only by the sink's writer thread (and by ``stop()`` after that thread ended), so it holds
no lock. Writes go straight to the file descriptor (``os.write``): a batch is in the operating
system as soon as the call returns, so a killed process loses only what was still queued, and
a torn line can only be the last one of a file, because a file is never written again after a
failed write and never reopened (see ``segments.create_segment``).

While a segment is written, ``indexing.SegmentIndexer`` builds its index, stored next to it
when it closes. A segment that got nothing because a write failed is removed again, so an
outage (a full disk) leaves at most one new segment however often writing is retried. A run
whose boot failed (``FrameworkBootFailed`` was recorded) leaves nothing: ``close()`` removes
the segments it created.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Literal

from bussdcc.message import Message

from bussdcc_framework.recordings.index import SegmentIndex, load_index, remove_index
from bussdcc_framework.report import report

from . import segments
from .indexing import Item, SegmentIndexer
from .messages import RecordingError, RecordingResumed

FlushMode = Literal["interval", "line", "fsync"]
Report = Callable[[Message, str], None]
_line = itemgetter(1)

#: Events this much earlier than the open segment still go into it: threads race at a
#: boundary and clocks get small corrections. A larger step back opens a new segment file.
BACKSTEP_TOLERANCE = timedelta(seconds=5)
#: Segments remembered until the boot is known to have succeeded (a failed one removes them).
MAX_TRACKED = 10_000
#: How often a failed recording is retried.
RETRY_INTERVAL = 1.0


class SegmentWriter:
    """Writes batches of encoded records into rotating segment files under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        interval: float,
        max_size: int | None,
        flush: FlushMode,
        compress: bool,
        retention_age: float | None,
        retention_size: int | None,
        report: Report,
        classes: Sequence[type[Message]] = (),
    ) -> None:
        self.root = root
        self.interval = interval
        self.max_size = max_size
        self.durable = flush == "fsync"
        self.retention_age = retention_age
        self.retention_size = retention_size
        self.report = report
        self.path: Path | None = None
        self._fd: int | None = None
        self._start = datetime.max.replace(tzinfo=UTC)  # open segment: [start, end)
        self._end = datetime.min.replace(tzinfo=UTC)
        self._low = self._start
        self._size = 0
        self._dirty = False
        self.failing: str | None = None  # the error of the current outage
        #: fsync fails while writes work: data is written but may not survive a power cut.
        self.not_durable: str | None = None
        self._retry_at = 0.0
        self.lost = 0  # events not written because of write errors, ever
        self._lost_in_outage = 0
        self.written = 0
        self.created: list[Path] = []  # segments this writer created, oldest first
        self._root_existed = root.exists()
        self._index_error_reported = False
        self._retention_error_reported = False
        self.indexer = SegmentIndexer(classes, durable=self.durable, on_error=self._index_failed)
        self._compressor = _Compressor(report, self.indexer, durable=self.durable) if compress else None

    # -- writing -------------------------------------------------------------------------

    def write(self, items: list[Item]) -> None:
        """Write records, rotating whenever an event falls outside the open segment."""
        if not items:
            return
        # The usual case, checked in C: the whole batch belongs to the open segment.
        if self._fd is not None:
            lo, hi = min(items)[0], max(items)[0]  # tuples compare by time first: cheapest
            if self._low <= lo and hi < self._end:
                self._write_items(items, (lo, hi))
                return
        i, n = 0, len(items)
        while i < n:
            t = items[i][0]
            outside = self._fd is None or not (self._low <= t < self._end)
            if outside and not self._open_for(t):
                # Skip the rest of this segment's events; they count as lost.
                j = i + 1
                while j < n and self._low <= items[j][0] < self._end:
                    j += 1
                self._lose(j - i)
                i = j
                continue
            j = i + 1
            low, end = self._low, self._end
            while j < n and low <= items[j][0] < end:
                j += 1
            self._write_items(items[i:j])
            i = j

    def _write_items(self, items: list[Item], span: tuple[datetime, datetime] | None = None) -> None:
        while self.max_size is not None:
            budget = self.max_size - self._size
            taken, total = 0, 0
            for item in items:
                if total + len(item[1]) + 1 > budget and (taken or self._size):
                    break
                total += len(item[1]) + 1
                taken += 1
            if taken == len(items):
                break
            span = None  # split: the parts' spans are not known
            if taken:
                self._write_data(items[:taken])
            items = items[taken:]
            if self._fd is not None:
                self._rotate_same_interval()
            if self._fd is None:
                self._lose(len(items))
                return
        self._write_data(items, span)

    def _write_data(self, items: list[Item], span: tuple[datetime, datetime] | None = None) -> None:
        fd = self._fd
        assert fd is not None
        lines = list(map(_line, items))
        lines.append(b"")  # a newline after the last line too
        data = b"\n".join(lines)
        view = memoryview(data)
        done = 0
        start = self._size
        try:
            while done < len(data):
                done += os.write(fd, view[done:])
        except OSError as exc:
            complete = data.count(b"\n", 0, done)
            self.written += complete
            path = self.path  # given up below (_fail): its size no longer matters
            self.indexer.abandon()
            self._fail("write", path, exc)
            self._lose(len(items) - complete)
            if start == 0 and done == 0 and path is not None:
                self._remove_empty(path)
            return
        self._size += len(data)
        self.written += len(items)
        self._dirty = True
        lines.pop()
        self.indexer.add(items, start, span, lines)
        if self.failing is not None:  # every loss happens in an outage: it counted them
            self._resumed()

    def _remove_empty(self, path: Path) -> None:
        """A segment whose first write failed holds nothing: remove it, retries make no litter."""
        try:
            if os.stat(path).st_size == 0:
                os.unlink(path)
                if path in self.created:
                    self.created.remove(path)
                if self.path == path:
                    self.path = None
        except OSError:
            pass

    # -- segments ------------------------------------------------------------------------

    def _open_for(self, t: datetime) -> bool:
        if self.failing is not None and time.monotonic() < self._retry_at:
            return False
        ts = t.timestamp()
        start = segments.segment_start(ts, self.interval)
        self._close_segment()
        try:
            path, fd = segments.create_segment(self.root, start)
            if self.durable:
                segments.fsync_dir(path.parent)
        except OSError as exc:
            self._fail("open", self.root, exc)
            return False
        self._opened(path, fd)
        self._start = datetime.fromtimestamp(start, UTC)
        self._end = datetime.fromtimestamp(start + self.interval, UTC)
        self._low = self._start - BACKSTEP_TOLERANCE
        self.apply_retention()
        return True

    def _rotate_same_interval(self) -> None:
        start = self._start.timestamp()
        self._close_segment()
        try:
            path, fd = segments.create_segment(self.root, start)
        except OSError as exc:
            self._fail("open", self.root, exc)
            return
        self._opened(path, fd)
        self.apply_retention()

    def _opened(self, path: Path, fd: int) -> None:
        self.path, self._fd, self._size = path, fd, 0
        if not self.indexer.booted and len(self.created) < MAX_TRACKED:
            self.created.append(path)  # until the boot succeeded: a failed one removes them
        self.indexer.open()

    def _close_segment(self) -> None:
        fd, path = self._fd, self.path
        self._fd = None
        if fd is None:
            return
        try:
            if self.durable:
                os.fsync(fd)
                self._durable_again(path)
        except OSError as exc:
            self._fsync_failed(path, exc)
        finally:
            os.close(fd)
        if path is None:
            return
        if self.indexer.boot_failed:
            self.indexer.abandon()  # close() removes this run's segments
            return
        index = self.indexer.finish(path, self._size)
        if self._compressor is not None:
            self._compressor.submit(path, index)

    def flush(self) -> None:
        """End of a writer cycle: in fsync mode, make what was written durable."""
        if self.durable and self._dirty and self._fd is not None:
            try:
                os.fsync(self._fd)
                self._durable_again(self.path)
            except OSError as exc:
                self._fsync_failed(self.path, exc)
        self._dirty = False

    def close(self) -> None:
        """Close the open segment and wait for pending compressions (end of recording).

        When this run's boot failed, the segments it created are removed instead: a failed
        start (a busy port, a bad setting) leaves no recording behind.
        """
        self._close_segment()
        if self._compressor is not None:
            self._compressor.close()
        if self.indexer.boot_failed:
            self._discard_run()
        self.apply_retention()

    def _discard_run(self) -> None:
        for path in self.created:
            gz = path.with_name(path.name[: -len(segments.SUFFIX)] + segments.GZ_SUFFIX)
            for target in (path, gz):
                try:
                    target.unlink()
                except OSError:  # missing (never compressed, or already gone) or not removable
                    pass
            remove_index(path)
        self.created.clear()
        self.path = None
        segments.remove_empty_days(self.root)
        if not self._root_existed:
            try:
                self.root.rmdir()  # made for this run only, and empty
            except OSError:
                pass

    def compress_leftovers(self) -> None:
        """Compress plain segments a previous run left behind (it crashed before it could)."""
        if self._compressor is None:
            return
        for path in segments.list_segments(self.root):
            if path.name.endswith(segments.SUFFIX) and path != self.path:
                self._compressor.submit(path, load_index(path))  # an index it had stays good

    def apply_retention(self) -> None:
        """Delete the segments the retention settings no longer keep (never the open one)."""
        if self.retention_age is None and self.retention_size is None:
            return
        keep = {self.path} if self.path is not None and self._fd is not None else set()
        if self._compressor is not None:
            for pending in self._compressor.pending():  # the plain file and the .gz it becomes
                keep.update((pending, pending.with_name(pending.name + ".gz")))
        try:
            for path in segments.expired(
                segments.list_segments(self.root),
                keep=keep,
                max_age=self.retention_age,
                max_total=self.retention_size,
            ):
                segments.remove_segment(path)
            segments.remove_empty_days(self.root)
        except OSError as exc:
            self._retention_failed(exc)

    # -- errors --------------------------------------------------------------------------

    def _index_failed(self, path: Path, exc: OSError) -> None:
        """An index could not be written: say so once (a reader rebuilds it; nothing is lost)."""
        if self._index_error_reported:
            return
        self._index_error_reported = True
        error = f"{type(exc).__name__}: {exc.strerror or exc}"
        self.report(
            RecordingError(path=str(path), operation="index", error=error),
            f"bussdcc jsonl: could not write the index of {path} ({error}); recording goes on, "
            "readers scan such segments instead",
        )

    def _retention_failed(self, exc: OSError) -> None:
        """Old segments could not be deleted: say so once. Not an outage: new events are written.

        (It used to go through ``_fail``, which held new events back as lost for a second.)
        """
        if self._retention_error_reported:
            return
        self._retention_error_reported = True
        where = str(exc.filename or self.root)
        error = f"{type(exc).__name__}: {exc.strerror or exc}"
        self.report(
            RecordingError(path=where, operation="retention", error=error),
            f"bussdcc jsonl: retention could not delete {where} ({error}); recording goes on, "
            "the old segments stay",
        )

    def _lose(self, count: int) -> None:
        self.lost += count
        self._lost_in_outage += count

    def _fail(self, operation: str, path: Path | None, exc: OSError) -> None:
        if self._fd is not None and operation == "write":
            # Never write after a failed write: the file may end in a torn line.
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
            self._end = self._low = datetime.min.replace(tzinfo=UTC)
        self._retry_at = time.monotonic() + RETRY_INTERVAL
        error = f"{type(exc).__name__}: {exc.strerror or exc}"
        if self.failing is not None:
            return  # reported once per outage
        self.failing = error
        where = str(exc.filename or path or self.root)
        self.report(
            RecordingError(path=where, operation=operation, error=error),
            f"bussdcc jsonl: recording failed ({operation} {where}: {error}); "
            "events are counted as lost until it works again",
        )

    def _fsync_failed(self, path: Path | None, exc: OSError) -> None:
        # Not an outage: the data is written and stays in the file, only its durability is in
        # doubt; writing goes on, nothing is counted as lost, and it is reported once.
        if self.not_durable is not None:
            return
        self.not_durable = error = f"{type(exc).__name__}: {exc.strerror or exc}"
        where = str(exc.filename or path or self.root)
        self.report(
            RecordingError(path=where, operation="fsync", error=error),
            f"bussdcc jsonl: fsync failed ({where}: {error}); events are still written "
            "but may not survive a power cut until fsync works again",
        )

    def _durable_again(self, path: Path | None) -> None:
        if self.not_durable is None:
            return
        self.not_durable = None
        where = str(path or self.root)
        self.report(
            RecordingResumed(path=where, lost=0),
            f"bussdcc jsonl: fsync works again in {where}; every event since is durable",
        )

    def _resumed(self) -> None:
        lost, self._lost_in_outage = self._lost_in_outage, 0
        self.failing = None
        path = str(self.path)
        self.report(
            RecordingResumed(path=path, lost=lost),
            f"bussdcc jsonl: recording resumed in {path}; {lost} events were lost",
        )


class _Compressor:
    """Gzips closed segments on its own thread, so compression never stalls the writer."""

    def __init__(self, report: Report, indexer: SegmentIndexer, *, durable: bool) -> None:
        self._report = report
        self._indexer = indexer
        self._durable = durable
        self._pending: list[Path] = []
        self._indexes: dict[Path, SegmentIndex | None] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False

    def submit(self, path: Path, index: SegmentIndex | None) -> None:
        """Compress ``path`` soon; ``index`` (its index, if written) is rewritten for the .gz."""
        with self._cond:
            if path in self._pending:
                return
            self._pending.append(path)
            self._indexes[path] = index
            if self._thread is None or not self._thread.is_alive():
                self._closing = False
                self._thread = threading.Thread(target=self._run, name="bussdcc-jsonl-compress", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                path = self._pending[0]
                index = self._indexes.pop(path, None)
            try:
                target = segments.compress(path, durable=self._durable)
            except FileNotFoundError:
                pass  # removed meanwhile (a failed boot's segments)
            except OSError as exc:
                self._report(
                    RecordingError(path=str(path), operation="compress", error=repr(exc)),
                    f"bussdcc jsonl: could not compress {path} ({exc}); it stays uncompressed",
                )
            else:
                if index is not None:
                    self._indexer.recompressed(index, target)
            with self._cond:
                self._pending.remove(path)

    def pending(self) -> list[Path]:
        """Segments waiting for (or in) compression: retention leaves them alone."""
        with self._cond:
            return list(self._pending)

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()


def stderr_line(line: str) -> None:
    """Print one report line on stderr (never raises: stderr may be closed at exit)."""
    report(line)
