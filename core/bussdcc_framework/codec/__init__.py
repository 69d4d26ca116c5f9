"""The record codec: messages <-> ``{"time", "type", "data"}`` JSON records (see docs/record-format.md).

One ``Codec`` per ``TypeRegistry``; the registry decides which ``type`` names may be rebuilt, and
never imports a module named in data unless ``allow_import`` allowed it.
"""

from .codec import Codec, RecordHead
from .errors import DECODE_REASONS, DecodeError, DecodeReason, EncodeError
from .names import split_type_name, type_name
from .registry import (
    TypeRegistry,
    default_registry,
    framework_message_types,
    is_message_class,
    kernel_message_types,
)
from .timefmt import format_time, format_time_json

__all__ = [
    "DECODE_REASONS",
    "Codec",
    "DecodeError",
    "DecodeReason",
    "EncodeError",
    "RecordHead",
    "TypeRegistry",
    "default_registry",
    "format_time",
    "format_time_json",
    "framework_message_types",
    "is_message_class",
    "kernel_message_types",
    "split_type_name",
    "type_name",
]
