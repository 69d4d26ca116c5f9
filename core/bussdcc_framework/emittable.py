"""Which messages may be sent into a running system from outside, and how they are checked.

One rule for every door (the web plugin's ``/api/emit`` and Send page, the mqtt plugin's
commands): only the application's message types are emittable (those the application declares
and those plugins register with ``register_message_types``), never the kernel's lifecycle
messages nor the framework's and its plugins' own status and error reports. ``describe`` tells
a form which input to draw for each field (text, number, checkbox, a choice, or JSON for
anything structured); ``validate`` checks every field on its own first so that all errors come
back at once, each keyed by its field, then builds the message through the core codec (the
same rules replay uses).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, TypedDict

import msgspec
from bussdcc.message import Message

from .codec import Codec, DecodeError, TypeRegistry, type_name


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


#: Modules whose messages report on the system itself (the kernel's lifecycle, the framework's
#: and its plugins' status and errors): never emittable from outside.
INTERNAL_MODULES = ("bussdcc", "bussdcc_framework")


def is_internal(cls: type) -> bool:
    """Whether ``cls`` is a message of the kernel, the framework or one of its plugins."""
    root = cls.__module__.split(".")[0]
    return root in INTERNAL_MODULES or root.startswith("bussdcc_framework_")


def emittable_types(registry: TypeRegistry, own: Iterable[type[Message]] = ()) -> dict[str, type[Message]]:
    """``module:QualName`` -> class of every emittable type, the application's own first.

    ``own`` are the types the application gave explicitly (offered first, in its order); the
    rest are the registry's registered classes (plugins' ``register_message_types``), sorted.
    """
    first = list(own)
    rest = sorted(
        (c for c in registry.registered() if c not in first),
        key=lambda c: (c.__module__, c.__qualname__),
    )
    return {type_name(cls): cls for cls in [*first, *rest] if not is_internal(cls)}


class EmitError(ValueError):
    """A message cannot be emitted: ``code`` (``missing_type``, ``not_emittable``,
    ``unknown_type``, ``invalid_data``) and a one-line ``detail``; ``fields`` per field."""

    def __init__(self, code: str, detail: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.fields = fields or {}


def resolve_emittable(name: object, known: dict[str, type[Message]], registry: TypeRegistry) -> type[Message]:
    """The emittable class ``name`` means (``module:QualName``, or a qualified name that is
    unique among the emittable types); ``EmitError`` saying why not."""
    if not isinstance(name, str) or not name:
        raise EmitError("missing_type", 'a "type" is needed: the message type, e.g. "app:Ping"')
    cls = known.get(name)
    if cls is None:
        short = [t for t, c in known.items() if c.__qualname__ == name]
        if len(short) == 1:
            cls = known[short[0]]
    if cls is not None:
        return cls
    if any(is_internal(c) and name in (type_name(c), c.__qualname__) for c in registry.registered()):
        raise EmitError(
            "not_emittable",
            f"{name!r} is reported by the runtime or the framework itself and cannot be sent",
        )
    raise EmitError("unknown_type", f"{name!r} is not a registered message type of this application")


def build_message(codec: Codec, cls: type[Message], data: Any) -> Message:
    """``validate`` as one call: the message, or ``EmitError("invalid_data")`` naming the field."""
    message, field_errors = validate(codec, cls, data)
    if message is None:
        first_field, first_error = next(iter(field_errors.items()))
        where = "" if first_field == "_" else f"{first_field}: "
        raise EmitError("invalid_data", f"{where}{first_error}", field_errors)
    return message
