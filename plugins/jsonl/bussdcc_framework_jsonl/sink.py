"""``JsonlSink``: records every event as one JSON line in time-segmented files.

The emitting thread only encodes the event (msgspec, in C, no lock) and appends the bytes to a
bounded queue; a writer thread drains the queue in batches and writes them to disk. The
event is encoded when it is emitted, so later mutation of a mutable field cannot change what
was recorded. An event that cannot be encoded (a value JSON cannot hold, a lone surrogate
in a string, nesting deeper than the encoder's limit) is counted and reported, never raised
into the emitter and never dropped silently. A float NaN or infinity is written as the string
``"nan"``/``"inf"``/``"-inf"`` (see ``encoding``). See docs/recording.md for the guarantees.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from bussdcc.context import ContextProtocol
from bussdcc.event import Event
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, TypeRegistry, type_name
from bussdcc_framework.codec.nanplan import NONFINITE, NULL_FLOAT, NanCheck, Probe, nan_plan
from bussdcc_framework.codec.nonfinite import nonfinite_untyped

from .config import DEFAULT_QUEUE_SIZE, FLUSH_MODES, OVERFLOW_MODES, Overflow
from .encoding import describe_error
from .indexing import Item
from .messages import RecordingBackpressure, RecordingDropped, RecordingError
from .writer import FlushMode, SegmentWriter, stderr_line

DEFAULT_FLUSH_INTERVAL = 0.5


#: At most one ``RecordingBackpressure`` report per this many seconds while emitters wait.
BACKPRESSURE_REPORT_INTERVAL = 10.0


class JsonlSink:
    """Write every event to ``root/YYYY-MM-DD/HH-MM-SS.jsonl`` segments of ``interval`` seconds.

    ``max_size`` also rotates a segment at that many bytes; ``retention_age`` (seconds) and
    ``retention_size`` (bytes, all segments together) delete the oldest segments (``None`` or
    0: no limit, for all three); ``compress`` gzips closed segments. ``flush``:
    ``"interval"`` writes to the OS every ``flush_interval`` seconds (default), ``"line"`` as
    soon as possible after each event, ``"fsync"`` like interval plus ``fsync`` (survives
    power loss). When ``queue_size`` events are waiting, ``overflow="block"`` makes emitters
    wait for the writer, ``"drop"`` drops and reports. A sidecar index is written next to each
    segment when it closes (see ``bussdcc_framework.recordings``).
    """

    name = "jsonl"

    def __init__(
        self,
        root: str | Path,
        interval: float = 600.0,
        *,
        max_size: int | None = None,
        retention_age: float | None = None,
        retention_size: int | None = None,
        compress: bool = False,
        flush: FlushMode = "interval",
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        overflow: Overflow = "block",
        codec: Codec | None = None,
        announce: bool = False,
    ) -> None:
        # ``announce``: print where it records on start (the plugin sets it for bussdcc run).
        _check(interval > 0, f"interval={interval!r}: expected seconds > 0, e.g. 600")
        _check(max_size is None or max_size >= 0, f"max_size={max_size!r}: expected bytes, 0 for no limit")
        _check(
            retention_age is None or retention_age >= 0,
            f"retention_age={retention_age!r}: expected seconds, 0 to keep forever",
        )
        _check(
            retention_size is None or retention_size >= 0,
            f"retention_size={retention_size!r}: expected bytes, 0 for no limit",
        )
        _check(flush in FLUSH_MODES, f"flush={flush!r}: expected one of {', '.join(FLUSH_MODES)}")
        _check(0 < flush_interval <= 1.0, f"flush_interval={flush_interval!r}: expected seconds in (0, 1]")
        _check(queue_size >= 1, f"queue_size={queue_size!r}: expected at least 1")
        _check(
            overflow in OVERFLOW_MODES, f"overflow={overflow!r}: expected one of {', '.join(OVERFLOW_MODES)}"
        )
        self.root = Path(root)
        self.interval = float(interval)
        self.max_size = max_size or None  # 0: no limit, as documented
        self.retention_age = retention_age or None
        self.retention_size = retention_size or None
        self.announce = announce
        self.compress = compress
        self.flush = flush
        self.flush_interval = flush_interval
        self.queue_size = queue_size
        self.overflow = overflow
        # Encoding needs no registry lookups: an empty one avoids plugin discovery here.
        self._codec = codec if codec is not None else Codec(TypeRegistry(include_imported=False))
        self._encode = self._codec.encode_record
        self._queue: deque[Item] = deque()
        self._wake_at = 1 if flush == "line" else max(1, queue_size // 4)
        self._wake = threading.Event()
        self._space = threading.Event()
        self._count_lock = threading.Lock()
        self._reports: deque[tuple[Message, str]] = deque()
        self._ctx: ContextProtocol | None = None
        self._thread: threading.Thread | None = None
        self._writer: SegmentWriter | None = None
        self._stopping = False
        self._accepting = False
        self.dropped = 0  # queue full, overflow="drop"
        self.waits = 0  # queue full, overflow="block": emits that waited ...
        self.waited = 0.0  # ... and how long, in seconds
        self._waits_reported = 0
        self._waited_reported = 0.0
        self._backpressure_reported_at = float("-inf")
        self._dropped_reported = 0
        self.late = 0  # handled after stop(): not written, counted
        self.unconfirmed = 0  # in a batch the writer failed on unexpectedly: maybe not written
        self._stopped = False  # stop() has printed its summary
        self._closed = False  # stop() has drained for the last time: what comes now is late
        self._late_said = False
        self.unencodable = 0
        self._unencodable_types: dict[type, int] = {}
        self.nonfinite = 0  # recorded with a NaN or an infinity written as a string
        self.altered = 0  # recorded, but will not read back as emitted (see _altered)
        self._altered_types: set[type] = set()  # reported once each: no per-type counts
        self._class_numbers: dict[type[Message], int] = {}  # queued items carry these numbers
        self._classes: list[type[Message]] = []
        self._nan_checks: list[NanCheck | None] = []  # by class number: on the emitting thread
        self._probes: list[Probe | None] = []  # by class number: flat classes' cheap probe
        self._fast_handle = self._make_handle()
        self.handle = self._fast_handle  # type: ignore[method-assign, assignment]

    # -- the hot path ----------------------------------------------------------------------

    def handle(self, evt: Event[Message]) -> None:
        """Encode ``evt`` on the calling thread and queue it for the writer; never touches disk.

        Replaced per instance by the closure ``_make_handle`` builds (same behaviour, fewer
        attribute lookups on the path every event takes); this method documents it.
        """
        self._fast_handle(evt)

    def _make_handle(self) -> Callable[[Event[Message]], None]:
        encode, queue, append = self._encode, self._queue, self._queue.append
        capacity, woken_by, wake = self.queue_size, self._wake_at - 1, self._wake
        is_set, admit, unencodable = wake.is_set, self._admit, self._unencodable
        numbers, number, nonfinite = self._class_numbers, self._number, self._nonfinite
        probes, isfinite = self._probes, math.isfinite

        def handle(evt: Event[Message]) -> None:
            try:
                line = encode(evt)
            except Exception as exc:  # EncodeError, and what msgspec raises itself (a lone
                unencodable(evt, exc)  # surrogate: UnicodeEncodeError; too deep: RecursionError)
                return
            payload = evt.payload
            try:
                n = numbers[type(payload)]
            except KeyError:
                n = number(type(payload))
            if n < 0:  # ~number: a class that can hold a float, which may be a NaN
                n = ~n
                probe = probes[n]
                if probe is None:
                    if b"null" in line:  # msgspec writes NaN as null: look closer
                        line = nonfinite(evt, n, line)
                else:
                    try:
                        finite = isfinite(probe(payload))
                    except (TypeError, ValueError, OverflowError):  # None, inf - inf, overflow
                        finite = False
                    if not finite:  # the rare case: look closer
                        line = nonfinite(evt, n, line)
            size = len(queue)
            if size >= capacity:
                admit((evt.time, line, n))
                return
            append((evt.time, line, n))
            if size >= woken_by and not is_set():  # this one makes wake_at events waiting
                wake.set()

        return handle

    def _admit(self, item: Item) -> None:
        """The queue is full: wait for room and queue ``item`` (block), or count a drop."""
        thread = self._thread
        if not self._accepting or thread is None or threading.current_thread() is thread:
            self._queue_or_count_late(item)  # before start / during stop: stop() drains it
            return  # (and the writer never waits for itself)
        if self.overflow == "block":
            started = time.monotonic()
            queue, space = self._queue, self._space
            while True:
                # ``_space`` stays set after a drain: clear it before looking at the queue, so
                # the wait sleeps until the next drain sets it instead of spinning on the core
                # the writer needs. The timeout notices a writer thread that died.
                space.clear()
                if len(queue) < self.queue_size or not thread.is_alive():  # stop() joins it first
                    break
                self._wake.set()
                space.wait(0.05)
            waited = time.monotonic() - started
            with self._count_lock:
                self.waits += 1
                self.waited += waited
            self._queue_or_count_late(item)
            return
        with self._count_lock:
            self.dropped += 1

    def _queue_or_count_late(self, item: Item) -> None:
        """Queue ``item``, or count it as late once ``stop()`` has drained for the last time.

        Under the lock ``stop()`` takes to count what is left, so an emitter that waited through
        the stop is either drained or counted, never left in the queue unseen.
        """
        with self._count_lock:
            if self._closed:
                self.late += 1
            else:
                self._queue.append(item)

    def _unencodable(self, evt: Event[Message], exc: Exception) -> None:
        """Count an event that could not be encoded; report the first of each type at once.

        The rest are counted per type and listed in the summary ``stop()`` prints. The report
        itself must be encodable: the error text is made printable and cut.
        """
        cls = type(evt.payload)
        with self._count_lock:
            self.unencodable += 1
            first = cls not in self._unencodable_types
            self._unencodable_types[cls] = self._unencodable_types.get(cls, 0) + 1
        if first:
            error = describe_error(cls, exc)
            self._reports.append(
                (
                    RecordingError(path=str(self.root), operation="encode", error=error),
                    f"bussdcc jsonl: {error}; such events are counted and not recorded",
                )
            )
            self._wake.set()

    def _number(self, cls: type[Message]) -> int:
        """Number a message class the first time it is seen (the queue holds numbers).

        ``_class_numbers`` maps the class to its number, or to ``~number`` (negative) when its
        events can hold a NaN and need ``_nan_checks[number]``: one dict lookup per event.
        """
        with self._count_lock:
            n = self._class_numbers.get(cls)
            if n is None:
                n = len(self._classes)
                plan = nan_plan(cls)
                check, probe = plan if plan is not None else (None, None)
                self._classes.append(cls)
                self._nan_checks.append(check)
                self._probes.append(probe)
                self._class_numbers[cls] = n if check is None else ~n
            return self._class_numbers[cls]

    def _nonfinite(self, evt: Event[Message], n: int, line: bytes) -> bytes:
        """The record to write for an event the probe flagged: NaN written as strings.

        The slow path of ``handle`` (on the emitting thread, where the event still is): many
        such events hold a ``None``, not a NaN, and keep their line as it is.
        """
        payload = evt.payload
        check = self._nan_checks[n]
        assert check is not None
        found = check(payload)
        if not found & NONFINITE:
            if found & NULL_FLOAT:
                self._altered(type(payload))
            return line
        try:
            fixed = self._codec.encode_record_nonfinite(evt)
        except Exception:  # encode_record could: keep its line (nulls), say it is altered
            self._altered(type(payload))
            return line
        with self._count_lock:
            self.nonfinite += 1
        if found & NULL_FLOAT or nonfinite_untyped(payload):
            self._altered(type(payload))
        return fixed

    def _altered(self, cls: type[Message]) -> None:
        """Count (and report the first of its type) an event that will not read back as emitted.

        A NaN or infinity where the declared type is not a float (an ``Any`` field) is written
        as a string and reads back as one; ``None`` in a ``float`` field is written as null and
        fails to decode. Called on the emitting thread.
        """
        with self._count_lock:
            self.altered += 1
            first = cls not in self._altered_types
            self._altered_types.add(cls)
        if first:
            error = (
                f"{type_name(cls)} holds a float NaN or infinity where its type is not a float "
                "(recorded as the string 'nan', 'inf' or '-inf', read back as that string) or "
                "None in a float field (recorded as null, which will not decode on replay)"
            )
            self._reports.append(
                (
                    RecordingError(path=str(self.root), operation="encode", error=error),
                    f"bussdcc jsonl: {error}; such events are counted",
                )
            )
            self._wake.set()

    @property
    def unencodable_types(self) -> dict[str, int]:
        """Events that could not be encoded, per record type."""
        with self._count_lock:
            return {type_name(cls): n for cls, n in self._unencodable_types.items()}

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, ctx: ContextProtocol) -> None:
        """Start the writer thread; an unusable directory is reported, not raised, and retried."""
        if self._thread is not None:
            return
        self._ctx = ctx
        self._writer = SegmentWriter(
            self.root,
            interval=self.interval,
            max_size=self.max_size,
            flush=self.flush,
            compress=self.compress,
            retention_age=self.retention_age,
            retention_size=self.retention_size,
            report=self._report,
            classes=self._classes,
        )
        self._stopping = False
        self._accepting = True
        self.handle = self._fast_handle  # type: ignore[method-assign, assignment]
        self._stopped = self._late_said = self._closed = False
        self._thread = threading.Thread(target=self._run, name="bussdcc-jsonl-writer", daemon=True)
        self._thread.start()
        if self.announce:
            stderr_line(
                f"bussdcc jsonl: recording events to {_shown(self.root)} "
                "(change with --record DIR or BUSSDCC_JSONL_DIR; turn off with BUSSDCC_JSONL_ENABLED=false)"
            )

    def stop(self) -> None:
        """Drain the queue to disk, close the segment, print a summary of anything lost."""
        thread, writer = self._thread, self._writer
        if thread is None or writer is None:
            return
        self._stopping = True
        self._wake.set()
        thread.join()
        self._accepting = False
        writer.write(self._drain())  # anything queued while the writer finished
        # From here an event cannot be written: it is counted (a dispatch already under way
        # may still reach the fast handle; what it queued is counted below).
        self.handle = self._after_stop  # type: ignore[method-assign]
        writer.flush()
        writer.close()
        self._emit_reports()
        self._thread = None
        self._space.set()
        self._count_late()
        if (
            self.dropped
            or writer.lost
            or self.unencodable
            or self.altered
            or self.waits
            or self.late
            or self.unconfirmed
        ):
            kinds = ", ".join(f"{name}: {n}" for name, n in sorted(self.unencodable_types.items()))
            stderr_line(
                f"bussdcc jsonl: recorded {writer.written} events in {self.root}; "
                f"dropped {self.dropped} (queue full), lost {writer.lost} (write errors), "
                f"{self.unencodable} could not be encoded{f' ({kinds})' if kinds else ''}, "
                f"{self.altered} will not read back as emitted (NaN where the type is no float), "
                f"{self.waits} emits waited {self.waited:.2f}s (queue full)"
                + (f", {self.late} arrived after the recording stopped" if self.late else "")
                + (
                    f", {self.unconfirmed} may not have been written (writer error)"
                    if self.unconfirmed
                    else ""
                )
            )
        self._stopped = True

    def _after_stop(self, evt: Event[Message]) -> None:
        """An event handled once the recording stopped: not written, but never lost silently."""
        with self._count_lock:
            self.late += 1
            say = self._stopped and not self._late_said  # the stop summary could not say it
            self._late_said = self._late_said or say
        if say:
            stderr_line(
                f"bussdcc jsonl: an event of type {type_name(type(evt.payload))} arrived after the "
                f"recording in {self.root} stopped and is not recorded (stop the runtime, not the sink)"
            )

    def _count_late(self) -> None:
        with self._count_lock:
            self._closed = True
            self.late += len(self._queue)
            self._queue.clear()

    @property
    def written(self) -> int:
        """Events written to disk so far."""
        return self._writer.written if self._writer is not None else 0

    @property
    def lost(self) -> int:
        """Events not written because of write errors."""
        return self._writer.lost if self._writer is not None else 0

    @property
    def path(self) -> Path | None:
        """The segment being written, if any."""
        return self._writer.path if self._writer is not None else None

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        writer = self._writer
        assert writer is not None
        writer.compress_leftovers()
        writer.apply_retention()
        while True:
            stopping = self._stopping
            if not stopping:
                self._wake.wait(self.flush_interval)
            self._wake.clear()
            items = self._drain()
            try:
                if items:
                    writer.write(items)
                writer.flush()
            except Exception as exc:
                # Not an OSError (the writer handles those and counts what they lose): a bug.
                # How much of the batch reached the file is unknown, so it is counted as such.
                self.unconfirmed += len(items)
                self._report(
                    RecordingError(path=str(self.root), operation="write", error=repr(exc)),
                    f"bussdcc jsonl: writer error {exc!r}; {len(items)} events of its batch "
                    "may not have been written (please report this bug)",
                )
            self._report_drops()
            self._report_backpressure(final=stopping)
            self._emit_reports()
            if stopping:
                return

    def _drain(self) -> list[Item]:
        self._space.clear()
        queue = self._queue
        popleft = queue.popleft
        items = [popleft() for _ in range(len(queue))]
        self._space.set()
        return items

    def _report_drops(self) -> None:
        dropped = self.dropped
        if dropped != self._dropped_reported:
            new = dropped - self._dropped_reported
            self._dropped_reported = dropped
            self._report(
                RecordingDropped(dropped=new, total=dropped, queue_size=self.queue_size),
                f"bussdcc jsonl: queue full, dropped {new} events ({dropped} in all); "
                "raise jsonl.queue_size or use jsonl.overflow=block",
            )

    def _report_backpressure(self, *, final: bool = False) -> None:
        now = time.monotonic()
        waits, waited = self.waits, self.waited
        if waits == self._waits_reported:
            return
        if not final and now - self._backpressure_reported_at < BACKPRESSURE_REPORT_INTERVAL:
            return
        new, seconds = waits - self._waits_reported, waited - self._waited_reported
        self._waits_reported, self._waited_reported = waits, waited
        self._backpressure_reported_at = now
        self._report(
            RecordingBackpressure(waits=new, waited=round(seconds, 3), queue_size=self.queue_size),
            f"bussdcc jsonl: queue full, {new} emits waited {seconds:.2f}s for the disk "
            f"({waits} in all); raise jsonl.queue_size or use jsonl.overflow=drop",
        )

    def _report(self, msg: Message, line: str) -> None:
        self._reports.append((msg, line))

    def _emit_reports(self) -> None:
        # Emitted from the writer thread (or stop()), never from inside handle(): the report
        # goes through every sink, this one included, like any other event.
        while self._reports:
            msg, line = self._reports.popleft()
            stderr_line(line)
            ctx = self._ctx
            if ctx is not None:
                try:
                    ctx.emit(msg)
                except Exception:
                    pass

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.root)!r}, interval={self.interval:g})"


def _shown(path: Path) -> str:
    """A directory as the user would type it: relative to here when it is below, else absolute."""
    resolved = path.resolve()
    try:
        relative = resolved.relative_to(Path.cwd())
    except ValueError:
        return str(resolved)
    return f"./{relative}" if str(relative) != "." else "."


def _check(ok: bool, problem: str) -> None:
    if not ok:
        raise ValueError(f"JsonlSink: {problem}")
