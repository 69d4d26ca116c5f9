"""The codec: messages to JSON records and back, with msgspec doing the work in C.

Each message class gets a ``_Plan`` the first time it is seen: its record type name, an
encoder for its data and a typed msgspec decoder. Nothing is introspected per record.

Nested events (``ProcessError.evt``, ``ServiceError.evt``, ``EventSubscriberError.event``,
``SinkHandlerError.evt``, or any field typed ``Event[...]``/``Optional[Event[...]]``) are written
as nested records ``{"time", "type", "data"}`` so that they keep their type and replay.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import threading
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePath
from types import NoneType, UnionType
from typing import Any, Final

import msgspec
from bussdcc.event import Event
from bussdcc.message import Message

from .errors import DecodeError, EncodeError
from .names import split_type_name, type_name
from .registry import TypeRegistry, is_message_class
from .timefmt import format_time_json

_UTC: Final = UTC


class _Unencodable(TypeError):
    """A value no encoding exists for; unlike msgspec's own TypeErrors, no slow path helps."""


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, PurePath):
        return str(obj)
    raise _Unencodable(f"values of type {type(obj).__qualname__} cannot be written as JSON")


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is object:
        return obj  # ``object`` fields hold any JSON value, like ``Any``
    if isinstance(tp, type) and issubclass(tp, PurePath):
        if isinstance(obj, str):
            return tp(obj)
        raise ValueError(f"Expected `str` (a path), got `{type(obj).__name__}`")
    raise ValueError(f"cannot build {getattr(tp, '__qualname__', tp)!r} from JSON")


class RecordHead(msgspec.Struct):
    """The three keys of a record; ``data`` is kept raw until its type is known.

    ``Codec.decode_head`` returns it so that readers can filter on ``time`` and ``type`` (the
    raw string) before paying for ``Codec.decode_event`` (or failing on an unknown type).
    """

    time: datetime
    type: str
    data: msgspec.Raw


class _NestedRaw(msgspec.Struct):
    time: datetime
    type: str
    data: msgspec.Raw


class _NestedBuiltins(msgspec.Struct):
    time: datetime
    type: str
    data: dict[str, Any]


def _event_fields(cls: type) -> tuple[str, ...]:
    """Names of the fields typed ``Event[...]`` or ``Optional[Event[...]]``."""
    hints = typing.get_type_hints(cls)
    names = []
    for field in dataclasses.fields(cls):
        hint = hints.get(field.name)
        options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, UnionType) else (hint,)
        if any(opt is Event or typing.get_origin(opt) is Event for opt in options if opt is not NoneType):
            names.append(field.name)
    return tuple(names)


class _Unset:
    """The default of a loose field in a shadow struct: "absent, let the dataclass decide"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()

#: Converts one JSON value (as msgspec builds it) to a field's declared type; ``where`` is
#: the field's path for errors. Raises ``DecodeError``.
_Converter = Callable[[Any, str], Any]


def _decodable(tp: Any) -> bool:
    """True when msgspec can decode ``tp`` itself (it refuses some unions, for instance)."""
    try:
        msgspec.json.Decoder(tp, dec_hook=_dec_hook)
    except TypeError:
        return False
    return True


def _identity(value: Any, where: str) -> Any:
    return value


def _msgspec_converter(tp: Any) -> _Converter:
    def convert(value: Any, where: str) -> Any:
        try:
            return msgspec.convert(value, tp, dec_hook=_dec_hook, str_keys=True)
        except msgspec.ValidationError as exc:
            raise DecodeError("invalid_data", _validation_detail(exc, where)) from None

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


def _union_converter(args: tuple[Any, ...]) -> _Converter:
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


def _sequence_converter(origin: Any, args: tuple[Any, ...]) -> _Converter:
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


def _dict_converter(args: tuple[Any, ...]) -> _Converter:
    key_type, value_type = args if len(args) == 2 else (str, Any)
    keys = _msgspec_converter(dict[key_type, Any])  # type: ignore[valid-type]
    values = _converter(value_type)

    def convert(value: Any, where: str) -> Any:
        return {k: values(v, f"{where}.{k}") for k, v in keys(value, where).items()}

    return convert


def _converter(tp: Any) -> _Converter:
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


def _loose_fields(cls: type, skip: tuple[str, ...] = ()) -> dict[str, _Converter]:
    """Converters for the fields of ``cls`` whose declared types msgspec cannot decode."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {
        f.name: _converter(hints[f.name])
        for f in dataclasses.fields(cls)
        if f.init and f.name not in skip and not _decodable(hints[f.name])
    }


def _dataclass_converter(cls: type) -> _Converter:
    """A nested dataclass with a field msgspec cannot decode: typed shadow + loose fields."""
    loose = _loose_fields(cls)
    shadow = _shadow_struct(cls, None, (), loose)
    typed = _msgspec_converter(shadow)

    def convert(value: Any, where: str) -> Any:
        decoded = typed(value, where)
        kwargs = {}
        for name in decoded.__struct_fields__:
            item = getattr(decoded, name)
            if name in loose:
                if item is _UNSET:
                    continue
                item = loose[name](item, f"{where}.{name}")
            kwargs[name] = item
        try:
            return cls(**kwargs)
        except Exception as exc:
            raise DecodeError("invalid_data", f"{where}: {cls.__qualname__}: {exc}") from None

    return convert


def _shadow_struct(
    cls: type,
    nested: type | None,
    event_fields: tuple[str, ...],
    loose: collections.abc.Container[str] = (),
) -> type[msgspec.Struct]:
    """A msgspec Struct with ``cls``'s fields, event fields retyped as nested records.

    Fields named in ``loose`` are typed ``Any`` (their converters run afterwards) and default
    to ``_UNSET``, so a missing one is left to the dataclass's own default.
    """
    hints = typing.get_type_hints(cls, include_extras=True)
    spec: list[tuple[str, Any, Any]] = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.name in loose:
            required = field.default is dataclasses.MISSING and (field.default_factory is dataclasses.MISSING)
            spec.append((field.name, Any, msgspec.NODEFAULT if required else _UNSET))
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


def _validation_detail(exc: msgspec.ValidationError, prefix: str) -> str:
    text = str(exc)
    message, sep, path = text.rpartition(" - at `")
    if not sep:
        return f"{prefix}: {text}"
    return f"{prefix}{path.rstrip('`')[1:]}: {message}"


class _Plan:
    """Everything the codec needs for one message class, computed once."""

    __slots__ = (
        "builtins_shadow",
        "builtins_target",
        "cls",
        "encode_shadow",
        "event_fields",
        "fallback",
        "fast",
        "field_names",
        "loose",
        "name",
        "prefix",
        "prefix_utc",
        "raw_decoder",
        "raw_shadow",
    )

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = type_name(cls)
        self.prefix = b'","type":"' + msgspec.json.encode(self.name)[1:-1] + b'","data":'
        self.prefix_utc = b"+00:00" + self.prefix
        self.event_fields = _event_fields(cls)
        self.field_names = tuple(f.name for f in dataclasses.fields(cls))
        self.encode_shadow: type[msgspec.Struct] | None = None
        self.raw_decoder: msgspec.json.Decoder[Any] | None = None
        self.raw_shadow: type[msgspec.Struct] | None = None
        self.builtins_shadow: type[msgspec.Struct] | None = None
        self.builtins_target: Any = None
        self.fallback = False  # encode through to_builtins (non-str dict keys)
        # Converters of the fields whose types msgspec cannot decode (some unions), built
        # with the decoders: such fields are decoded as JSON values and converted after.
        self.loose: dict[str, _Converter] = {}
        if self.event_fields:
            self.encode_shadow = self.out_struct()
        self.fast = not self.event_fields  # cleared when the class needs the slow path

    def out_struct(self) -> type[msgspec.Struct]:
        """A Struct with the class's fields in order, for encoding pre-converted values."""
        return msgspec.defstruct(f"{self.cls.__name__}Out", [(name, Any) for name in self.field_names])


class Codec:
    """Encodes events as JSON records and decodes records into events, for one registry.

    Thread-safe and meant to be shared: plans are built once per class under a lock and then
    only read.
    """

    def __init__(self, registry: TypeRegistry | None = None) -> None:
        if registry is None:
            from .registry import default_registry

            registry = default_registry()
        self.registry = registry
        self._plans: dict[type, _Plan] = {}
        self._lock = threading.Lock()
        self._encoder = msgspec.json.Encoder(enc_hook=_enc_hook, order="deterministic")
        self._encode: Final[Callable[[Any], bytes]] = self._encoder.encode
        self._head = msgspec.json.Decoder(RecordHead)

    # -- plans ---------------------------------------------------------------------------

    def _plan(self, cls: type) -> _Plan:
        plan = self._plans.get(cls)
        if plan is not None:
            return plan
        if not is_message_class(cls):
            raise EncodeError(f"{cls!r} is not a Message dataclass and cannot be recorded")
        with self._lock:
            plan = self._plans.get(cls)
            if plan is None:
                plan = _Plan(cls)
                self._plans[cls] = plan
        return plan

    # -- encoding ------------------------------------------------------------------------

    def encode_record(self, evt: Event[Message]) -> bytes:
        """One record as JSON bytes, without the trailing newline.

        This is the recording hot path, hence the inlined fast case: a plain message class
        and a ``timezone.utc`` time (the kernel clock's) cost two msgspec calls and a join.
        """
        payload = evt.payload
        plan = self._plans.get(type(payload))
        t = evt.time
        if plan is not None and plan.fast and t.tzinfo is _UTC:
            try:
                data = self._encode(payload)
            except TypeError:
                pass  # the slow path below knows what to do (and what to report)
            else:
                return b"".join((b'{"time":', self._encode(t)[:-2], plan.prefix_utc, data, b"}"))
        if plan is None:
            plan = self._plan(type(payload))
        return b"".join(
            (b'{"time":', format_time_json(t)[:-1], plan.prefix, self._encode_data(plan, payload), b"}")
        )

    def encode_message(self, msg: Message) -> bytes:
        """The JSON of one message's data (the record's ``data`` value)."""
        return self._encode_data(self._plan(type(msg)), msg)

    def to_builtins(self, msg: Message) -> dict[str, Any]:
        """The JSON-ready data of one message, exactly as a record would hold it."""
        data = msgspec.json.decode(self.encode_message(msg))
        assert isinstance(data, dict)
        return data

    def _encode_data(self, plan: _Plan, payload: Any) -> bytes:
        if plan.encode_shadow is None and not plan.fallback:
            try:
                return self._encode(payload)
            except _Unencodable as exc:
                raise EncodeError(f"cannot encode {plan.name}: {exc}") from None
            except TypeError:
                # e.g. a dict with int or Enum keys: convert field by field (keeping the
                # declared field order, which to_builtins of the whole object would sort away).
                plan.fallback = True
                plan.fast = False
                plan.encode_shadow = plan.out_struct()
        try:
            assert plan.encode_shadow is not None
            return self._encode(self._shadow_out(plan, payload))
        except (TypeError, ValueError, msgspec.EncodeError) as exc:
            raise EncodeError(f"cannot encode {plan.name}: {exc}") from None

    def _shadow_out(self, plan: _Plan, payload: Any) -> Any:
        values = []
        for name in plan.field_names:
            value = getattr(payload, name)
            if name in plan.event_fields and isinstance(value, Event):
                value = msgspec.Raw(self.encode_record(value))
            elif plan.fallback:
                value = self._builtins(value)
            values.append(value)
        assert plan.encode_shadow is not None
        return plan.encode_shadow(*values)

    def _builtins(self, value: Any) -> Any:
        # Non-string dict keys (int, Enum) need str_keys. A set whose elements cannot be
        # compared (mixed types) makes msgspec's sort fail: write it sorted by each element's
        # JSON bytes instead, a total order that no hash seed changes.
        try:
            return msgspec.to_builtins(value, enc_hook=_enc_hook, str_keys=True, order="deterministic")
        except _Unencodable:
            raise
        except TypeError:
            return msgspec.Raw(self._sorted_json(value))

    def _sorted_json(self, value: Any) -> bytes:
        """``value`` as JSON, sets sorted by their elements' JSON bytes (the rare slow path)."""
        try:
            return self._encode(
                msgspec.to_builtins(value, enc_hook=_enc_hook, str_keys=True, order="deterministic")
            )
        except _Unencodable:
            raise
        except TypeError:
            pass  # something inside cannot be sorted: take it apart
        if isinstance(value, (set, frozenset)):
            return b"[" + b",".join(sorted(self._sorted_json(v) for v in value)) + b"]"
        if isinstance(value, (list, tuple)):
            return b"[" + b",".join(self._sorted_json(v) for v in value) + b"]"
        if isinstance(value, dict):
            # '{"key":null}'[1:-6] is the key as JSON text; sorted like msgspec's string keys.
            items = [
                (self._encode(msgspec.to_builtins({k: None}, enc_hook=_enc_hook, str_keys=True))[1:-6], v)
                for k, v in value.items()
            ]
            items.sort(key=lambda item: item[0])
            return b"{" + b",".join(k + b":" + self._sorted_json(v) for k, v in items) + b"}"
        names: tuple[str, ...] = ()
        if isinstance(value, msgspec.Struct):
            names = value.__struct_fields__
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = tuple(f.name for f in dataclasses.fields(value))
        else:
            raise TypeError(f"cannot encode {type(value).__qualname__} deterministically")
        return (
            b"{"
            + b",".join(self._encode(n) + b":" + self._sorted_json(getattr(value, n)) for n in names)
            + b"}"
        )

    # -- decoding ------------------------------------------------------------------------

    def resolve(self, name: object) -> type:
        """The class a record type names, or ``DecodeError`` (bad_type_name / unknown_type)."""
        if isinstance(name, str):
            cls = self.registry.resolve(name)
            if cls is not None:
                return cls
        module, _ = split_type_name(name)
        hint = self.registry.import_errors.get(str(name))
        detail = (
            f"{name}: {hint}"
            if hint
            else f"{name} is not a known message type; import the module that defines it, "
            f"register it, or allow it with --import {module}"
        )
        raise DecodeError("unknown_type", detail)

    def decode_record(self, line: bytes | str) -> Event[Message]:
        """One record (a line of a log, newline optional) as an event, or ``DecodeError``."""
        try:
            head = self._head.decode(line)
        except msgspec.ValidationError as exc:
            raise _head_error(exc) from None
        except msgspec.DecodeError as exc:
            raise DecodeError("bad_json", f"not valid JSON: {exc}") from None
        return self._event(head.time, head.type, head.data, "data")

    def decode_head(self, line: bytes | str) -> RecordHead:
        """The first step of ``decode_record``: the record's keys, ``data`` left undecoded.

        Raises ``DecodeError`` (bad_json, missing_key, bad_time, bad_type_name) like
        ``decode_record``; a time without a UTC offset is ``bad_time`` here already.
        ``decode_event(head)`` finishes the job.
        """
        try:
            head = self._head.decode(line)
        except msgspec.ValidationError as exc:
            raise _head_error(exc) from None
        except msgspec.DecodeError as exc:
            raise DecodeError("bad_json", f"not valid JSON: {exc}") from None
        if head.time.tzinfo is None:
            raise DecodeError("bad_time", "record time has no UTC offset")
        return head

    def decode_event(self, head: RecordHead) -> Event[Message]:
        """The event of a record ``decode_head`` returned (the type resolved, data decoded)."""
        return self._event(head.time, head.type, head.data, "data")

    def _event(self, time: datetime, name: str, data: msgspec.Raw, where: str) -> Event[Message]:
        if time.tzinfo is None:
            raise DecodeError("bad_time", f"{where.rpartition('.')[0] or 'record'} time has no UTC offset")
        cls = self.resolve(name)
        plan = self._plan(cls)
        return Event(time=time, payload=self._decode_raw(plan, data, where))

    def _decode_raw(self, plan: _Plan, data: msgspec.Raw, where: str) -> Any:
        decoder = plan.raw_decoder
        if decoder is None:
            decoder = self._prepare_decoding(plan)
        try:
            decoded = decoder.decode(data)
        except msgspec.ValidationError as exc:
            raise DecodeError("invalid_data", _validation_detail(exc, where)) from None
        except msgspec.DecodeError as exc:
            raise DecodeError("bad_json", str(exc)) from None
        if plan.raw_shadow is None:
            return decoded
        return self._from_shadow(plan, decoded, where, nested_raw=True)

    def _prepare_decoding(self, plan: _Plan) -> msgspec.json.Decoder[Any]:
        """Build the class's decoders (from JSON bytes and from builtins), once."""
        with self._lock:
            if plan.raw_decoder is not None:
                return plan.raw_decoder
            cls = plan.cls
            target: Any = cls
            if plan.event_fields:
                target = _shadow_struct(cls, _NestedRaw, plan.event_fields)
            try:
                decoder = msgspec.json.Decoder(target, dec_hook=_dec_hook)
            except TypeError:
                # A field type msgspec cannot decode (a union of two dataclasses, of a path
                # and an int...): decode that field as a JSON value, then convert it.
                plan.loose = _loose_fields(cls, plan.event_fields)
                target = _shadow_struct(cls, _NestedRaw, plan.event_fields, plan.loose)
                decoder = msgspec.json.Decoder(target, dec_hook=_dec_hook)
            if plan.event_fields or plan.loose:
                plan.raw_shadow = target
                plan.builtins_shadow = _shadow_struct(cls, _NestedBuiltins, plan.event_fields, plan.loose)
                plan.builtins_target = plan.builtins_shadow
            else:
                plan.builtins_target = cls
            plan.raw_decoder = decoder
            return decoder

    def _from_shadow(self, plan: _Plan, shadow: Any, where: str, *, nested_raw: bool) -> Any:
        kwargs: dict[str, Any] = {}
        loose = plan.loose
        for name in shadow.__struct_fields__:
            value = getattr(shadow, name)
            if name in loose:
                if value is _UNSET:
                    continue  # absent: the dataclass default applies
                value = loose[name](value, f"{where}.{name}")
            elif name in plan.event_fields and value is not None:
                inner = f"{where}.{name}.data"
                if nested_raw:
                    value = self._event(value.time, value.type, value.data, inner)
                else:
                    value = self._event_from_builtins(value, inner)
            kwargs[name] = value
        return self._construct(plan, kwargs, where)

    def _construct(self, plan: _Plan, kwargs: dict[str, Any], where: str) -> Any:
        try:
            return plan.cls(**kwargs)
        except Exception as exc:
            raise DecodeError("invalid_data", f"{where}: {plan.name}: {exc}") from None

    def decode_message(self, cls_or_name: type | str, data: Any) -> Message:
        """Build a message from JSON-ready data (e.g. a record's ``data`` or a web form)."""
        cls = cls_or_name if isinstance(cls_or_name, type) else self.resolve(cls_or_name)
        plan = self._plan(cls)
        if not isinstance(data, dict):
            raise DecodeError(
                "invalid_data", f"data of {plan.name} must be an object, got {type(data).__name__}"
            )
        if plan.raw_decoder is None:
            self._prepare_decoding(plan)
        try:
            converted = msgspec.convert(data, plan.builtins_target, dec_hook=_dec_hook, str_keys=True)
        except msgspec.ValidationError as exc:
            raise DecodeError("invalid_data", _validation_detail(exc, "data")) from None
        if plan.builtins_shadow is not None:
            return typing.cast(Message, self._from_shadow(plan, converted, "data", nested_raw=False))
        return typing.cast(Message, converted)

    def _event_from_builtins(self, nested: _NestedBuiltins, where: str) -> Event[Message]:
        if nested.time.tzinfo is None:
            raise DecodeError("bad_time", f"{where.rpartition('.')[0]} time has no UTC offset")
        return Event(time=nested.time, payload=self.decode_message(self.resolve(nested.type), nested.data))


def _head_error(exc: msgspec.ValidationError) -> DecodeError:
    text = str(exc)
    if text.startswith("Object missing required field"):
        return DecodeError("missing_key", text.replace("Object missing required field", "record has no key"))
    if text.endswith("`$.time`"):
        return DecodeError("bad_time", _validation_detail(exc, "record"))
    if text.endswith("`$.type`"):
        return DecodeError("bad_type_name", _validation_detail(exc, "record"))
    if " - at `" not in text:
        return DecodeError("bad_json", f"a record must be a JSON object: {text}")
    return DecodeError("invalid_data", _validation_detail(exc, "record"))
