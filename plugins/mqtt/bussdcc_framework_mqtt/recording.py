"""The central recording: one JSONL recording per node, written exactly once per event.

MQTT delivers at least once (a PUBACK lost in a link cut makes the device send again; a device
that restarts sends its whole outbox again), so the collector remembers which (boot, seq) of each
node it has written and drops repeats. That memory is rebuilt from the recording itself when the
collector starts, so a collector killed between writing a line and acknowledging it does not
write the line twice when the broker delivers it again. A checkpoint (``DIR/.bussdcc-collector.json``,
written every few seconds and at stop) records how far each file was read, so start-up only
scans what was written after it.

Each node's files are written by the jsonl recorder's own ``SegmentWriter``: same layout
(``DIR/<site>/<node>/YYYY-MM-DD/HH-MM-SS.jsonl``), same rotation, same index, so
``bussdcc replay DIR/<site>/<node>`` replays one device and ``bussdcc replay DIR`` the fleet.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import msgspec
from bussdcc.message import Message, Severity

CHECKPOINT_NAME = ".bussdcc-collector.json"
#: Sequence numbers remembered above a boot's contiguous watermark. Beyond this (a gap that
#: never fills: the device's outbox dropped events), the watermark moves past the gap.
MAX_PENDING = 10_000


class SeenBoot:
    """The seqs of one boot already written: all up to ``watermark``, plus ``above`` it."""

    __slots__ = ("above", "watermark")

    def __init__(self, watermark: int = 0, above: set[int] | None = None) -> None:
        self.watermark = watermark
        self.above = above or set()

    def add(self, seq: int) -> bool:
        """Remember ``seq``; False when it was already seen (a duplicate)."""
        if seq <= self.watermark or seq in self.above:
            return False
        if seq == self.watermark + 1:
            self.watermark = seq
            above = self.above
            while self.watermark + 1 in above:
                self.watermark += 1
                above.discard(self.watermark)
        else:
            self.above.add(seq)
            if len(self.above) > MAX_PENDING:
                self.watermark = min(self.above)
                self.above.discard(self.watermark)
                while self.watermark + 1 in self.above:
                    self.watermark += 1
                    self.above.discard(self.watermark)
        return True

    def to_json(self) -> list[Any]:
        return [self.watermark, sorted(self.above)]

    @classmethod
    def from_json(cls, value: Any) -> SeenBoot:
        watermark, above = value
        return cls(int(watermark), {int(s) for s in above})


class _Keys(msgspec.Struct):
    boot: str | None = None
    seq: int | None = None


_KEYS = msgspec.json.Decoder(_Keys)
Report = Callable[[Message, str], None]


class RawType:
    """Stands for a record type the collector has no class for (it never has: nothing named in
    data is imported), where the recorder's writer expects a message class: its index asks a
    class only for ``module:QualName`` and ``severity``, which this answers from the name and
    the severity the device sent (``None``: unknown)."""

    def __init__(self, name: str, severity: str | None) -> None:
        module, _, qualname = name.partition(":")
        self.__module__ = module
        self.__qualname__ = qualname
        self.severity = Severity[severity.upper()] if severity is not None else None


_RAW_TYPES: dict[tuple[str, str | None], RawType] = {}


def raw_type(name: str, severity: str | None = None) -> type[Message]:
    """The ``RawType`` of a (validated) type name and severity, remembered for the common ones."""
    key = (name, severity)
    found = _RAW_TYPES.get(key)
    if found is None:
        found = RawType(name, severity)
        if len(_RAW_TYPES) < 4096:
            _RAW_TYPES[key] = found
    return cast("type[Message]", found)


class NodeRecording:
    """One node's files and the (boot, seq) already in them."""

    def __init__(self, root: Path, site: str, node: str, *, interval: float, report: Report) -> None:
        from bussdcc_framework_jsonl.writer import SegmentWriter

        self.site = site
        self.node = node
        self.directory = root / site / node
        self.boots: dict[str, SeenBoot] = {}
        self.written = 0
        self.duplicates = 0
        self._writer = SegmentWriter(
            self.directory,
            interval=interval,
            max_size=None,
            flush="interval",
            compress=False,
            retention_age=None,
            retention_size=None,
            report=report,
        )

    def seen(self, boot: str) -> SeenBoot:
        entry = self.boots.get(boot)
        if entry is None:
            entry = self.boots[boot] = SeenBoot()
        return entry

    def accept(self, boot: str, seq: int) -> bool:
        """Whether (boot, seq) is new (and now remembered)."""
        return self.seen(boot).add(seq)

    def write(self, time: datetime, line: bytes, type_name: str, severity: str | None = None) -> None:
        """One record line (no newline), in the OS when this returns."""
        self._writer.write([(time, line, raw_type(type_name, severity))])
        self.written += 1

    def scan(self, files: dict[str, int]) -> None:
        """Learn the (boot, seq) of every line past the offsets in ``files`` (path -> bytes read)."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*/*.jsonl")):
            start = files.get(str(path), 0)
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if size <= start:
                continue
            with open(path, "rb") as handle:
                handle.seek(start)
                for line in handle:
                    try:
                        keys = _KEYS.decode(line)
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        continue  # a torn last line, a presence record
                    if keys.boot is not None and keys.seq is not None:
                        self.seen(keys.boot).add(keys.seq)

    def files(self) -> dict[str, int]:
        """Path -> size of this node's plain segment files now."""
        out: dict[str, int] = {}
        if self.directory.is_dir():
            for path in self.directory.glob("*/*.jsonl"):
                try:
                    out[str(path)] = path.stat().st_size
                except OSError:
                    continue
        return out

    def close(self) -> None:
        self._writer.close()


class FleetRecording:
    """Every node's recording under ``root``; thread-safe; checkpointed."""

    def __init__(self, root: Path, *, interval: float, report: Report) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.interval = interval
        self._report = report
        self._nodes: dict[tuple[str, str], NodeRecording] = {}
        self._lock = threading.Lock()
        self._checkpoint: dict[str, Any] = self._load_checkpoint()

    # -- start-up -----------------------------------------------------------------------

    def _load_checkpoint(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / CHECKPOINT_NAME).read_text())
        except (OSError, ValueError):
            return {"nodes": {}}
        return data if isinstance(data, dict) and isinstance(data.get("nodes"), dict) else {"nodes": {}}

    def node(self, site: str, node: str) -> NodeRecording:
        """The recording of one node, its de-duplication state loaded on first use."""
        key = (site, node)
        recording = self._nodes.get(key)
        if recording is None:
            recording = NodeRecording(self.root, site, node, interval=self.interval, report=self._report)
            saved = self._checkpoint["nodes"].get(f"{site}/{node}", {})
            try:
                recording.boots = {b: SeenBoot.from_json(v) for b, v in saved.get("boots", {}).items()}
                files = {str(k): int(v) for k, v in saved.get("files", {}).items()}
            except (TypeError, ValueError):
                recording.boots, files = {}, {}
            recording.scan(files)
            self._nodes[key] = recording
        return recording

    # -- writing ------------------------------------------------------------------------

    def record(
        self,
        site: str,
        node: str,
        boot: str,
        seq: int,
        time: datetime,
        line: bytes,
        type_name: str,
        severity: str | None = None,
    ) -> bool:
        """Write ``line`` unless (node, boot, seq) was written before; True when written.

        ``severity`` (``"warning"``, from the payload) goes to the index: its counts and marks.
        """
        with self._lock:
            recording = self.node(site, node)
            if not recording.accept(boot, seq):
                recording.duplicates += 1
                return False
            recording.write(time, line, type_name, severity)
            return True

    # -- bookkeeping --------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Save how far each file is known, atomically (temp file + rename)."""
        with self._lock:
            nodes = {
                f"{site}/{node}": {
                    "boots": {b: s.to_json() for b, s in rec.boots.items()},
                    "files": rec.files(),
                }
                for (site, node), rec in self._nodes.items()
            }
        data = {"version": 1, "nodes": {**self._checkpoint["nodes"], **nodes}}
        target = self.root / CHECKPOINT_NAME
        tmp = target.with_name(target.name + ".tmp")
        try:
            tmp.write_text(json.dumps(data, separators=(",", ":")))
            os.replace(tmp, target)
        except OSError:
            return  # the next checkpoint retries; the recording itself is the truth
        self._checkpoint = data

    def stats(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(site, node) -> (written, duplicates dropped) since the start."""
        with self._lock:
            return {k: (r.written, r.duplicates) for k, r in self._nodes.items()}

    def close(self) -> None:
        self.checkpoint()
        with self._lock:
            for recording in self._nodes.values():
                recording.close()
            self._nodes.clear()
