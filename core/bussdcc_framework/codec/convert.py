"""Generic converters: JSON values to declared Python types, where msgspec cannot alone.

msgspec decodes most field types in C. For the few it refuses (some unions, a union of two
dataclasses, a path or an int...), ``_converter`` builds a converter from the type's parts once
per field type, and ``shadow_struct`` builds the typed msgspec Struct a dataclass is decoded
through. Nothing here knows about records or events; ``codec.py`` builds the record codec on it.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import typing
from collections.abc import Callable
from pathlib import PurePath
from types import NoneType, UnionType
from typing import Any, Final

import msgspec

from .errors import DecodeError


class Unencodable(TypeError):
    """A value no encoding exists for; unlike msgspec's own TypeErrors, no slow path helps."""


def enc_hook(obj: Any) -> Any:
    if isinstance(obj, PurePath):
        return str(obj)
    raise Unencodable(f"values of type {type(obj).__qualname__} cannot be written as JSON")


def dec_hook(tp: type, obj: Any) -> Any:
    if tp is object:
        return obj  # ``object`` fields hold any JSON value, like ``Any``
    if isinstance(tp, type) and issubclass(tp, PurePath):
        if isinstance(obj, str):
            return tp(obj)
        raise ValueError(f"Expected `str` (a path), got `{type(obj).__name__}`")
    raise ValueError(f"cannot build {getattr(tp, '__qualname__', tp)!r} from JSON")


class _Unset:
    """The default of a loose field in a shadow struct: "absent, let the dataclass decide"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final = _Unset()

#: Converts one JSON value (as msgspec builds it) to a field's declared type; ``where`` is
#: the field's path for errors. Raises ``DecodeError``.
Converter = Callable[[Any, str], Any]


def _decodable(tp: Any) -> bool:
    """True when msgspec can decode ``tp`` itself (it refuses some unions, for instance)."""
    try:
        msgspec.json.Decoder(tp, dec_hook=dec_hook)
    except TypeError:
        return False
    return True


def _identity(value: Any, where: str) -> Any:
    return value


def _msgspec_converter(tp: Any) -> Converter:
    def convert(value: Any, where: str) -> Any:
        try:
            return msgspec.convert(value, tp, dec_hook=dec_hook, str_keys=True)
        except msgspec.ValidationError as exc:
            raise DecodeError("invalid_data", validation_detail(exc, where)) from None

    return convert


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_label(tp: Any) -> str:
    if tp is NoneType:
        return "None"
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


_STR_LIKE_LAST: Final = {str: 1, Any: 2, object: 2}


def _union_converter(args: tuple[Any, ...]) -> Converter:
    """Try the members of a union msgspec cannot decode, in a fixed order; first fit wins.

    ``None`` is taken as ``None`` first; then every other type in declared order, except that
    ``str`` comes after them and ``Any``/``object`` last (a string that parses as a date, a UUID,
    a path... is that type). Among dataclass members, those whose fields cover all the keys
    of an object are tried first, so a member with more fields is not shadowed by one with
    fewer (msgspec ignores unknown keys).
    """
    optional = NoneType in args
    members = sorted((a for a in args if a is not NoneType), key=lambda a: _STR_LIKE_LAST.get(a, 0))
    converters = [_converter(m) for m in members]
    fields: list[frozenset[str] | None] = [
        frozenset(f.name for f in dataclasses.fields(m))
        if isinstance(m, type) and dataclasses.is_dataclass(m)
        else None
        for m in members
    ]
    label = " | ".join(_type_label(a) for a in args)
    by_keys = any(f is not None for f in fields)

    def convert(value: Any, where: str) -> Any:
        if value is None and optional:
            return None
        order: collections.abc.Iterable[int] = range(len(members))
        if by_keys and isinstance(value, dict):
            keys = value.keys()
            covering = [i for i, f in enumerate(fields) if f is not None and keys <= f]
            order = covering + [i for i in range(len(members)) if i not in covering]
        for i in order:
            try:
                return converters[i](value, where)
            except DecodeError:
                continue
        raise DecodeError("invalid_data", f"{where}: expected {label}, got {_json_kind(value)}")

    return convert


def _sequence_converter(origin: Any, args: tuple[Any, ...]) -> Converter:
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        items = [_converter(a) for a in args]

        def fixed(value: Any, where: str) -> Any:
            if not isinstance(value, list) or len(value) != len(items):
                raise DecodeError("invalid_data", f"{where}: expected an array of length {len(items)}")
            return tuple(c(v, f"{where}[{i}]") for i, (c, v) in enumerate(zip(items, value, strict=True)))

        return fixed
    item = _converter(args[0] if args else Any)
    build: Callable[[Any], Any]
    if origin is tuple:
        build = tuple
    elif origin in (set, collections.abc.Set, collections.abc.MutableSet):
        build = set
    elif origin is frozenset:
        build = frozenset
    else:
        build = list

    def convert(value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise DecodeError("invalid_data", f"{where}: expected array, got {_json_kind(value)}")
        return build(item(v, f"{where}[{i}]") for i, v in enumerate(value))

    return convert


def _dict_converter(args: tuple[Any, ...]) -> Converter:
    key_type, value_type = args if len(args) == 2 else (str, Any)
    keys = _msgspec_converter(dict[key_type, Any])  # type: ignore[valid-type]
    values = _converter(value_type)

    def convert(value: Any, where: str) -> Any:
        return {k: values(v, f"{where}.{k}") for k, v in keys(value, where).items()}

    return convert


def _converter(tp: Any) -> Converter:
    """A converter for ``tp``: msgspec's when it can decode the type, else built from parts.

    Built once per field type when a plan is made; raises ``TypeError`` for a type neither
    msgspec nor this function knows how to decode.
    """
    if tp is Any or tp is object:
        return _identity
    if _decodable(tp):
        return _msgspec_converter(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _converter(args[0])
    if origin in (typing.Union, UnionType):
        return _union_converter(args)
    if origin in (
        list,
        tuple,
        set,
        frozenset,
        collections.abc.Sequence,
        collections.abc.MutableSequence,
        collections.abc.Set,
        collections.abc.MutableSet,
    ):
        return _sequence_converter(origin, args)
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        return _dict_converter(args)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_converter(tp)
    raise TypeError(f"cannot decode fields of type {_type_label(tp)}")


def loose_fields(cls: type, skip: tuple[str, ...] = ()) -> dict[str, Converter]:
    """Converters for the fields of ``cls`` whose declared types msgspec cannot decode."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {
        f.name: _converter(hints[f.name])
        for f in dataclasses.fields(cls)
        if f.init and f.name not in skip and not _decodable(hints[f.name])
    }


def _dataclass_converter(cls: type) -> Converter:
    """A nested dataclass with a field msgspec cannot decode: typed shadow + loose fields."""
    loose = loose_fields(cls)
    shadow = shadow_struct(cls, None, (), loose)
    typed = _msgspec_converter(shadow)

    def convert(value: Any, where: str) -> Any:
        decoded = typed(value, where)
        kwargs = {}
        for name in decoded.__struct_fields__:
            item = getattr(decoded, name)
            if name in loose:
                if item is UNSET:
                    continue
                item = loose[name](item, f"{where}.{name}")
            kwargs[name] = item
        try:
            return cls(**kwargs)
        except Exception as exc:
            raise DecodeError("invalid_data", f"{where}: {cls.__qualname__}: {exc}") from None

    return convert


def shadow_struct(
    cls: type,
    nested: type | None,
    event_fields: tuple[str, ...],
    loose: collections.abc.Container[str] = (),
) -> type[msgspec.Struct]:
    """A msgspec Struct with ``cls``'s fields, event fields retyped as nested records.

    Fields named in ``loose`` are typed ``Any`` (their converters run afterwards) and default
    to ``UNSET``, so a missing one is left to the dataclass's own default.
    """
    hints = typing.get_type_hints(cls, include_extras=True)
    spec: list[tuple[str, Any, Any]] = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.name in loose:
            required = field.default is dataclasses.MISSING and (field.default_factory is dataclasses.MISSING)
            spec.append((field.name, Any, msgspec.NODEFAULT if required else UNSET))
            continue
        tp: Any = hints[field.name]
        if field.name in event_fields:
            assert nested is not None
            tp = nested | None
        if field.default is not dataclasses.MISSING:
            spec.append((field.name, tp, field.default))
        elif field.default_factory is not dataclasses.MISSING:
            spec.append((field.name, tp, msgspec.field(default_factory=field.default_factory)))
        else:
            spec.append((field.name, tp, msgspec.NODEFAULT))
    # Required fields must precede optional ones in a Struct: keyword-only lifts that rule.
    return msgspec.defstruct(f"{cls.__name__}Record", spec, kw_only=True)


def validation_detail(exc: msgspec.ValidationError, prefix: str) -> str:
    text = str(exc)
    message, sep, path = text.rpartition(" - at `")
    if not sep:
        return f"{prefix}: {text}"
    return f"{prefix}{path.rstrip('`')[1:]}: {message}"


__all__ = [
    "UNSET",
    "Converter",
    "Unencodable",
    "dec_hook",
    "enc_hook",
    "loose_fields",
    "shadow_struct",
    "validation_detail",
]
