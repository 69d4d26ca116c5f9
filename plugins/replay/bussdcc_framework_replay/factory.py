"""The JSONL ``SourceFactory`` the plugin registers through ``register_sources``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime

from bussdcc_framework.codec import Codec, TypeRegistry

from .files import LOG_SUFFIXES
from .source import JsonlSource


class JsonlSourceFactory:
    """Opens directories and ``.jsonl``/``.jsonl.gz`` files (or any file starting with ``{``).

    ``strict`` and ``registry``/``codec`` are passed to every source it opens;
    ``with_options`` returns a configured copy (``bussdcc replay --strict --import``).
    """

    name = "jsonl"

    def __init__(
        self,
        *,
        strict: bool = False,
        registry: TypeRegistry | None = None,
        codec: Codec | None = None,
    ) -> None:
        self.strict = strict
        self.registry = registry
        self.codec = codec

    def with_options(
        self,
        *,
        strict: bool = False,
        registry: TypeRegistry | None = None,
        codec: Codec | None = None,
    ) -> JsonlSourceFactory:
        """A factory like this one with other options."""
        return JsonlSourceFactory(strict=strict, registry=registry, codec=codec)

    def can_open(self, path: str) -> bool:
        """Directories, files with a JSONL name, and files whose first byte is ``{`` or gzip."""
        if os.path.isdir(path):
            return True
        if not os.path.isfile(path):
            return False
        if path.endswith(LOG_SUFFIXES):
            return True
        try:
            with open(path, "rb") as f:
                head = f.read(2)
        except OSError:
            return False
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
        )
