"""The "send a message" form: fields described from a message dataclass, and validated per field.

``describe`` tells the page which input to draw for each field (text, number, checkbox, a
choice, or JSON for anything structured). ``validate`` checks every field on its own first so
that all errors come back at once, each keyed by its field, then builds the message through
the core codec (the same rules replay uses).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import datetime
from typing import Any, Literal, TypedDict

import msgspec
from bussdcc.message import Message

from bussdcc_framework.codec import Codec, DecodeError, type_name


class FieldSpec(TypedDict):
    name: str
    kind: Literal["text", "integer", "number", "boolean", "choice", "datetime", "json"]
    type: str
    required: bool
    nullable: bool
    default: Any
    choices: list[Any]


class TypeSpec(TypedDict):
    type: str
    name: str
    module: str
    doc: str
    severity: str
    fields: list[FieldSpec]


def _label(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)) and len(args) == 1:
            return args[0], True
    return tp, False


def _kind(tp: Any) -> tuple[str, list[Any]]:
    if tp is bool:
        return "boolean", []
    if tp is int:
        return "integer", []
    if tp is float:
        return "number", []
    if tp is str:
        return "text", []
    if tp is datetime:
        return "datetime", []
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "choice", [m.value for m in tp]
    if typing.get_origin(tp) is Literal:
        return "choice", list(typing.get_args(tp))
    return "json", []


def _default(field: dataclasses.Field[Any]) -> tuple[bool, Any]:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return False, None
    try:
        return True, msgspec.to_builtins(value, str_keys=True)
    except Exception:
        return True, None


def describe(cls: type[Message]) -> TypeSpec:
    """What the form for ``cls`` looks like."""
    hints = typing.get_type_hints(cls)
    fields: list[FieldSpec] = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        tp, nullable = _unwrap_optional(hints.get(field.name, Any))
        kind, choices = _kind(tp)
        has_default, default = _default(field)
        fields.append(
            FieldSpec(
                name=field.name,
                kind=kind,  # type: ignore[typeddict-item]
                type=_label(hints.get(field.name, Any)),
                required=not has_default,
                nullable=nullable,
                default=default,
                choices=choices,
            )
        )
    doc = (cls.__doc__ or "").strip()
    if doc.startswith(f"{cls.__name__}("):  # dataclass' generated signature is no help
        doc = ""
    severity = cls.severity
    return TypeSpec(
        type=type_name(cls),
        name=cls.__qualname__,
        module=cls.__module__,
        doc=doc.splitlines()[0] if doc else "",
        severity=getattr(severity, "name", str(severity)),
        fields=fields,
    )


def _short(exc: Exception) -> str:
    text = str(exc)
    message, sep, _ = text.rpartition(" - at `")
    return (message if sep else text).replace("`", "")


def validate(codec: Codec, cls: type[Message], data: Any) -> tuple[Message | None, dict[str, str]]:
    """Build the message, or return ``{field: error}`` (``"_"`` for errors of the whole form)."""
    if not isinstance(data, dict):
        return None, {"_": f"data must be a JSON object, got {type(data).__name__}"}
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    errors: dict[str, str] = {}
    for name in data:
        if name not in known:
            errors[str(name)] = f"{cls.__qualname__} has no field {name!r}"
    for name, field in known.items():
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                errors[name] = "required"
            continue
        try:
            msgspec.convert(data[name], hints.get(name, Any), str_keys=True)
        except msgspec.ValidationError as exc:
            errors[name] = _short(exc)
        except (TypeError, NotImplementedError):
            pass  # a type msgspec cannot check on its own: the codec decides below
    if errors:
        return None, errors
    try:
        return codec.decode_message(cls, data), {}
    except DecodeError as exc:
        field_name = _field_of(exc.detail, known)
        message = exc.detail.split(": ", 1)[-1] if field_name != "_" else exc.detail
        return None, {field_name: message}


def _field_of(detail: str, known: dict[str, Any]) -> str:
    path = detail.split(":", 1)[0]
    if path.startswith("data."):
        name = path[5:].split(".", 1)[0].split("[", 1)[0]
        if name in known:
            return name
    return "_"
