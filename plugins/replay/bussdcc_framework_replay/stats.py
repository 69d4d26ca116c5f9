"""What a source read, and what it skipped and why: counts, examples, per-file figures.

Damaged input is never fatal (unless strict), so this is where it becomes visible: every
skipped line is counted by reason, and the first few of each reason are kept as
``file:line: detail`` examples for the summary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bussdcc_framework.codec import format_time

#: Reasons of the codec (``DecodeError.reason``) plus those only a reader of files can see.
READER_REASONS = {
    "torn_line": "the last line of a file is incomplete (a crash or a file still being written)",
    "too_long": "a line longer than replay.max_line, read past without being held",
    "bad_utf8": "a string holds bytes that are not UTF-8",
    "too_deep": "JSON nested deeper than the decoder's recursion limit",
    "undecodable": "the decoder failed in an unexpected way (the detail names the error)",
    "bad_gzip": "the compressed file is truncated or corrupt; records before the damage were read",
    "unreadable": "the file could not be read (permissions, I/O error, dangling link, link loop)",
    "not_a_file": "a FIFO, device or socket named like a log: never opened",
}

#: The skip reason that is not damage: a well-formed record of a type not known here.
UNKNOWN_TYPE = "unknown_type"

#: How many distinct unknown type names are counted one by one; the rest share ``OTHER_TYPES``.
MAX_UNKNOWN_NAMES = 1000
OTHER_TYPES = "(other types)"

#: How many ``file:line`` examples are kept per reason.
MAX_EXAMPLES = 3


@dataclass
class FileStats:
    """Figures for one file of a source."""

    path: str
    size: int
    records: int = 0
    damaged: int = 0
    unknown: int = 0
    """Records of unknown types (not damage, not counted in ``records``)."""
    first: datetime | None = None
    last: datetime | None = None
    skipped_after_end: bool = False
    node: str | None = None
    """``site/node`` of a fleet recording's file (its records' ``site`` and ``node`` keys)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (``bussdcc events info --json``)."""
        return {
            "path": self.path,
            "node": self.node,
            "size": self.size,
            "records": self.records,
            "damaged": self.damaged,
            "unknown": self.unknown,
            "first": _time(self.first),
            "last": _time(self.last),
            "skipped_after_end": self.skipped_after_end,
        }


@dataclass
class SourceStats:
    """Counts of one pass over a source; reset each time the source is iterated."""

    files: list[FileStats] = field(default_factory=list)
    shadowed: list[str] = field(default_factory=list)
    records: int = 0
    """Well-formed records read: those yielded plus those the filters left out (whose data
    is not decoded, so a record filtered out is never counted as damaged)."""
    yielded: int = 0
    """Events that passed the time window and type patterns."""
    outside_window: int = 0
    filtered_type: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    unknown_types: Counter[str] = field(default_factory=Counter)
    unknown_severities: Counter[str] = field(default_factory=Counter)
    """Records of unknown types by the severity their index holds (``warning``...): a fleet
    recording's index knows what the devices' classes said (``events info`` from indexes)."""
    import_errors: dict[str, str] = field(default_factory=dict)
    """Modules ``--import`` allowed whose import failed (tried once), with the error."""
    blank_lines: int = 0
    """Blank lines (whitespace only): skipped, not damage."""
    indexes: Counter[str] = field(default_factory=Counter)
    """Files by the state of their index: ``ok`` (used), ``missing``, ``stale``, ``damaged``."""
    index_max_line: int = 0
    """Of the ``stale`` indexes, those only built under another ``replay.max_line`` (``events
    info``): their counts would not hold for this reader's limit, so their files were read."""
    index_seeks: int = 0
    """Files read from an index checkpoint instead of their start (``start`` given)."""
    index_skipped_files: int = 0
    """Files not opened at all: their index says every record lies outside the window."""
    notes: list[str] = field(default_factory=list)
    """What the pass did that a user should know (e.g. the open-file limit raised), one line each."""
    first: datetime | None = None
    """The earliest time among the records that passed the filters, those of unknown types
    included (set as each file is finished)."""
    last: datetime | None = None
    """The latest time among them."""

    @property
    def damaged(self) -> int:
        """Lines (or files) skipped because they could not be read or decoded.

        Records of unknown types are not damage (``unknown``): they are well-formed, this
        process just has no class for them.
        """
        return sum(self.skipped.values()) - self.skipped[UNKNOWN_TYPE]

    @property
    def unknown(self) -> int:
        """Well-formed records skipped because their type is not known here."""
        return self.skipped[UNKNOWN_TYPE]

    def skip(self, reason: str, where: str, detail: str) -> None:
        """Count one damaged line (or file) and keep it as an example if it is among the first."""
        self.skipped[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(f"{where}: {_shorten(detail)}")

    def count_unknown(self, name: str, n: int = 1) -> None:
        """Count ``n`` records of the unknown type ``name`` (a hostile file may name millions)."""
        counter = self.unknown_types
        if name in counter or len(counter) < MAX_UNKNOWN_NAMES:
            counter[name] += n
        else:
            counter[OTHER_TYPES] += n

    def describe_skipped(self) -> list[str]:
        """One line per damage reason: count and the first example (unknown types excluded)."""
        lines = []
        for reason, count in self.skipped.most_common():
            if reason == UNKNOWN_TYPE:
                continue
            example = self.examples.get(reason, [""])[0]
            lines.append(f"{reason}: {count} (e.g. {example})" if example else f"{reason}: {count}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "files": [f.as_dict() for f in self.files],
            "shadowed": list(self.shadowed),
            "records": self.records,
            "yielded": self.yielded,
            "outside_window": self.outside_window,
            "filtered_type": self.filtered_type,
            "damaged": self.damaged,
            "unknown": self.unknown,
            "skipped": dict(self.skipped.most_common()),
            "examples": {k: list(v) for k, v in self.examples.items()},
            "unknown_types": dict(self.unknown_types.most_common()),
            "blank_lines": self.blank_lines,
            "indexes": dict(self.indexes),
            "index_seeks": self.index_seeks,
            "index_skipped_files": self.index_skipped_files,
            "import_errors": dict(self.import_errors),
            "notes": list(self.notes),
            "first": _time(self.first),
            "last": _time(self.last),
        }


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def _shorten(text: str, limit: int = 200) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."
