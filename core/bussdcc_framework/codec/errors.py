"""Errors of the codec: one ``DecodeError`` with a machine-readable reason, one ``EncodeError``."""

from __future__ import annotations

from typing import Final, Literal

DecodeReason = Literal["bad_json", "missing_key", "bad_type_name", "unknown_type", "bad_time", "invalid_data"]

#: Every reason ``DecodeError.reason`` can take; readers count skipped lines by these.
DECODE_REASONS: Final[tuple[DecodeReason, ...]] = (
    "bad_json",
    "missing_key",
    "bad_type_name",
    "unknown_type",
    "bad_time",
    "invalid_data",
)


class DecodeError(ValueError):
    """A record or message could not be decoded.

    ``reason`` is one of ``DECODE_REASONS`` so that readers can skip damaged lines and count
    them by cause; ``detail`` says what exactly was wrong (a field path, a type name).
    """

    def __init__(self, reason: DecodeReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: DecodeReason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type[DecodeError], tuple[DecodeReason, str]]:
        return (type(self), (self.reason, self.detail))


class EncodeError(TypeError):
    """A message holds a value the codec cannot write as JSON (the message names the class)."""
