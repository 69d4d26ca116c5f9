"""What the jsonl tests share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bussdcc.message import Message
from bussdcc_framework_jsonl.writer import SegmentWriter

#: A ``SegmentWriter`` factory: ``make(root, classes, reports=None, **options)``.
MakeWriter = Callable[..., SegmentWriter]


@pytest.fixture
def direct_writer() -> MakeWriter:
    """A ``SegmentWriter`` without a sink or a thread: each ``write`` is exactly the batch given.

    ``classes`` numbers the items' classes (an item is ``(time, data, class number)``);
    ``reports`` collects what the writer reports; ``options`` override the plain defaults
    (one segment per 10 minutes, no size limit, flush per line, no compression, no retention).
    """

    def make(
        root: Path, classes: list[type], reports: list[Message] | None = None, **options: Any
    ) -> SegmentWriter:
        settings: dict[str, Any] = {
            "interval": 600.0,
            "max_size": None,
            "flush": "line",
            "compress": False,
            "retention_age": None,
            "retention_size": None,
            **options,
        }
        said = reports if reports is not None else []
        return SegmentWriter(
            root, **settings, report=lambda message, line: said.append(message), classes=classes
        )

    return make
