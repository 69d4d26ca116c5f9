"""The sidecar index of one recorded JSONL file: its format, where it lives, how it is checked.

An index summarises one data file (a ``JsonlSink`` segment, an original-format log, a
``.jsonl.gz``): time range, record count, counts per type and per severity, a time -> byte
offset table every ``every`` records, the warnings and errors (``marks``) and the lifecycle
records that delimit runs. The ``jsonl`` sink writes one when it closes a segment;
``scan.scan_file`` builds the same from any file.

An index is only ever a cache. It names the bytes it describes (``Source``: the file's name,
size, modification time and a fingerprint of its first and last bytes); ``read_index`` returns
it only when all of these still match the data file, and says why not otherwise (``missing``,
``stale``: appended, truncated, replaced; ``damaged``: not an index of this version). Nothing
here raises because of an index file: a reader that gets no index reads the data.

An index's counts also depend on the longest line its builder accepted (``max_line``: a longer
line is ``too_long``, not a record), so it says which limit it was built under and the longest
line it counted; ``SegmentIndex.limit_mismatch`` tells a reader with its own limit whether the
counts hold for it (a reader treats an index that does not like a stale one).

The file sits next to its data file, hidden: ``DIR/.NAME.idx`` for ``DIR/NAME.jsonl`` and
``DIR/NAME.jsonl.gz`` (one index per stem; ``source.name`` says which file it describes). Its
name contains no ``.jsonl``, so no reader that globs ``*.jsonl`` or ``*.jsonl*`` picks it up,
and the recording's layout is the seed's. The content is JSON (msgspec), readable with ``jq``.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final, Literal

import msgspec

#: ``SegmentIndex.format``: what a file must say to be taken for an index.
FORMAT: Final = "bussdcc-recording-index"
#: ``SegmentIndex.version``: bumped when a reader of an older version could misread the file.
#: Version 2 added ``max_line`` and ``longest_line``. Version 1 files are ``damaged`` (not read)
#: rather than read with those fields unknown: an index that cannot say which line-length
#: limit its counts hold for can never be used safely, so calling it damaged costs nothing
#: more than a scan, and ``events index`` and the sink rewrite it like any damaged one.
VERSION: Final = 2
#: Suffix of index files.
INDEX_SUFFIX: Final = ".idx"
#: Suffixes of the data files an index can describe (the longest first).
DATA_SUFFIXES: Final = (".jsonl.gz", ".ndjson.gz", ".jsonl", ".ndjson")
#: A checkpoint every this many records.
DEFAULT_EVERY: Final = 1000
#: Bytes of the head and of the tail of a file that its fingerprint covers.
FINGERPRINT_BYTES: Final = 4096
#: An index file larger than this is not read (garbage, or hostile): it is ``damaged``.
MAX_INDEX_BYTES: Final = 32 * 1024 * 1024

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
IndexStatus = Literal["ok", "missing", "stale", "damaged"]
LifecycleKind = Literal["booting", "booted", "app", "boot_failed", "shutting_down", "shutdown"]


class Source(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """What identifies the data file an index describes (all must match for the index to count).

    ``size`` and ``mtime_ns`` come from ``stat``; ``fingerprint`` is a BLAKE2b digest of the
    size and of the first and last ``FINGERPRINT_BYTES`` bytes of the file as stored (compressed
    bytes for ``.gz``), so a file rewritten with the same size and time is still told apart.
    """

    name: str
    size: NonNegative
    mtime_ns: int
    fingerprint: str


class Checkpoint(msgspec.Struct, frozen=True, array_like=True):
    """A place to start reading: the line at ``offset`` is record number ``record`` (from 0).

    Every record before ``offset`` has a time at or before ``before`` (the latest time seen so
    far), so a reader that wants every record from time T on may start at the last checkpoint
    whose ``before`` is earlier than T (``seek``), even when the clock stepped back.
    Offsets count bytes of the uncompressed data (for ``.gz``: of the decompressed stream).
    """

    offset: NonNegative
    record: NonNegative
    before: datetime


class Mark(msgspec.Struct, frozen=True, array_like=True):
    """A warning, an error or a critical record (``severity`` >= warning), where it is."""

    offset: NonNegative
    record: NonNegative
    time: datetime
    type: str
    severity: str


class LifecycleMark(msgspec.Struct, frozen=True, kw_only=True):
    """A record that starts or ends a run (see ``runs.py``), with what runs are listed by.

    ``before`` is the latest record time before it in the same file (``None`` when it is the
    first record): when a run ends without a shutdown record (a crash), that is its end.
    ``version`` comes from the booting records, ``app`` from ``ApplicationStarted``, ``reason``
    from the shutting-down records and ``error`` from ``FrameworkBootFailed``.
    """

    kind: LifecycleKind
    offset: NonNegative
    record: NonNegative
    time: datetime
    type: str
    before: datetime | None = None
    version: str | None = None
    app: str | None = None
    reason: str | None = None
    error: str | None = None


class SegmentIndex(msgspec.Struct, frozen=True, kw_only=True):
    """The index of one data file. Build one with ``IndexBuilder`` or ``scan.scan_file``.

    ``records`` counts the lines that are records (a JSON object with ``time`` carrying a UTC
    offset, ``type`` a string and ``data``); whether their type is known is a reader's business.
    ``skipped`` counts the other lines by reason (``blank``, ``bad_json``, ``not_record``,
    ``bad_time``, ``too_long``). ``start``/``end`` are the earliest and latest record times.
    ``types`` counts records per type name (at most ``MAX_TYPES`` names; the rest add up in
    ``other_types``), ``severities`` per severity name (``debug`` ... ``critical``, or
    ``unknown`` for a type whose class the builder did not know). ``marks`` lists the warnings
    and errors (at most ``MAX_MARKS``; ``marks_dropped`` counts the rest), ``lifecycle`` the
    records that delimit runs (at most ``MAX_LIFECYCLE``). ``data_size`` is the number of bytes
    described (uncompressed). ``complete`` is false when the data ended in a torn line.
    ``writer`` says who built it (``jsonl-sink`` or ``scanner``).

    ``max_line`` is the line-length limit (bytes, newline excluded) the builder classified
    lines under: a longer line counts as ``too_long``; ``None`` for the sink, which counts
    every line it writes. ``longest_line`` is the length of the longest line counted as
    anything else (a record, a blank line, damage): a reader whose limit is below it would
    skip that line as ``too_long``, one whose limit is above ``max_line`` would read the
    ``too_long`` lines (``limit_mismatch``).
    """

    format: str = FORMAT
    version: int = VERSION
    source: Source
    writer: str
    compressed: bool = False
    data_size: NonNegative
    complete: bool = True
    every: Annotated[int, msgspec.Meta(ge=1)] = DEFAULT_EVERY
    records: NonNegative
    start: datetime | None = None
    end: datetime | None = None
    types: dict[str, NonNegative] = {}
    other_types: NonNegative = 0
    severities: dict[str, NonNegative] = {}
    skipped: dict[str, NonNegative] = {}
    checkpoints: list[Checkpoint] = []
    marks: list[Mark] = []
    marks_dropped: NonNegative = 0
    lifecycle: list[LifecycleMark] = []
    lifecycle_dropped: NonNegative = 0
    max_line: Annotated[int, msgspec.Meta(ge=1)] | None
    longest_line: NonNegative

    def limit_mismatch(self, max_line: int) -> str | None:
        """Why this index's counts do not hold for a reader of lines up to ``max_line`` bytes.

        ``None`` when they do: every line it counted fits in ``max_line``, and its ``too_long``
        lines (if any) are too long for the reader too (its limit is not looser than the
        builder's). Otherwise the reader would count some lines differently: it reads the data.
        """
        if self.longest_line > max_line:
            return f"it counted a line of {self.longest_line} bytes, longer than max_line={max_line}"
        too_long = self.skipped.get("too_long", 0)
        if too_long and (self.max_line is None or max_line > self.max_line):
            return (
                f"it skipped {too_long} line(s) as longer than max_line={self.max_line}, "
                f"which max_line={max_line} may read"
            )
        return None

    def seek(self, t: datetime) -> Checkpoint | None:
        """Where to start reading to see every record at or after ``t``; ``None``: the start.

        Read from ``offset`` on and skip records earlier than ``t`` (there can be a few: the
        checkpoints are ``every`` records apart and threads race at the edges).
        """
        i = bisect.bisect_left(self.checkpoints, t, key=lambda c: c.before)
        return self.checkpoints[i - 1] if i > 0 else None

    def with_source(self, source: Source, *, compressed: bool | None = None) -> SegmentIndex:
        """The same index for another file holding the same data (a segment once compressed)."""
        return msgspec.structs.replace(
            self, source=source, compressed=self.compressed if compressed is None else compressed
        )


#: Bounds that keep an index small whatever the data holds.
MAX_TYPES: Final = 10_000
MAX_MARKS: Final = 10_000
MAX_LIFECYCLE: Final = 10_000


class IndexCheck(msgspec.Struct, frozen=True):
    """What ``read_index`` found: the index when ``status == "ok"``, else why there is none."""

    status: IndexStatus
    index: SegmentIndex | None = None
    detail: str = ""


_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder(SegmentIndex)


def data_stem(name: str) -> str:
    """A data file's name without its log suffix (``12-00-00_001`` for ``12-00-00_001.jsonl.gz``)."""
    for suffix in DATA_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def index_path(data: Path) -> Path:
    """Where the index of ``data`` lives: ``.STEM.idx`` in the same directory."""
    return data.with_name(f".{data_stem(data.name)}{INDEX_SUFFIX}")


def is_index_name(name: str) -> bool:
    """Whether a file name is an index (or a temporary one being written)."""
    return name.startswith(".") and (name.endswith(INDEX_SUFFIX) or INDEX_SUFFIX + ".tmp" in name)


def file_identity(path: Path) -> Source:
    """The ``Source`` of a regular file as it is now. Raises ``OSError`` (also for non-files)."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path} is not a regular file")
        return _identity(fh, path.name, st.st_size, st.st_mtime_ns)


def identity_of_open(fh: object, name: str, size: int, mtime_ns: int) -> Source:
    """``Source`` of an already opened binary file, for the first ``size`` bytes (scanners)."""
    return _identity(fh, name, size, mtime_ns)


def _identity(fh: object, name: str, size: int, mtime_ns: int) -> Source:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(size.to_bytes(8, "little"))
    digest.update(os.pread(fh.fileno(), min(size, FINGERPRINT_BYTES), 0))  # type: ignore[attr-defined]
    if size > FINGERPRINT_BYTES:
        tail = max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES)
        digest.update(os.pread(fh.fileno(), size - tail, tail))  # type: ignore[attr-defined]
    return Source(name=name, size=size, mtime_ns=mtime_ns, fingerprint=digest.hexdigest())


def encode_index(index: SegmentIndex) -> bytes:
    """The bytes of an index file."""
    return _encoder.encode(index) + b"\n"


def decode_index(data: bytes) -> SegmentIndex:
    """An index from its file's bytes; ``ValueError`` when they are not a sound index."""
    try:
        index = _decoder.decode(data)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise ValueError(f"not an index: {exc}") from None
    if index.format != FORMAT or index.version != VERSION:
        raise ValueError(f"format {index.format!r} version {index.version}, expected {FORMAT!r} {VERSION}")
    _check_consistent(index)
    return index


def _check_consistent(index: SegmentIndex) -> None:
    """Refuse an index whose parts contradict each other (hand-edited, or garbage that parsed)."""
    if sum(index.types.values()) + index.other_types != index.records:
        raise ValueError("type counts do not add up to the record count")
    if sum(index.severities.values()) != index.records:
        raise ValueError("severity counts do not add up to the record count")
    if index.max_line is not None and index.longest_line > index.max_line:
        raise ValueError("it counted a line longer than its own max_line")
    if index.max_line is None and index.skipped.get("too_long"):
        raise ValueError("too_long lines without a max_line")
    if (index.start is None) != (index.records == 0) or (index.end is None) != (index.records == 0):
        raise ValueError("time range does not match the record count")
    last_offset, last_record = -1, -1
    for cp in index.checkpoints:
        if not (last_offset < cp.offset < index.data_size and last_record < cp.record < index.records):
            raise ValueError("checkpoints are not increasing within the data")
        last_offset, last_record = cp.offset, cp.record
    places: list[Mark | LifecycleMark] = [*index.marks, *index.lifecycle]
    for entry in places:
        if entry.offset >= index.data_size or entry.record >= index.records:
            raise ValueError("a mark lies outside the data")


def read_index(data: Path) -> IndexCheck:
    """The index of ``data`` if there is one and it still describes ``data`` exactly.

    Never raises: an unreadable, oversized, undecodable or inconsistent index file is
    ``damaged``, one that describes other bytes (the file was appended to, truncated,
    replaced or compressed since) is ``stale``, no file is ``missing``. When ``data`` itself
    cannot be read, the index is ``stale`` too (there is nothing it could be checked against).
    """
    where = index_path(data)
    try:
        with open(where, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                return IndexCheck("damaged", detail=f"{where} is not a regular file")
            if st.st_size > MAX_INDEX_BYTES:
                return IndexCheck("damaged", detail=f"{where} is larger than {MAX_INDEX_BYTES} bytes")
            raw = fh.read(MAX_INDEX_BYTES + 1)
    except FileNotFoundError:
        return IndexCheck("missing", detail=f"{where} does not exist")
    except OSError as exc:
        return IndexCheck("damaged", detail=f"{where}: {exc.strerror or exc}")
    try:
        index = decode_index(raw)
    except ValueError as exc:
        return IndexCheck("damaged", detail=f"{where}: {exc}")
    try:
        current = file_identity(data)
    except OSError as exc:
        return IndexCheck("stale", detail=f"{data}: {exc}")
    if index.source != current:
        changed = [
            f
            for f in ("name", "size", "mtime_ns", "fingerprint")
            if getattr(index.source, f) != getattr(current, f)
        ]
        return IndexCheck("stale", detail=f"{where} describes other data ({', '.join(changed)} changed)")
    return IndexCheck("ok", index=index)


def load_index(data: Path) -> SegmentIndex | None:
    """The index of ``data`` when ``read_index`` finds it sound and current, else ``None``."""
    return read_index(data).index


def write_index(data: Path, index: SegmentIndex, *, durable: bool = False) -> Path:
    """Write ``index`` next to ``data`` atomically (a temporary file renamed over the old one).

    A reader sees the old index or the new one, never a part. Raises ``OSError``; callers
    that only keep a cache up to date ignore it (a missing index costs a scan, nothing else).
    """
    where = index_path(data)
    tmp = where.with_name(f"{where.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(encode_index(index))
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, where)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return where


def remove_index(data: Path) -> None:
    """Delete the index of ``data`` (retention removes both); a missing one is fine."""
    try:
        index_path(data).unlink(missing_ok=True)
    except OSError:
        pass
