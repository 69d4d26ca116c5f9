"""The JSON API under ``/api`` (see docs/web.md): read the system, emit messages, control services.

Every error is a JSON object ``{"error": <code>, "detail": <one line>}`` with a 4xx status.
"""

from __future__ import annotations

from typing import Any

import msgspec
from bussdcc.message import Message
from flask import Blueprint, Response, jsonify, request

from bussdcc_framework.codec import type_name
from bussdcc_framework.emittable import emittable_types
from bussdcc_framework.emittable import is_internal as _is_internal
from bussdcc_framework.report import describe

from .. import forms, jsoninput
from ..context import current_interface
from ..cut import cut
from ..fastjson import dumps, raw
from ..filters import EventFilter, FilterError
from ..history import parse_since
from . import data

blueprint = Blueprint("bussdcc_web_api", __name__, url_prefix="/api")

MAX_LIMIT = 1000
#: ``/api/state`` and ``/api/events`` answer at most about this many bytes (``truncated`` says so).
API_BYTES = 4 * 1024 * 1024

#: Why actions on the outside world are refused while a recording is replayed.
REPLAYING = (
    "this runtime replays a recording: what it shows already happened, so it sends nothing "
    "and starts or stops nothing (run the application live to act)"
)


def error(status: int, code: str, detail: str, **extra: Any) -> Response:
    response = jsonify({"error": code, "detail": detail, **extra})
    response.status_code = status
    return response


@blueprint.get("/health")
def health() -> Response:
    """Public liveness check: nothing about the system beyond "up"."""
    interface = current_interface()
    return jsonify({"status": "ok", "uptime": round(interface.uptime(), 3)})


@blueprint.get("/overview")
def overview() -> Response:
    return jsonify(data.overview(current_interface()))


def _json(value: Any, status: int = 200) -> Response:
    """A JSON response encoded with msgspec, so pre-encoded parts (``msgspec.Raw``) are spliced."""
    return Response(dumps(value), status=status, mimetype="application/json")


@blueprint.get("/state")
def state() -> Response:
    """The state tree as the pages show it (values cut), at most ``API_BYTES`` of it."""
    interface = current_interface()
    mirror = interface.watcher
    path = request.args.get("path", "").strip().strip(".")
    if mirror is None or mirror.unavailable is not None:
        reason = (mirror.unavailable if mirror is not None else None) or "the web interface is not running"
        if path and interface.ctx is not None:  # any store can still be read path by path
            missing = object()
            value = interface.ctx.state.get(path, missing)
            if value is missing:
                return error(404, "not_found", f"no state at {path!r}")
            return _json({"path": path, "value": cut(value, max_bytes=API_BYTES)})
        return error(501, "state_unavailable", reason)
    mirror.poll()
    leaves, truncated = mirror.leaves(API_BYTES, prefix=path)
    if path:
        if not leaves:
            return error(404, "not_found", f"no state at {path!r}")
        if list(leaves) == [path]:
            return _json({"path": path, "value": leaves[path]})
        return _json({"path": path, "value": nest(leaves, path), "truncated": truncated})
    if request.args.get("flat") in ("1", "true", "yes"):
        return _json({"state": leaves, "truncated": truncated})
    return _json({"state": nest(leaves), "truncated": truncated})


def nest(leaves: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a.b": 1, "a.c": 2}`` -> ``{"a": {"b": 1, "c": 2}}`` (relative to ``prefix``)."""
    root: dict[str, Any] = {}
    skip = len(prefix) + 1 if prefix else 0
    for path, value in leaves.items():
        keys = path[skip:].split(".")
        node = root
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):  # a key with a dot in it: keep the first value
                break
            node = child
        else:
            node[keys[-1]] = value
    return root


@blueprint.get("/events")
def events() -> Response:
    interface = current_interface()
    args = request.args
    try:
        flt = EventFilter.parse(args.get("type"), args.get("severity"))
    except FilterError as exc:
        return error(400, "bad_filter", str(exc))
    raw_limit = args.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return error(400, "bad_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    since: float | None = None
    is_time = False
    if args.get("since"):
        try:
            since, is_time = parse_since(args["since"])
        except ValueError as exc:
            return error(400, "bad_since", str(exc))
    found = interface.history.query(flt, since, int(raw_limit), since_is_time=is_time)
    encoded, truncated = newest_within(found, API_BYTES)
    return _json(
        {
            "events": encoded,
            "last_seq": interface.history.last_seq(),
            "total": interface.history.total,
            "kept": interface.config.history,
            "truncated": truncated,
        }
    )


def newest_within(records: list[Any], budget: int) -> tuple[list[msgspec.Raw], bool]:
    """The newest of ``records`` (oldest first) whose JSON fits in ``budget`` bytes."""
    kept: list[msgspec.Raw] = []
    size = 0
    for record in reversed(records):
        encoded = raw(record)
        size += len(encoded) + 1
        if size > budget and kept:
            kept.reverse()
            return kept, True
        kept.append(encoded)
    kept.reverse()
    return kept, False


@blueprint.get("/stats")
def stats() -> Response:
    interface = current_interface()
    return jsonify(
        {
            "rates": interface.rates.series(),
            "total": interface.history.total,
            "uptime": interface.uptime(),
            "clients": [c.describe() for c in interface.hub.channels()] if interface.hub is not None else [],
        }
    )


@blueprint.get("/services")
def services() -> Response:
    interface = current_interface()
    return jsonify(
        {
            "services": data.services(interface),
            "processes": data.components(interface, "processes"),
            "interfaces": data.components(interface, "interfaces"),
        }
    )


@blueprint.post("/services/<name>/<action>")
def service_action(name: str, action: str) -> Response:
    interface = current_interface()
    supervisor = getattr(getattr(interface.ctx, "runtime", None), "services", None)
    if action not in ("start", "stop"):
        return error(404, "not_found", f"unknown action {action!r}; use start or stop")
    if interface.replay is not None:
        return error(409, "replaying", REPLAYING)
    if supervisor is None or name not in supervisor.names():
        return error(404, "not_found", f"no service named {name!r}")
    try:
        if action == "start":
            if not supervisor.status(name).enabled:
                supervisor.enable(name)
            supervisor.start(name)
        else:
            supervisor.stop(name)
    except Exception as exc:
        return error(409, "service_error", f"{action} {name}: {describe(exc)}")
    info = next(s for s in data.services(interface) if s["name"] == name)
    return jsonify({"service": info})


@blueprint.get("/plugins")
def plugins() -> Response:
    interface = current_interface()
    return jsonify({"plugins": data.plugins(interface), "route_errors": interface.route_errors})


def _message_types() -> dict[str, type[Message]]:
    """The emittable types, application types first.

    Those the application gave the interface (``message_types=``) and those plugins declare
    with ``register_message_types``; never the kernel's lifecycle messages nor the framework's
    own status and error reports (``RuntimeShuttingDown``, ``WebInterfaceFailed``, ...).
    """
    interface = current_interface()
    if interface.registry is None:
        return {}
    return emittable_types(interface.registry, interface.message_types)


@blueprint.get("/types")
def types() -> Response:
    specs = []
    for cls in _message_types().values():
        try:
            specs.append(forms.describe(cls))
        except Exception:
            continue  # a class whose annotations do not resolve cannot be offered
    return jsonify({"types": specs})


@blueprint.post("/emit")
def emit_message() -> Response:
    """``{"type": "<module:Class>", "data": {...}}``: registered types only, validated."""
    interface = current_interface()
    if interface.replay is not None:
        return error(409, "replaying", REPLAYING)
    if not request.is_json:
        return error(415, "unsupported_media_type", "send JSON with Content-Type: application/json")
    try:
        body = jsoninput.decode(request.get_data(cache=False))
    except jsoninput.JSONInputError as exc:
        return error(400, exc.code, f'{exc}; send a JSON object {{"type": ..., "data": {{...}}}}')
    if not isinstance(body, dict):
        return error(400, "bad_json", 'body must be a JSON object {"type": ..., "data": {...}}')
    name = body.get("type")
    if not isinstance(name, str) or not name:
        return error(400, "missing_type", 'body needs "type": the message type, e.g. "app:Ping"')
    known = _message_types()
    cls = known.get(name)
    if cls is None:
        short = [t for t, c in known.items() if c.__qualname__ == name]
        if len(short) == 1:
            cls = known[short[0]]
    if cls is None:
        registered = interface.registry.registered() if interface.registry is not None else []
        if any(_is_internal(c) and name in (type_name(c), c.__qualname__) for c in registered):
            return error(
                400,
                "not_emittable",
                f"{name!r} is reported by the runtime or the framework itself and "
                "cannot be sent (see /api/types for the types you can send)",
            )
        return error(400, "unknown_type", f"{name!r} is not a registered message type (see /api/types)")
    payload = body.get("data", {})
    assert interface.codec is not None
    message, field_errors = forms.validate(interface.codec, cls, payload)
    if message is None:
        first_field, first_error = next(iter(field_errors.items()))
        where = "" if first_field == "_" else f"{first_field}: "
        return error(400, "invalid_data", f"{where}{first_error}", fields=field_errors)
    if interface.ctx is None:
        return error(503, "not_running", "the web interface is not attached to a runtime")
    interface.ctx.emit(message)
    response = jsonify({"emitted": type_name(cls), "seq": interface.history.last_seq()})
    response.status_code = 202
    return response
