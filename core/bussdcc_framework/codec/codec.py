"""The record codec: messages to JSON records and back, with msgspec doing the work in C.

Each message class gets a ``_Plan`` the first time it is seen: its record type name, an
encoder for its data and a typed msgspec decoder. Nothing is introspected per record.

Nested events (``ProcessError.evt``, ``ServiceError.evt``, ``EventSubscriberError.event``,
``SinkHandlerError.evt``, or any field typed ``Event[...]``/``Optional[Event[...]]``) are written
as nested records ``{"time", "type", "data"}`` so that they keep their type and replay.
Field types msgspec cannot decode alone go through the generic converters of ``convert.py``.
A float NaN or infinity can be written as a string and read back (see ``nonfinite.py``).
"""

from __future__ import annotations

import dataclasses
import threading
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from types import NoneType, UnionType
from typing import Any, Final

import msgspec
from bussdcc.event import Event
from bussdcc.message import Message

from .convert import (
    UNSET,
    Converter,
    Unencodable,
    dec_hook,
    enc_hook,
    loose_fields,
    shadow_struct,
    validation_detail,
)
from .errors import DecodeError, EncodeError
from .names import split_type_name, type_name
from .nonfinite import holds_non_finite, looks_nonfinite, nonfinite_from_text, nonfinite_to_text
from .registry import TypeRegistry, is_message_class
from .timefmt import format_time_json

_UTC: Final = UTC


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
        "nonfinite_shadow",
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
        self.nonfinite_shadow: type[msgspec.Struct] | None = None
        self.raw_shadow: type[msgspec.Struct] | None = None
        self.builtins_shadow: type[msgspec.Struct] | None = None
        self.builtins_target: Any = None
        self.fallback = False  # encode through to_builtins (non-str dict keys)
        # Converters of the fields whose types msgspec cannot decode (some unions), built
        # with the decoders: such fields are decoded as JSON values and converted after.
        self.loose: dict[str, Converter] = {}
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
        self._encoder = msgspec.json.Encoder(enc_hook=enc_hook, order="deterministic")
        self._encode: Final[Callable[[Any], bytes]] = self._encoder.encode
        # For values already made builtins in the right order (encode_record_nonfinite).
        self._encode_builtins = msgspec.json.Encoder(enc_hook=enc_hook).encode
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

    def encode_record_exact(self, evt: Event[Message]) -> bytes:
        """``encode_record``, with a float NaN or infinity kept as a string instead of ``null``.

        For writers of records that will be read again (``events cat --validate``): the same
        bytes as ``encode_record`` unless the event holds such a value, which costs a search
        of the line for ``null`` (and a walk of the event when it holds one).
        """
        line = self.encode_record(evt)
        if b"null" in line and holds_non_finite(evt.payload):
            return self.encode_record_nonfinite(evt)
        return line

    def encode_record_nonfinite(self, evt: Event[Message]) -> bytes:
        """Like ``encode_record``, with each float NaN or infinity as ``"nan"``/``"inf"``/``"-inf"``.

        ``encode_record`` writes them as ``null`` (msgspec's JSON encoder does), which loses
        the value. This is the slow path for the rare event that holds one (see
        ``nonfinite.holds_non_finite``): the fields go through ``to_builtins`` (same order,
        same text as the encoder's), the non-finite floats become strings, and
        ``decode_record`` reads them back into float fields. Raises ``EncodeError`` like
        ``encode_record``.
        """
        payload = evt.payload
        plan = self._plan(type(payload))
        values = []
        try:
            for name in plan.field_names:
                value = getattr(payload, name)
                if name in plan.event_fields and isinstance(value, Event):
                    values.append(msgspec.Raw(self.encode_record_nonfinite(value)))
                else:
                    values.append(nonfinite_to_text(self._builtins(value)))
            if plan.nonfinite_shadow is None:
                plan.nonfinite_shadow = plan.out_struct()
            data = self._encode_builtins(plan.nonfinite_shadow(*values))
        except EncodeError:
            raise
        except (TypeError, ValueError, msgspec.EncodeError) as exc:
            raise EncodeError(f"cannot encode {plan.name}: {exc}") from None
        return b"".join((b'{"time":', format_time_json(evt.time)[:-1], plan.prefix, data, b"}"))

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
            except Unencodable as exc:
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
            return msgspec.to_builtins(value, enc_hook=enc_hook, str_keys=True, order="deterministic")
        except Unencodable:
            raise
        except TypeError:
            return msgspec.Raw(self._sorted_json(value))

    def _sorted_json(self, value: Any) -> bytes:
        """``value`` as JSON, sets sorted by their elements' JSON bytes (the rare slow path)."""
        try:
            return self._encode(
                msgspec.to_builtins(value, enc_hook=enc_hook, str_keys=True, order="deterministic")
            )
        except Unencodable:
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
                (self._encode(msgspec.to_builtins({k: None}, enc_hook=enc_hook, str_keys=True))[1:-6], v)
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
        # ``import_errors`` holds a bounded number of names; once full, a module that failed
        # to import still says why, rather than advising an --import it already has.
        hint = self.registry.import_errors.get(str(name)) or self.registry.module_errors.get(module)
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
            payload = self._decode_nonfinite(plan, data, where)
            if payload is None:
                raise DecodeError("invalid_data", validation_detail(exc, where)) from None
            return payload
        except msgspec.DecodeError as exc:
            raise DecodeError("bad_json", str(exc)) from None
        if plan.raw_shadow is None:
            return decoded
        return self._from_shadow(plan, decoded, where, nested_raw=True)

    def _decode_nonfinite(self, plan: _Plan, data: msgspec.Raw, where: str) -> Any:
        """The payload of data a strict decode refused, if NaN written as a string was why; else None.

        The slow path for records ``encode_record_nonfinite`` wrote: the data is decoded as
        JSON, its ``"nan"``/``"inf"``/``"-inf"`` strings become floats where the declared type
        is a float, and the strict conversion runs again. Only data holding such a string gets
        here, and any other wrong value still fails.
        """
        raw = bytes(data)
        if not looks_nonfinite(raw):
            return None
        try:
            value = nonfinite_from_text(msgspec.json.decode(raw), plan.cls)
            converted = msgspec.convert(value, plan.builtins_target, dec_hook=dec_hook, str_keys=True)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        if plan.builtins_shadow is not None:
            return self._from_shadow(plan, converted, where, nested_raw=False)
        return converted

    def _prepare_decoding(self, plan: _Plan) -> msgspec.json.Decoder[Any]:
        """Build the class's decoders (from JSON bytes and from builtins), once."""
        with self._lock:
            if plan.raw_decoder is not None:
                return plan.raw_decoder
            cls = plan.cls
            target: Any = cls
            if plan.event_fields:
                target = shadow_struct(cls, _NestedRaw, plan.event_fields)
            try:
                decoder = msgspec.json.Decoder(target, dec_hook=dec_hook)
            except TypeError:
                # A field type msgspec cannot decode (a union of two dataclasses, of a path
                # and an int...): decode that field as a JSON value, then convert it.
                plan.loose = loose_fields(cls, plan.event_fields)
                target = shadow_struct(cls, _NestedRaw, plan.event_fields, plan.loose)
                decoder = msgspec.json.Decoder(target, dec_hook=dec_hook)
            if plan.event_fields or plan.loose:
                plan.raw_shadow = target
                plan.builtins_shadow = shadow_struct(cls, _NestedBuiltins, plan.event_fields, plan.loose)
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
                if value is UNSET:
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
            converted = msgspec.convert(data, plan.builtins_target, dec_hook=dec_hook, str_keys=True)
        except msgspec.ValidationError as exc:
            raise DecodeError("invalid_data", validation_detail(exc, "data")) from None
        if plan.builtins_shadow is not None:
            return typing.cast(Message, self._from_shadow(plan, converted, "data", nested_raw=False))
        return typing.cast(Message, converted)

    def _event_from_builtins(self, nested: _NestedBuiltins, where: str) -> Event[Message]:
        if nested.time.tzinfo is None:
            raise DecodeError("bad_time", f"{where.rpartition('.')[0]} time has no UTC offset")
        cls = self.resolve(nested.type)
        try:
            payload = self.decode_message(cls, nested.data)
        except DecodeError:
            # A NaN written as a string (encode_record_nonfinite); the data is this decode's own.
            payload = self.decode_message(cls, nonfinite_from_text(nested.data, cls))
        return Event(time=nested.time, payload=payload)


def _head_error(exc: msgspec.ValidationError) -> DecodeError:
    text = str(exc)
    if text.startswith("Object missing required field"):
        return DecodeError("missing_key", text.replace("Object missing required field", "record has no key"))
    if text.endswith("`$.time`"):
        return DecodeError("bad_time", validation_detail(exc, "record"))
    if text.endswith("`$.type`"):
        return DecodeError("bad_type_name", validation_detail(exc, "record"))
    if " - at `" not in text:
        return DecodeError("bad_json", f"a record must be a JSON object: {text}")
    return DecodeError("invalid_data", validation_detail(exc, "record"))
