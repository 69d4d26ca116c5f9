"""The JSONL ``SourceFactory`` the plugin registers through ``register_sources``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bussdcc_framework.codec import Codec, TypeRegistry

from .config import DEFAULT_MAX_LINE
from .files import LOG_SUFFIXES
from .logfile import open_regular
from .source import JsonlSource


class JsonlSourceFactory:
    """Opens directories and ``.jsonl``/``.jsonl.gz`` files (or any file starting with ``{``).

    ``strict``, ``registry``/``codec`` and ``max_line`` (``replay.max_line``) are passed to
    every source it opens; ``with_options`` returns a configured copy (``bussdcc replay
    --strict --import``).
    """

    name = "jsonl"

    def __init__(
        self,
        *,
        strict: bool = False,
        registry: TypeRegistry | None = None,
        codec: Codec | None = None,
        max_line: int = DEFAULT_MAX_LINE,
    ) -> None:
        self.strict = strict
        self.registry = registry
        self.codec = codec
        self.max_line = max_line

    def with_options(
        self,
        *,
        strict: bool = False,
        registry: TypeRegistry | None = None,
        codec: Codec | None = None,
    ) -> JsonlSourceFactory:
        """A factory like this one with other options."""
        return JsonlSourceFactory(strict=strict, registry=registry, codec=codec, max_line=self.max_line)

    def can_open(self, path: str) -> bool:
        """Directories, files with a JSONL name, and files whose first byte is ``{`` or gzip."""
        if os.path.isdir(path) or (path.endswith(LOG_SUFFIXES) and os.path.lexists(path)):
            return True  # a log name that is not a regular file is rejected (and counted) by the source
        if not os.path.isfile(path):
            return False
        try:
            fd = open_regular(Path(path))  # never blocks on a FIFO swapped in since the check
        except OSError:
            return False
        try:
            head = os.pread(fd, 2, 0)
        finally:
            os.close(fd)
        return head[:1] == b"{" or head == b"\x1f\x8b"

    def open(
        self,
        paths: Sequence[str],
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        types: Sequence[str] = (),
    ) -> JsonlSource:
        """A ``JsonlSource`` over ``paths``, merged by time."""
        return JsonlSource(
            list(paths),
            start=start,
            end=end,
            types=types,
            strict=self.strict,
            registry=self.registry,
            codec=self.codec,
            max_line=self.max_line,
        )
