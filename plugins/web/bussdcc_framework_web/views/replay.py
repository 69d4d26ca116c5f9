"""``/api/replay`` (drive a replay) and ``/api/plot`` (numbers over time), see docs/web.md.

The same access rules as the rest of the API apply (``auth.py``: the token, the Host header,
the Origin of a ``POST``); a ``POST`` here also needs a JSON body (``{}`` when it carries
nothing), as ``/api/emit`` does, so a plain cross-site form can never send one.

``GET /api/replay`` answers ``{"replaying": false}`` for a live runtime; every ``POST`` then
answers 409. A command answers once it is applied (a step emitted, a seek arrived), or after
``WAIT`` seconds with ``"seeking": true`` still in the status.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..context import current_interface
from .api import error

blueprint = Blueprint("bussdcc_web_replay", __name__, url_prefix="/api")

#: How long a command's answer waits for it to be applied (seconds).
WAIT = 10.0
ACTIONS = ("pause", "resume", "step", "seek", "speed", "loop")


def _controller() -> Any:
    view = current_interface().replay
    return view.controller if view is not None else None


@blueprint.get("/replay")
def replay_status() -> Response:
    view = current_interface().replay
    if view is None:
        return jsonify({"replaying": False})
    return jsonify(view.status())


@blueprint.get("/replay/timeline")
def replay_timeline() -> Response:
    controller = _controller()
    if controller is None:
        return error(409, "not_replaying", "this runtime is live: there is no recording to show")
    return jsonify(controller.timeline())


@blueprint.post("/replay/<action>")
def replay_action(action: str) -> Response:
    interface = current_interface()
    if action not in ACTIONS:
        return error(404, "not_found", f"unknown replay action {action!r}; use one of {', '.join(ACTIONS)}")
    view = interface.replay
    if view is None:
        return error(409, "not_replaying", "this runtime is live, not a replay: nothing to pause or seek")
    if not request.is_json:
        return error(415, "unsupported_media_type", "send JSON ({} when there is nothing to say)")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "bad_json", "the body must be a JSON object")
    controller = view.controller
    try:
        if action == "pause":
            controller.pause()
        elif action == "resume":
            controller.resume()
        elif action == "step":
            count = body.get("count", 1)
            until = body.get("until")
            if until is not None and (not isinstance(until, str) or not until.strip() or len(until) > 200):
                return error(
                    400,
                    "bad_until",
                    '"until" must be a type pattern (under 200 characters) such as "AlertRaised"',
                )
            if until is not None:
                controller.step(until=until.strip())
            else:
                controller.step(count)
        elif action == "seek":
            to = parse_time(body.get("to"))
            if to is None:
                return error(
                    400,
                    "bad_time",
                    '"to" must be an ISO 8601 time with a UTC offset or epoch seconds, e.g. '
                    '{"to": "2026-03-09T12:00:00Z"}',
                )
            controller.seek(to)
        elif action == "speed":
            speed = body.get("speed")
            wanted: Any = 0 if speed == "max" else speed
            controller.set_speed(wanted)
        elif action == "loop":
            loop = body.get("loop")
            if not isinstance(loop, bool):
                return error(400, "bad_loop", '"loop" must be true or false')
            controller.set_loop(loop)
    except ValueError as exc:  # the controller's one-line reason (ControlError)
        return error(400 if action in ("step", "speed") else 409, "bad_" + action, str(exc))
    controller.wait(WAIT)
    return jsonify(view.status())


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time with an offset (``Z`` allowed) or epoch seconds; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or abs(value) > 1e11:
            return None
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


# -- plot --------------------------------------------------------------------------------------

#: Fields asked for at most in one ``/api/plot``.
MAX_PLOT_FIELDS = 8


@blueprint.get("/plot/types")
def plot_types() -> Response:
    """The message types seen so far that carry numbers, with their numeric fields."""
    return jsonify({"types": current_interface().plots.types()})


@blueprint.get("/plot")
def plot() -> Response:
    """``?type=<module:Class or Class>&fields=a,b[&since=<epoch s>]``: the numbers over time."""
    interface = current_interface()
    name = request.args.get("type", "").strip()
    if not name:
        return error(400, "missing_type", "give ?type=<message type>&fields=<field,field>")
    fields = [f.strip() for f in request.args.get("fields", "").split(",") if f.strip()]
    if not fields:
        return error(400, "missing_fields", "give ?fields=<numeric field>[,<field>...] (see /api/plot/types)")
    if len(fields) > MAX_PLOT_FIELDS or any(len(f) > 200 for f in fields):
        return error(400, "too_many_fields", f"at most {MAX_PLOT_FIELDS} fields, each under 200 characters")
    since: float | None = None
    if request.args.get("since"):
        try:
            since = float(request.args["since"])
        except ValueError:
            return error(400, "bad_since", "since must be epoch seconds")
        if not math.isfinite(since):
            return error(400, "bad_since", "since must be epoch seconds")
    found = interface.plots.series(name, fields, since)
    if found is None:
        return error(404, "not_found", f"no event of type {name!r} seen yet (see /api/plot/types)")
    return jsonify(found)
